// The answering side of a DHT node (BEP 5): what to reply to each query.
// ping answers with our id; find_node with the 8 closest nodes we know;
// get_peers with the peers announced to us, the closest nodes and a write
// token; announce_peer stores the peer when the token is good. Every reply
// names the address the query came from (BEP 42 "ip"), which is how a node
// learns its external address. Queries over the per-address rate are
// dropped unanswered; methods we do not know get error 204.
#pragma once

#include <cstdint>
#include <optional>

#include "dht_peer_store.hpp"
#include "dht_routing_table.hpp"
#include "dht_source_limiter.hpp"
#include "dht_tokens.hpp"
#include "krpc.hpp"

namespace actorrent::dht {

class responder {
public:
  struct config {
    std::size_t max_values = 50;  ///< peers per get_peers reply (fits one datagram)
    source_limiter::config rate{};
    peer_store::config store{};
  };

  struct outcome {
    std::optional<krpc::message> reply;  ///< nothing: dropped (rate limit)
    /// The sender is not in the table and there is room for it: ping it,
    /// and let it in if it answers (a query alone does not prove its
    /// address). Never set for a sender the table would not take, so two
    /// nodes with full tables cannot ping each other forever.
    bool ping_sender = false;
  };

  explicit responder(std::uint64_t seed) : responder(seed, config{}) {}
  responder(std::uint64_t seed, config cfg);

  outcome on_query(routing_table& table, const krpc::query& q, const endpoint& from, time_point now);

  peer_store& store() noexcept { return store_; }

private:
  config cfg_;
  token_issuer tokens_;
  peer_store store_;
  source_limiter limiter_;
};

} // namespace actorrent::dht
