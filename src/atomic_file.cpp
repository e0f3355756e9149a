#include "atomic_file.hpp"

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace actorrent {

namespace {

error os_error(int err, const std::filesystem::path& path, const char* what) {
  errc code = errc::io_error;
  if (err == ENOSPC || err == EDQUOT) code = errc::disk_full;
  else if (err == EACCES || err == EPERM || err == EROFS) code = errc::permission;
  return error{code, std::string(what) + " " + path.string() + ": " + std::strerror(err)};
}

struct fd_guard {
  int fd = -1;
  explicit fd_guard(int f) : fd(f) {}
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  int release() { return std::exchange(fd, -1); }
};

error write_all(int fd, std::string_view data, const std::filesystem::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return os_error(errno, path, "cannot write");
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

error sync_directory(const std::filesystem::path& dir) {
  const auto& d = dir.empty() ? std::filesystem::path(".") : dir;
  fd_guard fd(::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.fd < 0) return os_error(errno, d, "cannot open directory");
  if (::fsync(fd.fd) != 0) return os_error(errno, d, "cannot sync directory");
  return {};
}

error write_and_sync(const std::filesystem::path& tmp, std::string_view data) {
  fd_guard fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (fd.fd < 0) return os_error(errno, tmp, "cannot create");
  if (auto e = write_all(fd.fd, data, tmp)) return e;
  if (::fsync(fd.fd) != 0) return os_error(errno, tmp, "cannot sync");
  // close() can report a deferred write error (NFS): a file it fails on is
  // not known to be complete.
  if (::close(fd.release()) != 0) return os_error(errno, tmp, "cannot close");
  return {};
}

} // namespace

error write_file_atomically(const std::filesystem::path& path, std::string_view data) {
  const auto dir = path.parent_path();
  if (!dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return os_error(ec.value(), dir, "cannot create directory");
  }
  auto tmp = path;
  tmp += ".tmp";
  if (auto e = write_and_sync(tmp, data)) {
    // Only a regular file is ours to remove; anything else at that name
    // (the open failed on it) is left alone.
    struct stat st {};
    if (::lstat(tmp.c_str(), &st) == 0 && S_ISREG(st.st_mode)) ::unlink(tmp.c_str());
    return e;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    error e = os_error(errno, path, "cannot rename over");
    ::unlink(tmp.c_str());
    return e;
  }
  // Without this the rename itself may not survive a crash.
  return sync_directory(dir);
}

} // namespace actorrent
