#include "file_storage.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

namespace actorrent {

namespace {

errc code_for(int err) noexcept {
  switch (err) {
    case ENOSPC:
    case EDQUOT:
    case EFBIG: return errc::disk_full;
    case EACCES:
    case EPERM:
    case EROFS: return errc::permission;
    default: return errc::io_error;
  }
}

std::string os_message(int err) { return std::generic_category().message(err); }

// Writes all the bytes of `iov` (adjusted in place as it goes), at most
// IOV_MAX entries a call, retrying short writes and interruptions. Returns 0
// or an errno value.
int pwritev_all(int fd, std::vector<iovec>& iov, std::int64_t off) {
  std::size_t first = 0;
  while (first < iov.size()) {
    const int count = static_cast<int>(std::min<std::size_t>(iov.size() - first, IOV_MAX));
    const ssize_t n = ::pwritev(fd, iov.data() + first, count, static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    // A regular file never accepts zero bytes of a non-empty write; treat it
    // as a failure rather than spin.
    if (n == 0) return EIO;
    off += n;
    auto left = static_cast<std::size_t>(n);
    while (first < iov.size() && left >= iov[first].iov_len) {
      left -= iov[first].iov_len;
      ++first;
    }
    if (left > 0) {
      iov[first].iov_base = static_cast<std::uint8_t*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return 0;
}

// Reads `len` bytes; whatever lies past the end of the file reads as zeros.
int pread_all(int fd, std::uint8_t* p, std::int64_t len, std::int64_t off) {
  while (len > 0) {
    const auto chunk = static_cast<std::size_t>(std::min<std::int64_t>(len, 1 << 30));
    const ssize_t n = ::pread(fd, p, chunk, static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) {
      std::memset(p, 0, static_cast<std::size_t>(len));
      return 0;
    }
    p += n;
    len -= n;
    off += n;
  }
  return 0;
}

bool is_symlink_at(int dirfd, const std::string& name) {
  struct stat st {};
  return ::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
}

} // namespace

file_storage::file_storage(file_layout layout, std::filesystem::path download_dir,
                           std::size_t max_open_files)
  : layout_(std::move(layout)),
    dir_(std::move(download_dir)),
    max_open_(std::max<std::size_t>(max_open_files, 1)),
    path_error_(validate_paths(layout_.files())),
    handles_(layout_.files().size()) {}

file_storage::~file_storage() {
  close_all();
}

void file_storage::close_all() noexcept {
  for (auto f : lru_) {
    ::close(handles_[f].fd);
    handles_[f].fd = -1;
  }
  lru_.clear();
  if (root_fd_ >= 0) ::close(root_fd_);
  root_fd_ = -1;
}

std::filesystem::path file_storage::file_path(std::uint32_t file) const {
  auto p = dir_;
  if (file < layout_.files().size())
    for (const auto& c : layout_.files()[file].path) p /= c;
  return p;
}

error file_storage::os_error(int err, std::uint32_t file, const char* what) const {
  return error{code_for(err), std::string(what) + " " + file_path(file).string() + ": " + os_message(err)};
}

error file_storage::open() {
  // Refuse before touching the disk, so a hostile path creates nothing.
  if (path_error_) return path_error_;
  if (root_fd_ < 0) {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec) {
      const int err = ec.category() == std::generic_category() || ec.category() == std::system_category()
                        ? ec.value() : EIO;
      return error{code_for(err), "cannot create download directory " + dir_.string() + ": " + ec.message()};
    }
    root_fd_ = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root_fd_ < 0) {
      const int err = errno;
      return error{code_for(err), "cannot open download directory " + dir_.string() + ": " + os_message(err)};
    }
  }
  const auto& files = layout_.files();
  for (std::uint32_t i = 0; i < files.size(); ++i) {
    if (files[i].pad) continue;
    if (handles_[i].fd >= 0) continue;
    // Creating every file's directories now surfaces permission and path
    // problems at start rather than in the middle of a download. Files with
    // data are only looked at (read-only, so data that is merely seeded
    // passes); they are created when first written.
    const bool empty = files[i].length == 0;
    int fd = -1;
    if (auto e = open_path(i, true, empty, false, fd)) return e;
    if (fd >= 0) ::close(fd);
  }
  opened_ = true;
  return {};
}

// Opens the directory that holds `path`'s last component, one component at a
// time below `root`, never following a symlink (O_NOFOLLOW on each). Missing
// directories are made with create_dirs; without it a missing one gives
// dirfd == -1 and no error. The caller closes a dirfd other than `root`.
error file_storage::open_parent(std::uint32_t file, bool create_dirs, int root, int& dirfd,
                                bool* created) const {
  return open_dirs(file, layout_.files()[file].path.size() - 1, create_dirs, root, dirfd, created);
}

// Like open_parent, for the directory made of the first `depth` components.
error file_storage::open_dirs(std::uint32_t file, std::size_t depth, bool create_dirs, int root,
                              int& dirfd, bool* created) const {
  dirfd = root;
  const auto& path = layout_.files()[file].path;
  for (std::size_t k = 0; k < depth && k + 1 < path.size(); ++k) {
    const auto& comp = path[k];
    auto close_dir = [&] {
      if (dirfd != root) ::close(dirfd);
      dirfd = -1;
    };
    if (create_dirs) {
      if (::mkdirat(dirfd, comp.c_str(), 0777) == 0) {
        if (created != nullptr) *created = true;
      } else if (errno != EEXIST) {
        const int err = errno;
        close_dir();
        return os_error(err, file, "cannot create directory for");
      }
    }
    const int next = ::openat(dirfd, comp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0) {
      const int err = errno;
      const bool link = (err == ELOOP || err == ENOTDIR) && is_symlink_at(dirfd, comp);
      close_dir();
      if (link) return symlink_error(file, k);
      if (err == ENOENT && !create_dirs) return {};
      return os_error(err, file, "cannot open directory for");
    }
    close_dir();
    dirfd = next;
  }
  return {};
}

error file_storage::symlink_error(std::uint32_t file, std::size_t component) const {
  auto link = dir_;
  const auto& path = layout_.files()[file].path;
  for (std::size_t k = 0; k <= component && k < path.size(); ++k) link /= path[k];
  std::string msg = "refusing to follow the symlink " + link.string();
  if (component + 1 < path.size()) msg += " on the way to " + file_path(file).string();
  return error{errc::unsafe_path, msg + ": it may lead outside the download directory " + dir_.string()};
}

// Opens the file below root_fd_ without following any symlink. A missing
// file (never truncated) is created with create_file; otherwise a missing
// path yields fd == -1 and no error.
error file_storage::open_path(std::uint32_t file, bool create_dirs, bool create_file, bool writable,
                              int& fd) {
  fd = -1;
  int dirfd = -1;
  bool created = false;
  if (auto e = open_parent(file, create_dirs, root_fd_, dirfd, &created)) return e;
  if (dirfd < 0) return {};
  auto close_dir = [&] {
    if (dirfd != root_fd_) ::close(dirfd);
  };
  const auto& path = layout_.files()[file].path;
  const auto& name = path.back();
  const int flags = O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | (writable ? O_RDWR : O_RDONLY);
  int f = ::openat(dirfd, name.c_str(), flags);
  if (f < 0 && errno == ENOENT && create_file) {
    // O_EXCL tells whether this call made the file, whose directory entry
    // must then be synced too (flush) before a resume file may rely on it.
    f = ::openat(dirfd, name.c_str(), flags | O_CREAT | O_EXCL, 0666);
    if (f >= 0) created = true;
    else if (errno == EEXIST) f = ::openat(dirfd, name.c_str(), flags);
  }
  if (created) new_entries_.push_back(file);
  if (f < 0) {
    const int err = errno;
    const bool link = err == ELOOP && is_symlink_at(dirfd, name);
    close_dir();
    if (link) return symlink_error(file, path.size() - 1);
    if (err == ENOENT && !create_file) return {};
    return os_error(err, file, "cannot open");
  }
  close_dir();
  // A FIFO or device placed where a file belongs would block or write
  // somewhere unexpected.
  struct stat st {};
  if (::fstat(f, &st) != 0) {
    const int err = errno;
    ::close(f);
    return os_error(err, file, "cannot stat");
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(f);
    return error{errc::io_error, "not a regular file: " + file_path(file).string()};
  }
  fd = f;
  return {};
}

error file_storage::release(std::uint32_t file) {
  auto& h = handles_[file];
  if (h.fd < 0) return {};
  error result;
  if (h.dirty && ::fdatasync(h.fd) != 0) result = os_error(errno, file, "cannot sync");
  if (::close(h.fd) != 0 && !result) result = os_error(errno, file, "cannot close");
  lru_.erase(h.lru_pos);
  h.fd = -1;
  h.writable = false;
  h.dirty = false;
  return result;
}

error file_storage::acquire(std::uint32_t file, bool for_write, int& fd) {
  fd = -1;
  auto& h = handles_[file];
  if (h.fd >= 0 && (h.writable || !for_write)) {
    lru_.splice(lru_.begin(), lru_, h.lru_pos);
    fd = h.fd;
    return {};
  }
  if (h.fd >= 0) {
    // Open read-only so far; reopen for writing.
    if (auto e = release(file); e && !deferred_) deferred_ = std::move(e);
  }
  while (lru_.size() >= max_open_) {
    // A failure to sync the evicted file is not this call's failure; flush()
    // reports it, since that is where durability is promised.
    if (auto e = release(lru_.back()); e && !deferred_) deferred_ = std::move(e);
  }
  int f = -1;
  bool writable = true;
  if (auto e = open_path(file, for_write, for_write, true, f)) {
    // Data on a read-only medium can still be seeded.
    if (for_write || e.code != errc::permission) return e;
    if (auto e2 = open_path(file, false, false, false, f)) return e2;
    writable = false;
  }
  if (f < 0) return {};  // missing, and only reading
  lru_.push_front(file);
  h.fd = f;
  h.writable = writable;
  h.dirty = false;
  h.lru_pos = lru_.begin();
  fd = f;
  return {};
}

error file_storage::write(std::uint32_t piece, std::int64_t offset,
                          std::span<const std::uint8_t> data) {
  const std::span<const std::uint8_t> one[] = {data};
  return write_parts(piece, offset, one);
}

error file_storage::write_parts(std::uint32_t piece, std::int64_t offset,
                                std::span<const std::span<const std::uint8_t>> parts) {
  if (!opened_)
    return path_error_ ? path_error_ : error{errc::invalid_argument, "storage is not open"};
  std::int64_t total = 0;
  for (auto part : parts) total += static_cast<std::int64_t>(part.size());
  if (total == 0) return {};
  const auto slices = layout_.map(piece, offset, total);
  if (slices.empty())
    return error{errc::invalid_argument, "write of " + std::to_string(total) + " bytes at piece " +
                 std::to_string(piece) + " offset " + std::to_string(offset) + " is out of range"};
  std::vector<iovec> iov;
  std::size_t part = 0;           // the part holding the next slice's first byte
  std::int64_t part_start = 0;    // its offset in the concatenation
  for (const auto& s : slices) {
    // The parts that cover [buffer_offset, buffer_offset + length).
    iov.clear();
    while (part_start + static_cast<std::int64_t>(parts[part].size()) <= s.buffer_offset) {
      part_start += static_cast<std::int64_t>(parts[part].size());
      ++part;
    }
    for (std::int64_t pos = s.buffer_offset, end = s.buffer_offset + s.length; pos < end;) {
      const auto size = static_cast<std::int64_t>(parts[part].size());
      const auto from = pos - part_start;
      const auto n = std::min(size - from, end - pos);
      iov.push_back({const_cast<std::uint8_t*>(parts[part].data() + from),  // pwritev only reads
                     static_cast<std::size_t>(n)});
      pos += n;
      if (from + n == size) {
        part_start += size;
        ++part;
      }
    }
    const auto& lf = layout_.files()[s.file];
    if (lf.pad) continue;
    int fd = -1;
    if (auto e = acquire(s.file, true, fd)) return e;
    auto& h = handles_[s.file];
    if (!h.sized) {
      // Size the file once, sparsely, so its length is right from the first
      // write on; never shrink what is already there.
      struct stat st {};
      if (::fstat(fd, &st) != 0) return os_error(errno, s.file, "cannot stat");
      if (st.st_size < lf.length) {
        int rc;
        do rc = ::ftruncate(fd, static_cast<off_t>(lf.length));
        while (rc != 0 && errno == EINTR);
        if (rc != 0) return os_error(errno, s.file, "cannot size");
      }
      h.sized = true;
    }
    h.dirty = true;
    if (direct_.fits(s.file_offset, s.length)) {
      const int err = direct_.write(fd, iov, s.file_offset);
      if (err == 0) continue;
      if (err != direct_write::not_done) return os_error(err, s.file, "cannot write");
    }
    if (int err = pwritev_all(fd, iov, s.file_offset)) return os_error(err, s.file, "cannot write");
  }
  return {};
}

error file_storage::read(std::uint32_t piece, std::int64_t offset, std::span<std::uint8_t> out) {
  if (!opened_)
    return path_error_ ? path_error_ : error{errc::invalid_argument, "storage is not open"};
  if (out.empty()) return {};
  const auto slices = layout_.map(piece, offset, static_cast<std::int64_t>(out.size()));
  if (slices.empty())
    return error{errc::invalid_argument, "read of " + std::to_string(out.size()) + " bytes at piece " +
                 std::to_string(piece) + " offset " + std::to_string(offset) + " is out of range"};
  for (const auto& s : slices) {
    auto* dst = out.data() + s.buffer_offset;
    int fd = -1;
    if (!layout_.files()[s.file].pad) {
      if (auto e = acquire(s.file, false, fd)) return e;
    }
    if (fd < 0) {
      std::memset(dst, 0, static_cast<std::size_t>(s.length));
      continue;
    }
    if (int err = pread_all(fd, dst, s.length, s.file_offset))
      return os_error(err, s.file, "cannot read");
  }
  return {};
}

error file_storage::flush() {
  error result = std::move(deferred_);
  deferred_ = {};
  for (auto f : lru_) {
    auto& h = handles_[f];
    if (!h.dirty) continue;
    int rc;
    do rc = ::fdatasync(h.fd);
    while (rc != 0 && errno == EINTR);
    if (rc != 0) {
      if (!result) result = os_error(errno, f, "cannot sync");
      continue;  // stays dirty, so a later flush tries again
    }
    h.dirty = false;
  }
  if (auto e = sync_new_entries(); e && !result) result = std::move(e);
  return result;
}

// The data of a new file is durable only once its name is: every directory
// from the root down to it is synced (a few per new file, once).
error file_storage::sync_new_entries() {
  if (new_entries_.empty() || root_fd_ < 0) return {};
  std::vector<std::string> done;
  error result;
  std::vector<std::uint32_t> failed;
  for (const auto file : new_entries_) {
    const auto& path = layout_.files()[file].path;
    std::string key;
    for (std::size_t depth = 0; depth < path.size(); ++depth) {
      if (depth > 0) key += path[depth - 1] + '/';
      if (std::find(done.begin(), done.end(), key) != done.end()) continue;
      int dirfd = -1;
      error e = open_dirs(file, depth, false, root_fd_, dirfd);
      int rc = -1;
      if (!e && dirfd >= 0) {
        do rc = ::fsync(dirfd);
        while (rc != 0 && errno == EINTR);
        if (rc != 0) e = os_error(errno, file, "cannot sync the directory of");
      }
      if (dirfd >= 0 && dirfd != root_fd_) ::close(dirfd);
      if (rc != 0) {
        if (!e) e = os_error(ENOENT, file, "cannot sync the directory of");
        if (!result) result = std::move(e);
        failed.push_back(file);
        break;
      }
      done.push_back(key);
    }
  }
  new_entries_ = std::move(failed);  // tried again at the next flush
  return result;
}

error file_storage::remove_files() {
  close_all();
  opened_ = false;
  const int root = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) {
    const int err = errno;
    if (err == ENOENT) return {};
    return error{code_for(err), "cannot open download directory " + dir_.string() + ": " + os_message(err)};
  }
  error result;
  const auto& files = layout_.files();
  // (file, depth): the directory of the first `depth` components of that
  // file's path, deepest first below, so a parent is tried after its children.
  std::vector<std::pair<std::uint32_t, std::size_t>> dirs;
  std::vector<std::string> dir_names;
  for (std::uint32_t i = 0; i < files.size(); ++i) {
    if (files[i].pad || path_error_) continue;
    std::string joined;
    for (std::size_t d = 1; d < files[i].path.size(); ++d) {
      joined += files[i].path[d - 1];
      joined += '/';
      if (std::find(dir_names.begin(), dir_names.end(), joined) == dir_names.end()) {
        dir_names.push_back(joined);
        dirs.emplace_back(i, d);
      }
    }
    int dirfd = -1;
    if (auto e = open_parent(i, false, root, dirfd)) {
      if (!result) result = std::move(e);
      continue;
    }
    if (dirfd < 0) continue;
    // unlinkat removes a symlink itself, never what it points to.
    if (::unlinkat(dirfd, files[i].path.back().c_str(), 0) != 0 && errno != ENOENT && !result)
      result = os_error(errno, i, "cannot delete");
    if (dirfd != root) ::close(dirfd);
  }
  std::stable_sort(dirs.begin(), dirs.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  for (const auto& [file, depth] : dirs) {
    int dirfd = -1;
    if (open_dirs(file, depth - 1, false, root, dirfd) || dirfd < 0) continue;
    // A directory that still holds something (ENOTEMPTY) stays.
    ::unlinkat(dirfd, files[file].path[depth - 1].c_str(), AT_REMOVEDIR);
    if (dirfd != root) ::close(dirfd);
  }
  ::close(root);
  return path_error_ ? path_error_ : result;
}

std::vector<storage::file_status> file_storage::stat_files() const {
  const auto& files = layout_.files();
  std::vector<file_status> out(files.size());
  // Before open() there is no root descriptor yet; one of our own then.
  int root = root_fd_;
  if (root < 0) root = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  for (std::uint32_t i = 0; i < files.size(); ++i) {
    if (files[i].pad) {
      out[i] = file_status{files[i].length, 0};
      continue;
    }
    if (root < 0) continue;
    // What lies behind a symlink is not the torrent's file: it counts as missing.
    int dirfd = -1;
    if (open_parent(i, false, root, dirfd) || dirfd < 0) continue;
    struct stat st {};
    const bool found = ::fstatat(dirfd, files[i].path.back().c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (dirfd != root) ::close(dirfd);
    if (!found || !S_ISREG(st.st_mode)) continue;
    out[i].size = static_cast<std::int64_t>(st.st_size);
    out[i].mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  }
  if (root >= 0 && root != root_fd_) ::close(root);
  return out;
}

} // namespace actorrent
