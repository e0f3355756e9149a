// DHT node ids (BEP 5) and their distance: ids and info-hashes live in one
// 160-bit space where the distance of two ids is their XOR, read as an
// unsigned number. Also the BEP 42 rule that ties a node id to its IPv4
// address, so one host cannot choose where in the space it sits.
#pragma once

#include <array>
#include <cstdint>
#include <random>

#include "actorrent/sha1_hash.hpp"

namespace actorrent::dht {

using node_id = sha1_hash;

/// An IPv4 address and a UDP port: every DHT address we deal in.
struct endpoint {
  std::array<std::uint8_t, 4> ip{};
  std::uint16_t port = 0;

  friend bool operator==(const endpoint&, const endpoint&) = default;
  friend auto operator<=>(const endpoint&, const endpoint&) = default;

  /// The address as one big-endian number.
  std::uint32_t ip_number() const noexcept {
    return (std::uint32_t{ip[0]} << 24) | (std::uint32_t{ip[1]} << 16) |
           (std::uint32_t{ip[2]} << 8) | ip[3];
  }
  static endpoint from_number(std::uint32_t ip, std::uint16_t port) noexcept {
    return {{static_cast<std::uint8_t>(ip >> 24), static_cast<std::uint8_t>(ip >> 16),
             static_cast<std::uint8_t>(ip >> 8), static_cast<std::uint8_t>(ip)},
            port};
  }
  /// "1.2.3.4:6881".
  std::string to_string() const;
};

/// a XOR b.
node_id distance(const node_id& a, const node_id& b) noexcept;

/// True when `a` is strictly closer to `target` than `b` is.
bool closer(const node_id& target, const node_id& a, const node_id& b) noexcept;

/// How many leading bits `a` and `b` share (160 when equal).
int common_prefix_bits(const node_id& a, const node_id& b) noexcept;

/// A uniformly random id.
node_id random_id(std::mt19937_64& rng);

/// A random id that shares exactly `bits` leading bits with `base` (the
/// next bit differs), or `base` itself when bits >= 160: a target inside one
/// bucket of a routing table centred on `base`.
node_id random_id_with_prefix(const node_id& base, int bits, std::mt19937_64& rng);

/// BEP 42: addresses whose nodes may choose any id (loopback, private,
/// link-local: the BEP exempts them because no one outside can reach them).
bool exempt_from_id_rule(const std::array<std::uint8_t, 4>& ip) noexcept;

/// BEP 42: an id for a node whose external address is `ip`: its first 21
/// bits come from CRC32-C of the masked address and a random r in 0..7, its
/// last byte is r, the rest is random.
node_id id_for_address(const std::array<std::uint8_t, 4>& ip, std::mt19937_64& rng);

/// BEP 42: whether `id` may belong to a node at `ip` (always true for
/// exempt addresses).
bool id_matches_address(const node_id& id, const std::array<std::uint8_t, 4>& ip) noexcept;

/// CRC32-C (Castagnoli), as BEP 42 uses it.
std::uint32_t crc32c(const std::uint8_t* data, std::size_t size) noexcept;

} // namespace actorrent::dht
