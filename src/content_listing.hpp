// The files a new torrent is made of: what `actorrent create` walks before it
// hashes anything.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "actorrent/error.hpp"

namespace actorrent {

struct content_file {
  /// Components under the torrent's root; {name} for a single-file torrent.
  std::vector<std::string> path;
  /// Where to read it (through any symbolic link that was followed).
  std::filesystem::path disk_path;
  std::int64_t length = 0;
};

struct content_listing {
  std::string name;
  bool multi_file = false;
  /// In the byte order of their '/'-joined paths (what mktorrent does), so the
  /// same tree always gives the same torrent.
  std::vector<content_file> files;
  std::int64_t total_length = 0;
};

/// Lists `root`: a regular file, or every regular file below a directory.
/// Symbolic links are followed when their target lies inside `root` (so the
/// torrent holds exactly what is under it), and refused when it lies outside,
/// does not exist or leads back to a directory being walked; fifos, sockets
/// and devices are refused. Names with a '\\' are refused (other clients
/// split paths there). Errors name the file.
result<content_listing> list_content(const std::filesystem::path& root);

} // namespace actorrent
