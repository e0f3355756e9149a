// The write tokens of BEP 5: get_peers hands the asker a token tied to its
// address; announce_peer must bring it back from the same address. A token
// is a hash of the address and a secret that changes every 5 minutes; the
// previous secret is still accepted, so a token is good for 5 to 10 minutes
// and no per-asker state is kept.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "dht_routing_table.hpp" // time_point

namespace actorrent::dht {

class token_issuer {
public:
  static constexpr std::chrono::seconds rotation{5 * 60};
  static constexpr std::size_t token_size = 8;

  /// The secrets come from `seed` (tests and the simulation pass a fixed one).
  explicit token_issuer(std::uint64_t seed);

  /// The token for a node at `ip`.
  std::string issue(const std::array<std::uint8_t, 4>& ip, time_point now);
  /// Whether `token` was issued to `ip` under the current or the previous secret.
  bool valid(std::string_view token, const std::array<std::uint8_t, 4>& ip, time_point now);

private:
  void rotate(time_point now);
  std::string make(const std::array<std::uint8_t, 4>& ip, std::uint64_t secret) const;

  std::mt19937_64 rng_;
  std::uint64_t current_, previous_;
  time_point rotated_{};
  bool started_ = false;
};

} // namespace actorrent::dht
