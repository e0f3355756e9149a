#include "rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace actorrent {

std::uint64_t rate_limiter::burst_for(std::uint64_t bytes_per_second) {
  return std::max<std::uint64_t>(bytes_per_second / 10, 16 * 1024);
}

rate_limiter::rate_limiter(std::uint64_t bytes_per_second)
  : rate_(bytes_per_second),
    tokens_(static_cast<double>(burst_for(bytes_per_second))),
    last_(clock::now()) {
}

void rate_limiter::set_rate(std::uint64_t bytes_per_second) {
  std::lock_guard lock{mutex_};
  refill(clock::now());
  rate_ = bytes_per_second;
  tokens_ = std::min(tokens_, static_cast<double>(burst_for(rate_)));
}

void rate_limiter::refill(clock::time_point now) {
  if (now <= last_) return;
  auto bps = rate();
  if (bps != 0) {
    auto elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(tokens_ + elapsed * static_cast<double>(bps),
                       static_cast<double>(burst_for(bps)));
  }
  last_ = now;
}

std::size_t rate_limiter::take(std::size_t want, clock::time_point now) {
  if (unlimited()) return want;
  std::lock_guard lock{mutex_};
  refill(now);
  auto granted = std::min<double>(static_cast<double>(want), std::floor(std::max(tokens_, 0.0)));
  tokens_ -= granted;
  return static_cast<std::size_t>(granted);
}

void rate_limiter::give_back(std::size_t n) {
  if (unlimited()) return;
  std::lock_guard lock{mutex_};
  tokens_ = std::min(tokens_ + static_cast<double>(n), static_cast<double>(burst_for(rate())));
}

rate_limiter::clock::duration rate_limiter::wait_for(std::size_t n, clock::time_point now) {
  if (unlimited()) return clock::duration::zero();
  std::lock_guard lock{mutex_};
  refill(now);
  auto bps = rate();
  // set_rate(0) may have run between the check above and the lock.
  if (bps == 0) return clock::duration::zero();
  auto needed = std::min<double>(static_cast<double>(n), static_cast<double>(burst_for(bps)))
                - tokens_;
  if (needed <= 0) return clock::duration::zero();
  return std::chrono::duration_cast<clock::duration>(
    std::chrono::duration<double>(needed / static_cast<double>(bps)));
}

std::size_t take_all(const rate_limiters& limiters, std::size_t want,
                     rate_limiter::clock::time_point now, std::size_t at_least) {
  std::size_t granted = want;
  std::size_t taken_from = 0;
  for (; taken_from < limiters.size() && granted > 0; ++taken_from) {
    auto got = limiters[taken_from]->take(granted, now);
    // The earlier limiters granted more than this one: the surplus goes back.
    for (std::size_t i = 0; i < taken_from; ++i) limiters[i]->give_back(granted - got);
    granted = got;
  }
  if (granted > 0 && granted < std::min(at_least, want)) {
    for (std::size_t i = 0; i < taken_from; ++i) limiters[i]->give_back(granted);
    return 0;
  }
  return granted;
}

void give_back_all(const rate_limiters& limiters, std::size_t n) {
  if (n == 0) return;
  for (auto& l : limiters) l->give_back(n);
}

rate_limiter::clock::duration wait_for_all(const rate_limiters& limiters, std::size_t n,
                                           rate_limiter::clock::time_point now) {
  auto longest = rate_limiter::clock::duration::zero();
  for (auto& l : limiters) longest = std::max(longest, l->wait_for(n, now));
  return longest;
}

} // namespace actorrent
