// A .torrent file (BEP 3 metainfo) parsed and validated: what to download,
// how it is cut into pieces, and where to find peers.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "actorrent/error.hpp"
#include "actorrent/sha1_hash.hpp"

namespace actorrent {

/// One file of the torrent's content.
struct file_entry {
  /// Components under the torrent's root; for single-file torrents {name}.
  std::vector<std::string> path;
  std::int64_t length = 0;
  /// Byte offset of the file within the torrent's concatenated data.
  std::int64_t offset = 0;
  /// BEP 47 padding file (attr contains 'p'); its bytes are zeros and never stored.
  bool pad = false;
  /// Components joined with '/'.
  std::string path_string() const;
};

struct metainfo {
  std::string name;
  sha1_hash info_hash;                 ///< SHA-1 of the exact raw bytes of the info dict
  std::string raw_info;                ///< those bytes
  std::int64_t piece_length = 0;
  std::vector<sha1_hash> piece_hashes;
  std::int64_t total_length = 0;       ///< sum of all file lengths, padding included
  std::vector<file_entry> files;       ///< always >= 1 entry
  bool multi_file = false;             ///< info has "files"; they live under directory `name`
  std::string announce;
  std::vector<std::vector<std::string>> announce_list;   ///< BEP 12 tiers
  bool is_private = false;
  std::optional<std::int64_t> creation_date;   ///< seconds since the Unix epoch
  std::string comment, created_by;
  std::vector<std::string> url_list;   ///< BEP 19 web seeds
  /// What was tolerated while reading it: bytes after the torrent, files
  /// renamed because another file has their path. For people (-v).
  std::vector<std::string> warnings;

  /// Number of pieces (piece_hashes.size()).
  std::uint32_t piece_count() const;
  /// Size in bytes of `piece`; the last piece may be shorter; 0 when out of range.
  std::int64_t piece_size(std::uint32_t piece) const;
  /// announce-list flattened in tier order, else announce; deduplicated.
  std::vector<std::string> trackers() const;
};

/// Parses and validates a .torrent as other clients read one: dictionary
/// keys may be out of order (the info-hash is the SHA-1 of the info
/// dictionary's bytes exactly as they are), bytes after the top-level
/// dictionary are ignored, and of two files with one path the later is
/// renamed ("dir/a.txt" -> "dir/a.1.txt"); each such leniency is listed in
/// `warnings`. Errors: bencode_syntax, bencode_limit, metainfo_invalid
/// (also for a torrent of 0 bytes: nothing to download), unsafe_path (the
/// message names the offending path: a name or path component that is
/// empty, "." or "..", holds '/', '\\' or NUL, or names a device on some
/// systems, such as CON or LPT1; "aux.c" is an ordinary file).
result<metainfo> parse_metainfo(std::string_view torrent_bytes);

/// Reads `file` (at most 64 MiB) and parses it; errors name the file.
result<metainfo> load_metainfo(const std::filesystem::path& file);

/// Prints name, info-hash, sizes, pieces, flags, files, trackers, web seeds
/// and what was tolerated in reading it, one item per line (`actorrent show`).
void print_metainfo(std::ostream& out, const metainfo& m);

} // namespace actorrent
