// Writing a small file so that a crash leaves either the old file or the
// new one, never a mix: a temporary name, fsync, rename, fsync of the
// directory.
#pragma once

#include "actorrent/error.hpp"

#include <filesystem>
#include <string_view>

namespace actorrent {

/// Writes `data` to `path` atomically, creating its directory. Errors name
/// the file (io_error, disk_full, permission).
error write_file_atomically(const std::filesystem::path& path, std::string_view data);

} // namespace actorrent
