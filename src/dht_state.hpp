// What a DHT node keeps across runs (DIR/.actorrent/dht.dat): its id and
// the good nodes of its table, so that a restart joins through them
// without any bootstrap node. A bencoded dictionary:
//   d 2:id 20:<node id> 5:nodes <26 bytes per node: id, IPv4, port> e
// The file is ours but may be damaged or planted: decoding is strict and
// bounded, and a bad file is an error the caller treats as "no state".
#pragma once

#include "actorrent/error.hpp"
#include "krpc.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace actorrent::dht {

struct saved_state {
  node_id id;
  std::vector<krpc::node_info> nodes;
};

/// More nodes than this are not saved, and a file with more is refused.
inline constexpr std::size_t max_saved_nodes = 1000;
/// A larger file is refused before it is parsed.
inline constexpr std::size_t max_state_bytes = 64 * 1024;

/// The file's bytes; nodes past max_saved_nodes are left out.
std::string encode_state(const saved_state& s);
/// errc::invalid_argument for anything but what encode_state writes
/// (unknown keys aside); nodes with port 0 are dropped.
result<saved_state> decode_state(std::string_view bytes);

} // namespace actorrent::dht
