// A simulated DHT: thousands of nodes in one process, each with the real
// routing table, responder and lookup of src/, every message encoded and
// decoded by the real KRPC codec, on a simulated clock driven by a seeded
// event queue (so a run is deterministic and takes no real time to wait).
//
// The network forms as a real one does: each node joins by a find_node for
// its own id through the first node, and pings the nodes that query it so
// they can enter its table. Then some nodes turn hostile (silent, as nodes
// that left; garbage; answering with only themselves) and lookups run: a
// node announces an info-hash (get_peers, then announce_peer to the closest
// nodes that gave tokens) and another finds it (get_peers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <vector>

namespace actorrent::sim {

struct dht_swarm_config {
  std::size_t nodes = 1000;
  std::uint64_t seed = 1;
  std::size_t lookups = 20;      ///< announce + find pairs after the network formed
  double silent = 0;             ///< fractions of nodes that turn hostile before the lookups
  double garbage = 0;
  double self_only = 0;
};

struct dht_lookup_result {
  bool found = false;            ///< the finder got the announcer's address
  std::size_t rounds = 0;        ///< longest referral chain the find followed
  std::size_t queries = 0;       ///< queries the find sent
  std::size_t failures = 0;
  double seconds = 0;            ///< simulated time the find took
};

struct dht_swarm_report {
  std::size_t nodes = 0;
  std::size_t hostile = 0;
  double mean_table_size = 0;
  std::size_t join_messages = 0;   ///< datagrams while the network formed
  std::vector<dht_lookup_result> finds;
  std::size_t found() const;
  std::size_t max_rounds() const;
  double mean_rounds() const;
  double mean_queries() const;
  double mean_seconds() const;
};

dht_swarm_report run_dht_swarm(const dht_swarm_config& cfg);

/// One line for people, and JSON for tests.
void write_dht_summary(std::ostream& out, const dht_swarm_config& cfg, const dht_swarm_report& r);
void write_dht_json(std::ostream& out, const dht_swarm_config& cfg, const dht_swarm_report& r);

} // namespace actorrent::sim
