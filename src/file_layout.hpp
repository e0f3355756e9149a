// How a torrent's pieces map onto its files: the torrent's data is the
// concatenation of its files in order, cut into pieces of a fixed length
// (the last piece may be shorter).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "actorrent/error.hpp"

namespace actorrent {

/// One file of a torrent as the storage sees it.
struct layout_file {
  /// Components relative to the download directory; for a multi-file torrent
  /// the caller puts the torrent's name first.
  std::vector<std::string> path;
  std::int64_t length = 0;
  /// BEP 47 padding file: never created on disk, reads as zeros.
  bool pad = false;
};

/// A contiguous span of one file covered by a request.
struct file_slice {
  std::uint32_t file = 0;         ///< index into file_layout::files()
  std::int64_t file_offset = 0;   ///< where the span starts in the file
  std::int64_t length = 0;        ///< bytes in the span (> 0)
  std::int64_t buffer_offset = 0; ///< where the span starts in the caller's buffer
};

class file_layout {
public:
  /// Negative lengths count as zero; a piece_length <= 0 gives a layout with
  /// no pieces. Use make() to have such input rejected instead.
  file_layout(std::vector<layout_file> files, std::int64_t piece_length);

  /// Like the constructor, but refuses a piece_length <= 0, a negative file
  /// length, a total that overflows, or more than 2^32 - 1 pieces
  /// (errc::invalid_argument).
  static result<file_layout> make(std::vector<layout_file> files, std::int64_t piece_length);

  const std::vector<layout_file>& files() const noexcept { return files_; }
  std::int64_t total_length() const noexcept { return total_; }
  std::int64_t piece_length() const noexcept { return piece_length_; }
  std::uint32_t num_pieces() const noexcept { return num_pieces_; }

  /// Bytes in `piece` (the last one may be shorter); 0 when out of range.
  std::int64_t piece_size(std::uint32_t piece) const noexcept;

  /// Offset of the file in the concatenated torrent data; total_length()
  /// when `file` is out of range.
  std::int64_t file_offset(std::uint32_t file) const noexcept;

  /// Maps (piece, offset in piece, length) to file spans in order. Zero-length
  /// files are skipped; padding files are included (check layout_file::pad).
  /// Empty when length <= 0 or the range does not lie inside the piece.
  /// O(log files + spans).
  std::vector<file_slice> map(std::uint32_t piece, std::int64_t offset,
                              std::int64_t length) const;

  /// [first, last] pieces touching the file. A zero-length or out-of-range
  /// file touches none: the result then has first > last.
  std::pair<std::uint32_t, std::uint32_t> pieces_of_file(std::uint32_t file) const noexcept;

private:
  std::vector<layout_file> files_;
  std::vector<std::int64_t> ends_;  // ends_[i]: offset one past file i
  std::int64_t piece_length_ = 0;
  std::int64_t total_ = 0;
  std::uint32_t num_pieces_ = 0;
};

/// Why `component` may not be one element of a path below the download
/// directory, or nullptr when it may. Refused: empty, "." and "..", any '/',
/// '\\' or NUL (so never absolute, never a way out on any system), and the
/// names some systems give to devices (CON, PRN, AUX, NUL, COM0-9, LPT0-9 in
/// any case, with or without an extension), which would open the device
/// instead of a file there. The metainfo reader and the storages share it.
const char* unsafe_component(std::string_view component);

/// Checks that every path stays inside the download directory: at least one
/// component, each one accepted by unsafe_component(). Also refuses two non-padding files on the same
/// path, or one whose path is the directory of another, since they would
/// overwrite each other. Returns errc::unsafe_path naming the offending file,
/// or a default (success) error.
error validate_paths(const std::vector<layout_file>& files);

} // namespace actorrent
