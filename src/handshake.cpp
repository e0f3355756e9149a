#include "handshake.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>

namespace actorrent::wire {

namespace {
constexpr std::string_view protocol = "BitTorrent protocol";
static_assert(1 + protocol.size() + 8 + 20 + 20 == handshake_size);
} // namespace

void encode_handshake(const handshake& h, std::span<std::uint8_t, handshake_size> out) {
  std::uint8_t* p = out.data();
  *p++ = static_cast<std::uint8_t>(protocol.size());
  std::memcpy(p, protocol.data(), protocol.size());
  p += protocol.size();
  std::memcpy(p, h.reserved.data(), h.reserved.size());
  p += h.reserved.size();
  std::memcpy(p, h.info_hash.bytes.data(), h.info_hash.bytes.size());
  p += h.info_hash.bytes.size();
  std::memcpy(p, h.peer_id.data(), h.peer_id.size());
}

result<handshake> decode_handshake(std::span<const std::uint8_t> in) {
  if (in.size() != handshake_size)
    return error{errc::wire_protocol,
                 "handshake of " + std::to_string(in.size()) + " bytes, expected 68"};
  if (in[0] != protocol.size())
    return error{errc::wire_protocol, "handshake pstrlen " + std::to_string(in[0]) +
                                          " at offset 0, expected 19 (not a BitTorrent peer, "
                                          "or an encrypted stream)"};
  if (std::memcmp(in.data() + 1, protocol.data(), protocol.size()) != 0)
    return error{errc::wire_protocol,
                 "handshake protocol string at offset 1 is not \"BitTorrent protocol\""};
  handshake h;
  const std::uint8_t* p = in.data() + 1 + protocol.size();
  std::copy_n(p, 8, h.reserved.begin());
  std::copy_n(p + 8, 20, h.info_hash.bytes.begin());
  std::copy_n(p + 28, 20, h.peer_id.begin());
  return h;
}

} // namespace actorrent::wire
