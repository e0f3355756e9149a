// A simulated DHT (tools/sim/dht_swarm): the real routing table, responder,
// lookup and codec on 1,000 and 10,000 nodes. A lookup finds what was announced in
// O(log n) rounds, and hostile nodes (silent, garbage, only themselves)
// slow it without stopping it.
#include "dht_swarm.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <iostream>

using namespace actorrent::sim;

namespace {

dht_swarm_report check_converges(const dht_swarm_config& cfg) {
  auto r = run_dht_swarm(cfg);
  write_dht_summary(std::cout, cfg, r);
  REQUIRE(r.finds.size() == cfg.lookups);
  CHECK(r.found() == cfg.lookups);
  // Kademlia halves the distance (at least) with each round: log2 n bounds
  // the referral chain of every lookup.
  CHECK(static_cast<double>(r.max_rounds()) <= std::ceil(std::log2(static_cast<double>(cfg.nodes))));
  CHECK(r.mean_table_size >= 16);
  return r;
}

} // namespace

TEST_CASE("1000 nodes: every lookup finds the announced peer within log2 n rounds, hostile nodes or not") {
  dht_swarm_config cfg;
  cfg.nodes = 1000;
  cfg.seed = 3;
  cfg.lookups = 10;
  auto honest = check_converges(cfg);
  CHECK(honest.hostile == 0);

  // A quarter of the nodes turn hostile after the network formed: silent
  // (as nodes that left), garbage, or naming only themselves.
  cfg.silent = 0.10;
  cfg.garbage = 0.08;
  cfg.self_only = 0.07;
  auto hostile = check_converges(cfg);
  CHECK(hostile.hostile > 150);
  // Slower (queries time out, slots wait), not stopped.
  CHECK(hostile.mean_seconds() > honest.mean_seconds());
}

TEST_CASE("ten thousand nodes: the same, at the size where log n starts to show") {
  dht_swarm_config cfg;
  cfg.nodes = 10000;
  cfg.seed = 1;
  cfg.lookups = 10;
  auto honest = check_converges(cfg);
  cfg.silent = 0.10;
  cfg.garbage = 0.08;
  cfg.self_only = 0.07;
  auto hostile = check_converges(cfg);
  CHECK(hostile.hostile > 1500);
  CHECK(hostile.mean_seconds() > honest.mean_seconds());
  // More nodes, a longer way: the mean referral chain grows with n.
  dht_swarm_config small = cfg;
  small.nodes = 100;
  small.silent = small.garbage = small.self_only = 0;
  CHECK(run_dht_swarm(small).mean_rounds() < honest.mean_rounds());
}
