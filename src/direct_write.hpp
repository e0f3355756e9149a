// Writes whole, aligned runs of a file past the page cache (O_DIRECT).
//
// Written pieces are not read again soon (a download hashes them before
// writing), yet a buffered write copies each into the page cache, whose
// first touch is most of the DiskWriter's time on a large download (see
// tools/bench/README.md). A run whose file offset and length are multiples
// of 4096 is written with O_DIRECT set on the descriptor for that write only:
// straight from its parts when each starts and ends on a 4096-byte boundary
// (block_buffer's blocks do), else gathered into an aligned staging buffer
// (at most 1 MiB) first. Anything else, and every file system that refuses
// O_DIRECT, stays buffered.
// Durability is unchanged: flush() still syncs the descriptor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include <sys/uio.h>

namespace actorrent {

class direct_write {
public:
  /// What write() returns when the caller must write the run itself
  /// (buffered); nothing, or only bytes the caller writes again, was written.
  static constexpr int not_done = -1;

  direct_write() = default;

  /// Whether a run at `file_offset` of `length` bytes may go this way.
  bool fits(std::int64_t file_offset, std::int64_t length) const noexcept;
  /// Writes the bytes of `iov` at `file_offset` of `fd`. Returns 0, an errno
  /// value (the write failed), or not_done.
  int write(int fd, std::span<const iovec> iov, std::int64_t file_offset);
  /// Bytes that went through the staging buffer so far.
  std::uint64_t staged_bytes() const noexcept { return staged_bytes_; }

private:
  struct free_deleter {
    void operator()(std::uint8_t* p) const noexcept;
  };
  int write_aligned(int fd, std::span<const iovec> iov, std::int64_t file_offset);
  int write_in_place(int fd, std::span<const iovec> iov, std::int64_t file_offset);
  int write_staged(int fd, std::span<const iovec> iov, std::int64_t file_offset);
  // What a write of `want` bytes that returned `n` means for the run.
  int outcome(ssize_t n, std::size_t want);

  bool refused_ = false;  // the file system does not take O_DIRECT
  std::unique_ptr<std::uint8_t, free_deleter> staging_;
  std::size_t staging_size_ = 0;
  std::uint64_t staged_bytes_ = 0;
};

} // namespace actorrent
