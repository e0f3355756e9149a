#include "dht_node_id.hpp"

#include <bit>
#include <string>

namespace actorrent::dht {

std::string endpoint::to_string() const {
  return std::to_string(ip[0]) + '.' + std::to_string(ip[1]) + '.' + std::to_string(ip[2]) + '.' +
         std::to_string(ip[3]) + ':' + std::to_string(port);
}

node_id distance(const node_id& a, const node_id& b) noexcept {
  node_id d;
  for (std::size_t i = 0; i < d.bytes.size(); ++i) d.bytes[i] = a.bytes[i] ^ b.bytes[i];
  return d;
}

bool closer(const node_id& target, const node_id& a, const node_id& b) noexcept {
  for (std::size_t i = 0; i < target.bytes.size(); ++i) {
    auto da = a.bytes[i] ^ target.bytes[i];
    auto db = b.bytes[i] ^ target.bytes[i];
    if (da != db) return da < db;
  }
  return false;
}

int common_prefix_bits(const node_id& a, const node_id& b) noexcept {
  for (std::size_t i = 0; i < a.bytes.size(); ++i) {
    auto x = static_cast<std::uint8_t>(a.bytes[i] ^ b.bytes[i]);
    if (x != 0) return static_cast<int>(i * 8) + std::countl_zero(x);
  }
  return 160;
}

node_id random_id(std::mt19937_64& rng) {
  node_id id;
  for (auto& b : id.bytes) b = static_cast<std::uint8_t>(rng());
  return id;
}

node_id random_id_with_prefix(const node_id& base, int bits, std::mt19937_64& rng) {
  if (bits >= 160) return base;
  node_id id = random_id(rng);
  // Keep the first `bits` bits of base, flip the next one, leave the rest random.
  for (int i = 0; i <= bits; ++i) {
    auto byte = static_cast<std::size_t>(i / 8);
    auto mask = static_cast<std::uint8_t>(0x80 >> (i % 8));
    bool bit = (base.bytes[byte] & mask) != 0;
    if (i == bits) bit = !bit;
    id.bytes[byte] = static_cast<std::uint8_t>(bit ? (id.bytes[byte] | mask) : (id.bytes[byte] & ~mask));
  }
  return id;
}

bool exempt_from_id_rule(const std::array<std::uint8_t, 4>& ip) noexcept {
  return ip[0] == 10 || ip[0] == 127 || (ip[0] == 172 && (ip[1] & 0xf0) == 16) ||
         (ip[0] == 192 && ip[1] == 168) || (ip[0] == 169 && ip[1] == 254);
}

std::uint32_t crc32c(const std::uint8_t* data, std::size_t size) noexcept {
  std::uint32_t crc = 0xffffffffu;
  for (std::size_t i = 0; i < size; ++i) {
    crc ^= data[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1u)));
  }
  return ~crc;
}

namespace {

std::uint32_t id_prefix_crc(const std::array<std::uint8_t, 4>& ip, std::uint8_t r) noexcept {
  static constexpr std::array<std::uint8_t, 4> mask{0x03, 0x0f, 0x3f, 0xff};
  std::array<std::uint8_t, 4> masked{};
  for (std::size_t i = 0; i < 4; ++i) masked[i] = ip[i] & mask[i];
  masked[0] = static_cast<std::uint8_t>(masked[0] | ((r & 7) << 5));
  return crc32c(masked.data(), masked.size());
}

} // namespace

node_id id_for_address(const std::array<std::uint8_t, 4>& ip, std::mt19937_64& rng) {
  node_id id = random_id(rng);
  auto r = static_cast<std::uint8_t>(id.bytes[19] & 7);
  id.bytes[19] = r;
  std::uint32_t crc = id_prefix_crc(ip, r);
  id.bytes[0] = static_cast<std::uint8_t>(crc >> 24);
  id.bytes[1] = static_cast<std::uint8_t>(crc >> 16);
  id.bytes[2] = static_cast<std::uint8_t>(((crc >> 8) & 0xf8) | (id.bytes[2] & 7));
  return id;
}

bool id_matches_address(const node_id& id, const std::array<std::uint8_t, 4>& ip) noexcept {
  if (exempt_from_id_rule(ip)) return true;
  std::uint32_t crc = id_prefix_crc(ip, static_cast<std::uint8_t>(id.bytes[19] & 7));
  return id.bytes[0] == static_cast<std::uint8_t>(crc >> 24) &&
         id.bytes[1] == static_cast<std::uint8_t>(crc >> 16) &&
         (id.bytes[2] & 0xf8) == ((crc >> 8) & 0xf8);
}

} // namespace actorrent::dht
