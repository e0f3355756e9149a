// Making a .torrent file (BEP 3 metainfo, v1) from a file or a directory.
//
//   actorrent::create_options o;
//   o.content = "photos";                          // a file or a directory
//   o.trackers = {{"http://tracker.example/announce"}};
//   auto bytes = actorrent::create_torrent(o);     // result<std::string>
//   if (bytes) write_file("photos.torrent", *bytes);
//
// The same content and options give the same bytes: files come in a fixed
// order, nothing depends on the clock unless `creation_date` is set, and
// "created by" names actorrent and its version.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "actorrent/error.hpp"

namespace actorrent {

/// How far hashing has come; reported on the thread that called create_torrent.
struct create_progress {
  std::uint32_t pieces_done = 0;
  std::uint32_t pieces_total = 0;
  std::int64_t bytes_total = 0;
};

struct create_options {
  /// A regular file makes a single-file torrent; a directory a multi-file
  /// torrent named after it, holding every regular file below it (empty
  /// directories leave no trace). Files are listed in the byte order of
  /// their '/'-joined paths, as mktorrent lists them. Symbolic links are
  /// followed when they lead to a place inside `content` and refused
  /// otherwise, as are loops and special files (fifos, sockets, devices).
  std::filesystem::path content;
  /// Tracker tiers (BEP 12): the first URL becomes "announce"; more than
  /// one URL in all also writes "announce-list".
  std::vector<std::vector<std::string>> trackers;
  /// Web seeds (BEP 19, "url-list").
  std::vector<std::string> web_seeds;
  /// A power of two from 16 KiB to 64 MiB; 0 picks default_piece_size().
  std::int64_t piece_size = 0;
  bool is_private = false;
  std::string comment;
  /// Written into the info dictionary, so it changes the info-hash.
  std::string source;
  /// Seconds since the Unix epoch; absent keeps the output reproducible.
  std::optional<std::int64_t> creation_date;
  /// Hashing threads; 0 means one per core.
  unsigned threads = 0;
  /// Called before hashing starts, about ten times a second while it runs,
  /// and once at the end.
  std::function<void(const create_progress&)> on_progress;
};

/// The piece size chosen when none is given: the smallest power of two from
/// 32 KiB up for which the content fits in 1600 pieces (50 MiB in 32 KiB
/// pieces, 100 MiB in 64 KiB, ...), at most 16 MiB. This is mktorrent's
/// rule since it sizes pieces by content (Debian's mktorrent 1.1 always
/// uses 256 KiB).
std::int64_t default_piece_size(std::int64_t total_bytes);

/// Walks `content`, hashes it on `threads` threads (reading each piece with
/// pread, memory bounded by the thread count) and returns the bencoded
/// .torrent. Errors name the file concerned: io_error or permission for
/// unreadable or vanished input and refused links or special files,
/// unsafe_path for a name other clients would split (a '\\' in it),
/// invalid_argument for a bad piece size, metainfo_invalid when the files
/// add up to 0 bytes (the reader's message) or need more piece hashes than
/// a .torrent may hold.
result<std::string> create_torrent(const create_options& opts);

} // namespace actorrent
