// Small files of actorrent's own below the download directory (resume data,
// the metainfo a magnet link fetched, in DIR/.actorrent): written so that a
// crash leaves either the old file or the new one, never a mix (a temporary
// name, fsync, rename, fsync of the directory), and never through a symlink
// planted where the directory or the file should be, which could lead
// outside the download directory.
#pragma once

#include "actorrent/error.hpp"

#include <filesystem>
#include <string_view>
#include <utility>

namespace actorrent {

/// A descriptor closed on scope exit; close() errors matter only where they
/// are checked explicitly (after writing), so the destructor ignores them.
struct unique_fd {
  int fd = -1;
  unique_fd() = default;
  explicit unique_fd(int f) : fd(f) {}
  ~unique_fd();
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  int release() { return std::exchange(fd, -1); }
};

/// An error for the failed system call `what` on `path` (disk_full for
/// ENOSPC/EDQUOT, permission for EACCES/EPERM/EROFS, else io_error).
error os_error(int err, const std::filesystem::path& path, const char* what);

/// Opens `dir` without following it if it is a symlink (unsafe_path then);
/// its parent, the download directory, may be one. With `create` both are
/// made first. A missing directory without `create` gives fd -1, no error.
error open_dir_nofollow(const std::filesystem::path& dir, bool create, unique_fd& out);

/// Writes `data` to `path` atomically, creating its directory. Errors name
/// the file (io_error, disk_full, permission, unsafe_path).
error write_file_atomically(const std::filesystem::path& path, std::string_view data);

/// Deletes `path` (absent is fine) without following a symlinked directory.
error remove_file_nofollow(const std::filesystem::path& path);

} // namespace actorrent
