#include "dht_responder.hpp"

namespace actorrent::dht {

responder::responder(std::uint64_t seed, config cfg)
  : cfg_(cfg), tokens_(seed), store_(cfg.store), limiter_(cfg.rate) {}

responder::outcome responder::on_query(routing_table& table, const krpc::query& q, const endpoint& from,
                                       time_point now) {
  outcome out;
  if (!limiter_.allow(from.ip_number(), now)) return out;
  krpc::node_info sender{q.sender, from};
  if (!q.read_only && !table.node_queried(sender, now) && table.has_room_for(sender, now))
    out.ping_sender = true;

  krpc::response r;
  r.transaction_id = q.transaction_id;
  r.sender = table.self();
  r.requester = from;
  switch (q.name) {
    case krpc::method::ping:
      break;
    case krpc::method::find_node:
      r.nodes = table.closest(q.target, 8);
      break;
    case krpc::method::get_peers:
      r.values = store_.peers(q.target, cfg_.max_values, now);
      r.nodes = table.closest(q.target, 8);
      r.token = tokens_.issue(from.ip, now);
      break;
    case krpc::method::announce_peer: {
      if (!tokens_.valid(q.token, from.ip, now)) {
        out.reply = krpc::error_message{q.transaction_id, krpc::protocol_error, "bad token"};
        return out;
      }
      endpoint peer{from.ip, q.implied_port ? from.port : q.port};
      if (!store_.announce(q.target, peer, now)) {
        out.reply = krpc::error_message{q.transaction_id, krpc::server_error, "peer store full"};
        return out;
      }
      break;
    }
    case krpc::method::unknown:
      out.reply = krpc::error_message{q.transaction_id, krpc::method_unknown, "method unknown"};
      return out;
  }
  out.reply = std::move(r);
  return out;
}

} // namespace actorrent::dht
