// KRPC (BEP 5): the bencoded messages DHT nodes exchange over UDP. Queries
// (ping, find_node, get_peers, announce_peer), responses and errors, with
// compact node info (26 bytes: id, IPv4, port) and compact peers (6 bytes).
//
// The decoder takes datagrams from anyone: it is strict (canonical bencode,
// every field of the right type and size) and bounded (datagram size,
// nesting, item count, string lengths, entry counts); unknown keys are
// ignored, as BEP 5 asks so the protocol can grow. Everything here is a
// pure function of its arguments.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "actorrent/error.hpp"
#include "dht_node_id.hpp"

namespace actorrent::krpc {

/// A datagram longer than this is refused unread: a response with the
/// 8 closest nodes and max_values peers is well under 1500 bytes.
inline constexpr std::size_t max_datagram = 4096;
/// Transaction ids are opaque, but short (libtorrent sends 2 bytes).
inline constexpr std::size_t max_transaction_id = 32;
inline constexpr std::size_t max_token = 64;
/// Peers taken from one get_peers response.
inline constexpr std::size_t max_values = 200;
/// Nodes taken from one response.
inline constexpr std::size_t max_nodes = 64;
inline constexpr std::size_t max_error_text = 256;
/// Method names longer than this are not methods of any BEP.
inline constexpr std::size_t max_method_name = 32;

/// A node of the DHT: its id and where it listens.
struct node_info {
  dht::node_id id;
  dht::endpoint address;
  friend bool operator==(const node_info&, const node_info&) = default;
};

enum class method { ping, find_node, get_peers, announce_peer, unknown };

/// "ping", "find_node", ... ("unknown" for method::unknown).
const char* to_string(method m) noexcept;

struct query {
  std::string transaction_id;
  method name = method::ping;
  dht::node_id sender;       ///< "id"
  /// find_node: "target"; get_peers and announce_peer: "info_hash".
  dht::node_id target;
  /// announce_peer only.
  std::uint16_t port = 0;
  bool implied_port = false; ///< take the port the datagram came from
  std::string token;
  /// BEP 43: the sender does not answer queries; keep it out of routing tables.
  bool read_only = false;
  friend bool operator==(const query&, const query&) = default;
};

struct response {
  std::string transaction_id;
  dht::node_id sender;
  std::vector<node_info> nodes;          ///< "nodes", port-0 entries dropped
  std::vector<dht::endpoint> values;     ///< "values" (get_peers), port-0 entries dropped
  std::optional<std::string> token;      ///< get_peers
  /// BEP 42: the address the responder saw our query come from.
  std::optional<dht::endpoint> requester;
  friend bool operator==(const response&, const response&) = default;
};

/// BEP 5 error codes.
enum error_code : std::int64_t {
  generic_error = 201,
  server_error = 202,
  protocol_error = 203,
  method_unknown = 204,
};

struct error_message {
  std::string transaction_id;
  std::int64_t code = generic_error;
  std::string text;  ///< made printable and bounded when decoded
  friend bool operator==(const error_message&, const error_message&) = default;
};

using message = std::variant<query, response, error_message>;

/// Decodes one datagram. Errors are errc::krpc_message (errc::bencode_* when
/// it is not canonical bencode), naming the offence. A query of a method we
/// do not know decodes as method::unknown, so it can be answered with error
/// 204, as long as its id is well formed.
result<message> decode(std::string_view datagram);

/// The transaction id of a datagram that is at least a bencoded dict with a
/// "t" string, so even a query we refuse can be answered with an error.
std::optional<std::string> transaction_id_of(std::string_view datagram);

/// Canonical bencode of `m` (at most max_* entries are written).
std::string encode(const message& m);

/// 26 bytes per node.
std::string encode_compact_nodes(const std::vector<node_info>& nodes);
/// 6 bytes: IPv4 and port, big-endian.
std::string encode_compact_endpoint(const dht::endpoint& e);

} // namespace actorrent::krpc
