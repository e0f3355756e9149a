#include "direct_write.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

namespace actorrent {

namespace {

constexpr std::int64_t alignment = 4096;   // a multiple of every device's logical block
constexpr std::size_t max_staging = 1 << 20;

} // namespace

void direct_write::free_deleter::operator()(std::uint8_t* p) const noexcept { std::free(p); }

bool direct_write::fits(std::int64_t file_offset, std::int64_t length) const noexcept {
  return !refused_ && length > 0 && file_offset % alignment == 0 && length % alignment == 0;
}

int direct_write::write(int fd, std::span<const iovec> iov, std::int64_t file_offset) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return errno;
  if (::fcntl(fd, F_SETFL, flags | O_DIRECT) != 0) {
    if (errno != EINVAL) return errno;
    refused_ = true;
    return not_done;
  }
  const int result = write_aligned(fd, iov, file_offset);
  // Every other read and write of the descriptor stays buffered.
  if (::fcntl(fd, F_SETFL, flags) != 0) return errno;
  return result;
}

int direct_write::write_aligned(int fd, std::span<const iovec> iov, std::int64_t file_offset) {
  const bool in_place = std::ranges::all_of(iov, [](const iovec& v) {
    return reinterpret_cast<std::uintptr_t>(v.iov_base) % alignment == 0 && v.iov_len % alignment == 0;
  });
  return in_place ? write_in_place(fd, iov, file_offset) : write_staged(fd, iov, file_offset);
}

int direct_write::outcome(ssize_t n, std::size_t want) {
  if (n < 0) {
    if (errno != EINVAL) return errno;
    // The device wants another alignment: buffered from now on, this run included.
    refused_ = true;
    return not_done;
  }
  // A short write leaves an unaligned rest; the caller writes the run again, buffered.
  return static_cast<std::size_t>(n) == want ? 0 : not_done;
}

int direct_write::write_in_place(int fd, std::span<const iovec> iov, std::int64_t file_offset) {
  std::int64_t off = file_offset;
  for (std::size_t first = 0; first < iov.size();) {
    const auto count = std::min<std::size_t>(iov.size() - first, IOV_MAX);
    std::size_t want = 0;
    for (std::size_t i = first; i < first + count; ++i) want += iov[i].iov_len;
    ssize_t n;
    do n = ::pwritev(fd, iov.data() + first, static_cast<int>(count), static_cast<off_t>(off));
    while (n < 0 && errno == EINTR);
    if (const int r = outcome(n, want); r != 0) return r;
    off += n;
    first += count;
  }
  return 0;
}

int direct_write::write_staged(int fd, std::span<const iovec> iov, std::int64_t file_offset) {
  std::size_t total = 0;
  for (const auto& v : iov) total += v.iov_len;
  const std::size_t window = std::min(total, max_staging);
  if (staging_size_ < window) {
    auto* p = static_cast<std::uint8_t*>(std::aligned_alloc(alignment, window));
    if (p == nullptr) return not_done;
    staging_.reset(p);
    staging_size_ = window;
  }
  std::size_t part = 0, from = 0;  // the next byte to gather: iov[part] at `from`
  std::int64_t off = file_offset;
  while (part < iov.size()) {
    std::size_t filled = 0;
    while (filled < window && part < iov.size()) {
      const auto n = std::min(iov[part].iov_len - from, window - filled);
      std::memcpy(staging_.get() + filled, static_cast<const std::uint8_t*>(iov[part].iov_base) + from, n);
      filled += n;
      from += n;
      if (from == iov[part].iov_len) {
        ++part;
        from = 0;
      }
    }
    staged_bytes_ += filled;
    ssize_t n;
    do n = ::pwrite(fd, staging_.get(), filled, static_cast<off_t>(off));
    while (n < 0 && errno == EINTR);
    if (const int r = outcome(n, filled); r != 0) return r;
    off += n;
  }
  return 0;
}

} // namespace actorrent
