// Fast-resume data: what a torrent had verified and durable on disk, saved in
// a small file next to the download so a restart trusts those pieces instead
// of hashing every byte again. The data is only trusted while the files still
// have the size and modification time recorded with it.
//
// The file is a bencoded dictionary:
//   "version"     1
//   "info-hash"   20 raw bytes
//   "num-pieces"  piece count
//   "pieces"      the verified pieces as a wire-order bitfield
//   "files"       16 bytes per file of the layout: size then mtime in
//                 nanoseconds, each a big-endian two's-complement int64
//                 (size -1: the file did not exist)
// The files are packed in one string so that decoding a torrent with a
// million files costs one allocation, not millions of bencode values.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "actorrent/error.hpp"
#include "actorrent/sha1_hash.hpp"
#include "bitfield.hpp"
#include "file_layout.hpp"
#include "storage.hpp"

namespace actorrent {

struct resume_data {
  sha1_hash info_hash;
  std::uint32_t num_pieces = 0;
  /// Verified pieces, as durable on disk when the file was written.
  bitfield pieces;
  /// Size and mtime of each file of the layout when written.
  std::vector<storage::file_status> files;

  friend bool operator==(const resume_data&, const resume_data&) = default;
};

/// Largest resume file read_resume_file() and decode_resume() accept.
inline constexpr std::size_t max_resume_size = 16u << 20;

/// The bencoded form (see the top of this file).
std::string encode_resume(const resume_data& r);

/// Parses encode_resume()'s output strictly: canonical bencoding, exactly the
/// known keys, version 1, a bitfield matching num-pieces with spare bits
/// clear, no size below -1. Errors are errc::resume_invalid.
result<resume_data> decode_resume(std::string_view bytes);

/// download_dir/.actorrent/<info-hash in hex>.resume
std::filesystem::path resume_path(const std::filesystem::path& download_dir,
                                  const sha1_hash& info_hash);

/// Replaces `path` atomically: writes path.tmp, syncs it, renames it over
/// `path` and syncs the directory, creating the directory first if needed.
/// On failure `path` keeps its previous content (or stays absent).
/// The directory holding `path` (DIR/.actorrent) is never followed if it is
/// a symlink (errc::unsafe_path), and neither is the file or its temporary,
/// so nothing is written outside DIR; DIR itself may be a symlink.
error write_resume_file(const std::filesystem::path& path, const resume_data& r);

/// Reads and decodes `path`, following no symlink below DIR (as above). A
/// missing file is errc::io_error ("no resume file at ..."); one over
/// max_resume_size or malformed is errc::resume_invalid.
result<resume_data> read_resume_file(const std::filesystem::path& path);

/// Deletes `path` (absent is fine), following no symlink below DIR.
error remove_resume_file(const std::filesystem::path& path);

/// What to do with the pieces at start-up.
struct recheck_plan {
  bitfield have;       ///< pieces trusted without hashing
  bitfield check;      ///< pieces to hash now
  std::string reason;  ///< one line for the log
};

/// Decides from the resume data (or the error reading it), the files as they
/// are `now` (storage::stat_files(), one entry per file of `layout`) and the
/// layout which pieces are trusted, which must be hashed and which are left
/// to download. Without usable resume data every piece that can hold data is
/// checked; with it, only pieces touching files whose size or mtime changed.
recheck_plan plan_recheck(const result<resume_data>& resume, const sha1_hash& info_hash,
                          const file_layout& layout,
                          const std::vector<storage::file_status>& now);

} // namespace actorrent
