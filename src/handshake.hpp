// The 68-byte handshake that opens every peer connection (BEP 3):
// pstrlen 19, "BitTorrent protocol", 8 reserved bytes, info-hash, peer id.
#pragma once

#include <actorrent/error.hpp>
#include <actorrent/sha1_hash.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace actorrent::wire {

inline constexpr std::size_t handshake_size = 68;

struct handshake {
  /// Extension bits, kept as sent (byte 5 bit 0x10: BEP 10; byte 7 bit 0x01: DHT).
  std::array<std::uint8_t, 8> reserved{};
  sha1_hash info_hash;
  std::array<std::uint8_t, 20> peer_id{};

  friend bool operator==(const handshake&, const handshake&) = default;
};

/// Writes the 68 bytes of `h` to `out`.
void encode_handshake(const handshake& h, std::span<std::uint8_t, handshake_size> out);

/// Parses a handshake. `in` must hold exactly 68 bytes; checks pstrlen 19 and
/// the protocol string (errc::wire_protocol otherwise); keeps the reserved bits.
result<handshake> decode_handshake(std::span<const std::uint8_t> in);

} // namespace actorrent::wire
