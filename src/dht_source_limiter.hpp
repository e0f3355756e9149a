// How many queries one address may make of us: a token bucket per IPv4
// address, so one host cannot make us its amplifier or drown our answers to
// others. The set of addresses tracked is bounded; when it is full, addresses
// whose bucket has refilled are forgotten (they are as good as new), and if
// none has, a newcomer is refused until one does.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <unordered_map>

#include "dht_routing_table.hpp" // time_point

namespace actorrent::dht {

class source_limiter {
public:
  struct config {
    double per_second = 20;          ///< sustained queries per address
    double burst = 40;               ///< queries an address may send at once
    std::size_t max_sources = 4096;  ///< addresses tracked at a time
  };

  source_limiter() : source_limiter(config{}) {}
  explicit source_limiter(config cfg) : cfg_(cfg) {}

  /// Whether a query from `ip` (big-endian number) may be answered now; takes one token if so.
  bool allow(std::uint32_t ip, time_point now);

private:
  struct state {
    double tokens;
    time_point last;
  };
  double refilled(const state& s, time_point now) const;

  config cfg_;
  std::unordered_map<std::uint32_t, state> sources_;
};

} // namespace actorrent::dht
