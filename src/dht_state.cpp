#include "dht_state.hpp"

#include "actorrent/bencode.hpp"

#include <algorithm>

namespace actorrent::dht {

namespace {

constexpr std::size_t compact_node = 26;

error bad(const std::string& why) { return error{errc::invalid_argument, "DHT state: " + why}; }

} // namespace

std::string encode_state(const saved_state& s) {
  // Not krpc::encode_compact_nodes: a datagram's bound is not the file's.
  std::string nodes;
  for (std::size_t i = 0; i < s.nodes.size() && i < max_saved_nodes; ++i) {
    nodes += s.nodes[i].id.raw();
    nodes += krpc::encode_compact_endpoint(s.nodes[i].address);
  }
  bencode::dict d;
  d.emplace_back("id", std::string(s.id.raw()));
  d.emplace_back("nodes", std::move(nodes));
  return bencode::encode(bencode::value(std::move(d)));
}

result<saved_state> decode_state(std::string_view bytes) {
  if (bytes.size() > max_state_bytes) return bad("file larger than " + std::to_string(max_state_bytes) + " bytes");
  bencode::limits lim;
  lim.max_items = 16;
  lim.max_depth = 2;
  auto v = bencode::decode(bytes, lim);
  if (!v) return bad(v.err().message);
  if (!v->is_dict()) return bad("not a dictionary");
  const auto* id = v->find("id");
  const auto* nodes = v->find("nodes");
  if (!id || !id->as_string() || id->as_string()->size() != 20) return bad("no 20-byte id");
  if (!nodes || !nodes->as_string() || nodes->as_string()->size() % compact_node != 0)
    return bad("nodes are not 26-byte records");
  const std::string& raw = *nodes->as_string();
  if (raw.size() / compact_node > max_saved_nodes) return bad("more than " + std::to_string(max_saved_nodes) + " nodes");
  saved_state out;
  out.id = node_id::from_raw(*id->as_string());
  for (std::size_t at = 0; at < raw.size(); at += compact_node) {
    krpc::node_info n;
    n.id = node_id::from_raw(std::string_view(raw).substr(at, 20));
    for (std::size_t i = 0; i < 4; ++i) n.address.ip[i] = static_cast<std::uint8_t>(raw[at + 20 + i]);
    n.address.port = static_cast<std::uint16_t>((static_cast<std::uint8_t>(raw[at + 24]) << 8) |
                                                static_cast<std::uint8_t>(raw[at + 25]));
    if (n.address.port != 0) out.nodes.push_back(n);
  }
  return out;
}

} // namespace actorrent::dht
