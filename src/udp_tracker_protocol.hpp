// The UDP tracker protocol (BEP 15): the bytes of the connect, announce and
// scrape requests, and a strict, bounded decoder of the tracker's replies.
// Everything here is a pure function of its arguments.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "actorrent/error.hpp"
#include "actorrent/sha1_hash.hpp"
#include "peer_endpoint.hpp"
#include "tracker_url.hpp" // announce_event

namespace actorrent::udp_tracker {

/// The magic constant that opens a connect request.
inline constexpr std::uint64_t protocol_id = 0x41727101980ULL;

/// A datagram longer than this is refused unread: an honest announce reply
/// with the 200 IPv6 peers a tracker may send at most is 3620 bytes, and the
/// largest scrape reply we ask for is 896.
inline constexpr std::size_t max_datagram = 8192;

/// At most this many info-hashes per scrape request (BEP 15: about 74 fit
/// in one datagram that is never fragmented).
inline constexpr std::size_t max_scrape_hashes = 74;

enum class action : std::uint32_t { connect = 0, announce = 1, scrape = 2, error = 3 };

/// Which peers an announce reply carries: the family of the address the
/// tracker was reached over (BEP 15: 6-byte entries over IPv4, 18 over IPv6).
enum class family { v4, v6 };

/// The fields of an announce beside the connection and transaction ids.
struct announce_fields {
  sha1_hash info_hash;
  std::array<std::uint8_t, 20> peer_id{};
  std::int64_t downloaded = 0, left = 0, uploaded = 0;
  announce_event event = announce_event::none;
  std::uint32_t key = 0;
  std::int32_t num_want = -1;  ///< -1: the tracker's default
  std::uint16_t port = 0;
};

std::vector<std::uint8_t> encode_connect(std::uint32_t transaction_id);
std::vector<std::uint8_t> encode_announce(std::uint64_t connection_id, std::uint32_t transaction_id,
                                          const announce_fields& f);
/// Precondition: 1 <= hashes.size() <= max_scrape_hashes.
std::vector<std::uint8_t> encode_scrape(std::uint64_t connection_id, std::uint32_t transaction_id,
                                        std::span<const sha1_hash> hashes);

struct connect_reply {
  std::uint64_t connection_id = 0;
};

struct announce_reply {
  std::int32_t interval = 0;  ///< as sent; the caller bounds it
  std::int32_t leechers = 0, seeders = 0;
  std::vector<peer_endpoint> peers;  ///< port 0 entries dropped, repeats dropped
};

struct scrape_entry {
  std::int32_t seeders = 0, completed = 0, leechers = 0;
  friend bool operator==(const scrape_entry&, const scrape_entry&) = default;
};

struct scrape_reply {
  std::vector<scrape_entry> entries;  ///< in the order of the request's hashes
};

/// The tracker refused (action 3): its message, made printable and bounded.
struct error_reply {
  std::string message;
};

using reply = std::variant<connect_reply, announce_reply, scrape_reply, error_reply>;

/// What the decoder expects: the request it answers.
struct expectation {
  action request = action::connect;
  std::uint32_t transaction_id = 0;
  family peers = family::v4;       ///< for announce replies
  std::size_t scrape_count = 0;    ///< for scrape replies: how many hashes were asked
};

/// Decodes one datagram as the answer to `expected`. An error reply (action
/// 3) with the right transaction id is a successful decode. Fails with
/// errc::tracker_reply and a reason naming the offence on: a datagram shorter
/// than its action needs or longer than max_datagram, a transaction id or an
/// action that does not answer the request, a length that is not the
/// action's fixed size (connect), not the header plus whole peer entries
/// (announce), or not one entry per hash asked (scrape).
result<reply> decode_reply(std::span<const std::uint8_t> datagram, const expectation& expected);

/// The transaction id of a datagram of at least 8 bytes, else nothing: lets
/// a caller tell a stray reply from a garbled one.
std::optional<std::uint32_t> transaction_id_of(std::span<const std::uint8_t> datagram);

} // namespace actorrent::udp_tracker
