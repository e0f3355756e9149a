// One DHT node as a whole (BEP 5): the routing table, the answering side,
// the queries in flight and the lookups, over datagrams. No socket and no
// clock: the owner passes each datagram that arrives and the time, sends
// what take_outgoing() returns, and calls tick() at wake() and maintain()
// about once a minute. The DHT actor drives one over a UDP socket; the
// simulation drives thousands over an event queue.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dht_lookup.hpp"
#include "dht_responder.hpp"
#include "dht_routing_table.hpp"
#include "krpc.hpp"

namespace actorrent::dht {

class node {
public:
  struct config {
    std::chrono::milliseconds query_timeout{5000};
    std::size_t max_pending = 2048;   ///< queries in flight; more are not sent
    std::size_t max_lookups = 64;     ///< lookups at a time
    responder::config answers{};
    lookup::config lookups{};
  };

  struct datagram {
    endpoint to;
    std::string bytes;
  };

  struct counters {
    std::size_t sent = 0, received = 0, malformed = 0, unmatched = 0, timeouts = 0;
  };

  using lookup_done = std::function<void(const lookup&)>;

  /// `seed` drives the transaction ids, tokens and refresh targets.
  node(node_id id, std::uint64_t seed) : node(id, seed, config{}) {}
  node(node_id id, std::uint64_t seed, config cfg);

  const node_id& id() const noexcept { return table_.self(); }
  routing_table& table() noexcept { return table_; }
  const routing_table& table() const noexcept { return table_; }
  peer_store& store() noexcept { return answers_.store(); }

  /// A datagram from `from`: a query is answered, a response or error goes
  /// to the query it answers (matched by transaction id and address),
  /// anything else is counted and dropped.
  void on_datagram(const endpoint& from, std::string_view bytes, time_point now);

  /// Pings an address whose id we do not know (a bootstrap node, a peer's
  /// PORT message); it enters the table when it answers.
  void ping(const endpoint& to, time_point now);

  /// Starts an iterative lookup from the table's closest nodes; `done` runs
  /// once when it ends. Returns false (and `done` never runs) when
  /// max_lookups are running.
  bool start_lookup(lookup::kind what, const node_id& target, time_point now, lookup_done done);

  /// Sends announce_peer for `info_hash` to the nodes of a finished
  /// get_peers lookup that gave tokens. `port` 0: the port the datagram
  /// leaves from (implied_port).
  void announce(const lookup& finished, const node_id& info_hash, std::uint16_t port, time_point now);

  /// Times out queries and moves lookups on.
  void tick(time_point now);
  /// When tick() has work.
  time_point wake() const;
  /// Bucket refreshes (a find_node into each bucket untouched for 15
  /// minutes) and pings of questionable nodes a newcomer waits for.
  void maintain(time_point now);

  /// The datagrams to send, oldest first.
  std::vector<datagram> take_outgoing();

  const counters& stats() const noexcept { return stats_; }
  std::size_t lookups_running() const noexcept { return lookups_.size(); }

private:
  struct transaction {
    krpc::node_info to;        ///< id all zero: not known yet (ping by address)
    bool id_known = true;
    std::uint32_t lookup = 0;  ///< 0: not part of a lookup
    time_point sent;
  };
  struct running {
    lookup search;
    lookup_done done;
  };

  void send_query(const krpc::node_info& to, bool id_known, krpc::query q, std::uint32_t lookup_id, time_point now);
  void answer(const krpc::query& q, const endpoint& from, time_point now);
  void settle(const endpoint& from, const std::string& tid, const krpc::response* r, time_point now);
  void pump(std::uint32_t id, time_point now);
  void finish_done();

  config cfg_;
  routing_table table_;
  responder answers_;
  std::mt19937_64 rng_;
  std::uint16_t next_tid_;
  std::unordered_map<std::uint16_t, transaction> pending_;
  std::map<std::uint32_t, running> lookups_;
  std::vector<running> finished_;
  std::uint32_t next_lookup_ = 1;
  std::vector<datagram> out_;
  counters stats_;
};

} // namespace actorrent::dht
