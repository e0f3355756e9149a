// Where a torrent's bytes live. The DiskWriter actor drives one storage per
// torrent; implementations are file_storage (real files) and memory_storage
// (tests and simulation). Not thread-safe: one owner calls it at a time.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "actorrent/error.hpp"
#include "file_layout.hpp"

namespace actorrent {

class storage {
public:
  virtual ~storage() = default;

  /// Prepares the storage: checks the paths, creates directories and
  /// zero-length files. Never truncates existing data; other files are
  /// created (sparse, at their final size) when first written. Must succeed
  /// before read() or write() (which otherwise return errc::invalid_argument).
  /// Errors name the file.
  virtual error open() = 0;

  /// Writes `data` at (piece, offset); the range may span files and must lie
  /// inside the piece (else errc::invalid_argument). Bytes that fall on
  /// padding files are dropped.
  virtual error write(std::uint32_t piece, std::int64_t offset,
                      std::span<const std::uint8_t> data) = 0;

  /// Writes the concatenation of `parts` at (piece, offset), same rules as
  /// write(): a verified piece's blocks go to disk in one call per file
  /// (pwritev) instead of one per block. This default writes part by part.
  virtual error write_parts(std::uint32_t piece, std::int64_t offset,
                            std::span<const std::span<const std::uint8_t>> parts) {
    for (auto part : parts) {
      if (auto err = write(piece, offset, part)) return err;
      offset += static_cast<std::int64_t>(part.size());
    }
    return {};
  }

  /// Reads out.size() bytes at (piece, offset), same range rules as write().
  /// Padding files, files not created yet and the part of a file beyond its
  /// current end on disk (a file not yet written to full size) read as zeros.
  virtual error read(std::uint32_t piece, std::int64_t offset,
                     std::span<std::uint8_t> out) = 0;

  /// Makes what was written since the last flush durable (fdatasync).
  virtual error flush() = 0;

  virtual const file_layout& layout() const = 0;

  /// Size and modification time of a file as on disk now, for resume checks.
  /// A missing file has size -1; a padding file reports its length and mtime 0.
  struct file_status {
    std::int64_t size = -1;
    std::int64_t mtime_ns = 0;
    friend bool operator==(const file_status&, const file_status&) = default;
  };
  /// One entry per file of layout(), in order.
  virtual std::vector<file_status> stat_files() const = 0;
};

} // namespace actorrent
