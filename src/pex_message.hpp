// Peer exchange messages (BEP 11, ut_pex): a bencoded dictionary of peers
// the sender connected to ("added", "added6", compact 6 and 18 byte entries,
// with one flags byte each in "added.f" / "added6.f") and peers it lost
// ("dropped", "dropped6").
#pragma once

#include "actorrent/error.hpp"
#include "peer_endpoint.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace actorrent {

/// The extended id of ut_pex in the handshakes we send.
inline constexpr std::uint8_t our_ut_pex_id = 1;

/// Flags of an added peer (BEP 11).
namespace pex_flag {
inline constexpr std::uint8_t encryption = 0x01;   ///< prefers encrypted connections
inline constexpr std::uint8_t seed = 0x02;         ///< has every piece
inline constexpr std::uint8_t utp = 0x04;          ///< speaks uTP
inline constexpr std::uint8_t holepunch = 0x08;    ///< supports ut_holepunch
inline constexpr std::uint8_t connectable = 0x10;  ///< accepts incoming connections
} // namespace pex_flag

struct pex_peer {
  peer_endpoint endpoint;  ///< numeric IPv4 or IPv6 host
  std::uint8_t flags = 0;

  friend bool operator==(const pex_peer&, const pex_peer&) = default;
};

struct pex_message {
  std::vector<pex_peer> added;          ///< IPv4 and IPv6
  std::vector<peer_endpoint> dropped;   ///< IPv4 and IPv6
  /// Entries past max_pex_entries, counted but not decoded.
  std::size_t ignored = 0;
};

/// A message is at most this big (the wire decoder's bound on extension
/// messages), and at most this many entries of each list are decoded.
inline constexpr std::size_t max_pex_message = 64 * 1024;
inline constexpr std::size_t max_pex_entries = 200;

/// Parses a ut_pex payload. Unknown keys are ignored; a payload that is not
/// a bencoded dictionary, a peer list whose length is not a multiple of its
/// entry size, or a list of the wrong type is an error (errc::wire_protocol;
/// errc::wire_limit when over the size bound). A flags string whose length
/// does not match its list is ignored (flags 0), as other clients do.
/// Entries with port 0 are skipped.
result<pex_message> parse_pex_message(std::span<const std::uint8_t> payload);

/// The payload for `m`. Hosts that are not numeric IPv4 or IPv6 addresses
/// are left out.
std::vector<std::uint8_t> encode_pex_message(const pex_message& m);

/// The text form of a raw IPv4 (4 bytes) or IPv6 (16 bytes) address; empty
/// for any other length.
std::string address_from_bytes(std::string_view raw);

/// Whether a peer named by PEX may be dialled at all: a numeric unicast
/// address (not unspecified, multicast or broadcast) with a port.
bool pex_address_usable(const peer_endpoint& p);

} // namespace actorrent
