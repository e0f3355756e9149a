#include "atomic_file.hpp"

#include <cerrno>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace actorrent {

unique_fd::~unique_fd() {
  if (fd >= 0) ::close(fd);
}

error os_error(int err, const std::filesystem::path& path, const char* what) {
  errc code = errc::io_error;
  if (err == ENOSPC || err == EDQUOT) code = errc::disk_full;
  else if (err == EACCES || err == EPERM || err == EROFS) code = errc::permission;
  return error{code, std::string(what) + " " + path.string() + ": " + std::strerror(err)};
}

namespace {

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

error write_and_sync(int dirfd, const std::filesystem::path& tmp, std::string_view data) {
  unique_fd fd(::openat(dirfd, tmp.filename().c_str(),
                       O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (fd.fd < 0) return os_error(errno, tmp, "cannot create");
  if (auto e = write_all(fd.fd, data, tmp)) return e;
  if (::fsync(fd.fd) != 0) return os_error(errno, tmp, "cannot sync");
  // close() can report a deferred write error (NFS): a file it fails on is
  // not known to be complete.
  if (::close(fd.release()) != 0) return os_error(errno, tmp, "cannot close");
  return {};
}

} // namespace

error open_dir_nofollow(const std::filesystem::path& dir, bool create, unique_fd& out) {
  auto base = dir.parent_path();
  if (base.empty()) base = ".";
  if (create) {
    std::error_code ec;
    std::filesystem::create_directories(base, ec);
    if (ec) return os_error(ec.value(), base, "cannot create directory");
  }
  unique_fd parent(::open(base.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (parent.fd < 0) {
    if (errno == ENOENT && !create) return {};
    return os_error(errno, base, "cannot open directory");
  }
  const auto name = dir.filename();
  if (create) {
    if (::mkdirat(parent.fd, name.c_str(), 0755) == 0) {
      // The new directory's own name must survive a crash, or the resume
      // file in it is lost with it.
      if (::fsync(parent.fd) != 0) return os_error(errno, base, "cannot sync directory");
    } else if (errno != EEXIST) {
      return os_error(errno, dir, "cannot create directory");
    }
  }
  const int fd = ::openat(parent.fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    struct stat st {};
    if ((err == ELOOP || err == ENOTDIR) && ::fstatat(parent.fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISLNK(st.st_mode))
      return error{errc::unsafe_path, "refusing to follow the symlink " + dir.string() +
                                          ": it may lead outside " + base.string()};
    if (err == ENOENT && !create) return {};
    return os_error(err, dir, "cannot open directory");
  }
  out.fd = fd;
  return {};
}


error write_file_atomically(const std::filesystem::path& path, std::string_view data) {
  const auto dir = path.parent_path();
  unique_fd dirfd;
  if (auto e = open_dir_nofollow(dir, true, dirfd)) return e;
  auto tmp = path;
  tmp += ".tmp";
  const auto tmp_name = tmp.filename();
  const auto name = path.filename();
  if (auto e = write_and_sync(dirfd.fd, tmp, data)) {
    // Only a regular file is ours to remove; anything else at that name
    // (the open failed on it) is left alone.
    struct stat st {};
    if (::fstatat(dirfd.fd, tmp_name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
      ::unlinkat(dirfd.fd, tmp_name.c_str(), 0);
    return e;
  }
  // rename replaces a symlink at `path` itself, never what it points to.
  if (::renameat(dirfd.fd, tmp_name.c_str(), dirfd.fd, name.c_str()) != 0) {
    error e = os_error(errno, path, "cannot rename over");
    ::unlinkat(dirfd.fd, tmp_name.c_str(), 0);
    return e;
  }
  // Without this the rename itself may not survive a crash.
  if (::fsync(dirfd.fd) != 0) return os_error(errno, dir, "cannot sync directory");
  return {};
}

error remove_file_nofollow(const std::filesystem::path& path) {
  unique_fd dirfd;
  if (auto e = open_dir_nofollow(path.parent_path(), false, dirfd)) return e;
  if (dirfd.fd < 0) return {};
  if (::unlinkat(dirfd.fd, path.filename().c_str(), 0) != 0 && errno != ENOENT)
    return os_error(errno, path, "cannot delete");
  return {};
}

} // namespace actorrent
