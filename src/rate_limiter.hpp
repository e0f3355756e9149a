// A token bucket shared by the connections it limits: one per direction for
// the session, one per direction for each torrent. A connection takes tokens
// before it reads or writes and gives back what the socket did not use, so
// every connection under a limit draws from the same budget and the sum of
// their rates stays at the limit.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace actorrent {

class rate_limiter {
public:
  using clock = std::chrono::steady_clock;

  /// bytes_per_second 0: unlimited.
  explicit rate_limiter(std::uint64_t bytes_per_second = 0);

  /// Takes effect at once; tokens above the new burst are dropped.
  void set_rate(std::uint64_t bytes_per_second);
  std::uint64_t rate() const { return rate_.load(std::memory_order_relaxed); }
  bool unlimited() const { return rate() == 0; }

  /// Grants up to `want` bytes (0 when the bucket is empty; `want` when
  /// unlimited) and takes them from the bucket.
  std::size_t take(std::size_t want, clock::time_point now);
  /// Returns bytes granted but not used.
  void give_back(std::size_t n);
  /// How long until `n` bytes (at most one burst) can be granted.
  clock::duration wait_for(std::size_t n, clock::time_point now);

  /// The most a bucket holds: a tenth of a second of the rate, at least
  /// 16 KiB (one block), so that short bursts stay short and the average
  /// over a few seconds stays within a few percent of the rate.
  static std::uint64_t burst_for(std::uint64_t bytes_per_second);

private:
  void refill(clock::time_point now);

  std::mutex mutex_;
  // Atomic so that an unlimited bucket, the common case, is passed without
  // taking the lock on every socket read and write.
  std::atomic<std::uint64_t> rate_;
  double tokens_;
  clock::time_point last_;
};

using rate_limiters = std::vector<std::shared_ptr<rate_limiter>>;

/// Takes the same number of bytes from every limiter: the least any of them
/// grants (what the others granted beyond it is given back), or nothing when
/// that is under `at_least` (at most a burst). A connection that took the
/// few bytes that trickle in between two of its reads would make a read, a
/// message and a wake-up for each of them: under a limit it waits for a
/// useful amount instead.
std::size_t take_all(const rate_limiters& limiters, std::size_t want,
                     rate_limiter::clock::time_point now, std::size_t at_least = 1);
void give_back_all(const rate_limiters& limiters, std::size_t n);
/// How long until every limiter can grant `n` bytes.
rate_limiter::clock::duration wait_for_all(const rate_limiters& limiters, std::size_t n,
                                           rate_limiter::clock::time_point now);

} // namespace actorrent
