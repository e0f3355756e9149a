#include "dht_source_limiter.hpp"

#include <algorithm>

namespace actorrent::dht {

double source_limiter::refilled(const state& s, time_point now) const {
  double elapsed = std::chrono::duration<double>(now - s.last).count();
  return std::min(cfg_.burst, s.tokens + std::max(0.0, elapsed) * cfg_.per_second);
}

bool source_limiter::allow(std::uint32_t ip, time_point now) {
  auto it = sources_.find(ip);
  if (it == sources_.end()) {
    if (sources_.size() >= cfg_.max_sources)
      std::erase_if(sources_, [&](const auto& kv) { return refilled(kv.second, now) >= cfg_.burst; });
    if (sources_.size() >= cfg_.max_sources) return false;
    it = sources_.emplace(ip, state{cfg_.burst, now}).first;
  }
  it->second.tokens = refilled(it->second, now);
  it->second.last = now;
  if (it->second.tokens < 1.0) return false;
  it->second.tokens -= 1.0;
  return true;
}

} // namespace actorrent::dht
