#include "dht_tokens.hpp"

#include "actorrent/sha1_hash.hpp"

namespace actorrent::dht {

token_issuer::token_issuer(std::uint64_t seed) : rng_(seed), current_(rng_()), previous_(rng_()) {}

void token_issuer::rotate(time_point now) {
  if (!started_) {
    started_ = true;
    rotated_ = now;
    return;
  }
  if (now - rotated_ < rotation) return;
  // After a long silence both secrets are stale: nothing issued before stays good.
  previous_ = now - rotated_ < 2 * rotation ? current_ : rng_();
  current_ = rng_();
  rotated_ = now;
}

std::string token_issuer::make(const std::array<std::uint8_t, 4>& ip, std::uint64_t secret) const {
  std::string input(reinterpret_cast<const char*>(ip.data()), ip.size());
  for (int i = 0; i < 8; ++i) input.push_back(static_cast<char>(secret >> (8 * i)));
  return std::string(sha1(input).raw().substr(0, token_size));
}

std::string token_issuer::issue(const std::array<std::uint8_t, 4>& ip, time_point now) {
  rotate(now);
  return make(ip, current_);
}

bool token_issuer::valid(std::string_view token, const std::array<std::uint8_t, 4>& ip, time_point now) {
  rotate(now);
  return token == make(ip, current_) || token == make(ip, previous_);
}

} // namespace actorrent::dht
