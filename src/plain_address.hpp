// An IPv4 peer that reaches a dual-stack socket ("::") shows up as an
// IPv4-mapped IPv6 address (::ffff:a.b.c.d). Everything else (bans, the
// peer list, PEX) knows that peer by its IPv4 address, so it is named so.
#pragma once

#include <asio/ip/address.hpp>

namespace actorrent {

inline asio::ip::address plain_address(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  return a;
}

} // namespace actorrent
