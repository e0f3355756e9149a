// The bytes a download holds in memory before they reach the disk: blocks
// received for pieces not yet hashed and written, plus the blocks requested
// from peers, which will be held once they arrive. Bounding their sum is what
// keeps memory flat when the disk falls behind the network: the PieceManager
// starts new pieces only within the room left, so a slow disk stops new
// requests (and TCP then stops the senders) instead of growing a queue.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace actorrent {

class write_backlog {
public:
  /// `limit` <= 0: no limit.
  explicit write_backlog(std::int64_t limit = 0) noexcept : limit_(limit) {}

  /// A block of `bytes` was accepted: it is held until its piece settles.
  void received(std::int64_t bytes) noexcept {
    held_ += bytes;
    peak_ = std::max(peak_, held_);
  }
  /// A piece of `bytes` was written, failed its check or was given up.
  void settled(std::int64_t bytes) noexcept { held_ = std::max<std::int64_t>(0, held_ - bytes); }

  std::int64_t held() const noexcept { return held_; }
  /// The most ever held at once.
  std::int64_t peak() const noexcept { return peak_; }
  std::int64_t limit() const noexcept { return limit_; }

  /// How many more blocks of new pieces, of up to `block_size` bytes, may be requested while
  /// `in_flight` requests are outstanding, so that what is held plus what is
  /// asked for stays within the limit.
  std::size_t room(std::size_t in_flight, std::uint32_t block_size) const noexcept {
    if (limit_ <= 0) return static_cast<std::size_t>(-1);
    auto size = static_cast<std::int64_t>(std::max<std::uint32_t>(block_size, 1));
    auto used = held_ + static_cast<std::int64_t>(in_flight) * size;
    return used >= limit_ ? 0 : static_cast<std::size_t>((limit_ - used) / size);
  }

private:
  std::int64_t limit_;
  std::int64_t held_ = 0;
  std::int64_t peak_ = 0;
};

} // namespace actorrent
