// One DHT node as a whole (dht::node) on a fake clock, its datagrams
// carried between nodes by the test: joining by a ping, lookups, announces,
// and what it does with stray, forged and garbled datagrams.
#include "dht_node.hpp"

#include <doctest/doctest.h>

#include <map>
#include <memory>

using namespace actorrent;
using namespace actorrent::dht;
using namespace std::chrono_literals;

namespace {

struct mesh {
  std::map<endpoint, std::unique_ptr<node>> nodes;
  time_point now = time_point{} + 1h;
  std::size_t carried = 0;

  node& add(std::uint32_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    endpoint at = endpoint::from_number(0x7f000100u + n, 6881);
    return *(nodes[at] = std::make_unique<node>(random_id(rng), seed));
  }
  endpoint address_of(const node& n) const {
    for (const auto& [a, p] : nodes)
      if (p.get() == &n) return a;
    FAIL("no such node");
    return {};
  }
  // Carries datagrams until none are left (each hop 10 ms), ticking every node.
  void settle() {
    for (int round = 0; round < 1000; ++round) {
      bool any = false;
      for (auto& [from, n] : nodes) {
        for (auto& d : n->take_outgoing()) {
          any = true;
          ++carried;
          auto to = nodes.find(d.to);
          if (to != nodes.end()) to->second->on_datagram(from, d.bytes, now);
        }
      }
      now += 10ms;
      for (auto& [a, n] : nodes) n->tick(now);
      if (!any) return;
    }
    FAIL("datagrams kept flowing");
  }
};

} // namespace

TEST_CASE("joining: a ping by address lets both nodes into each other's table") {
  mesh m;
  node& a = m.add(1, 1);
  node& b = m.add(2, 2);
  a.ping(m.address_of(b), m.now);
  m.settle();
  CHECK(a.table().find(b.id()) != nullptr);
  CHECK(b.table().find(a.id()) != nullptr);
  // A ping, its answer, the ping back and its answer: nothing more.
  CHECK(m.carried == 4);
}

TEST_CASE("a network of 40 nodes: announce, then another node finds the peer") {
  mesh m;
  std::vector<node*> all;
  for (std::uint32_t i = 0; i < 40; ++i) all.push_back(&m.add(i, 100 + i));
  for (std::size_t i = 1; i < all.size(); ++i) {
    all[i]->ping(m.address_of(*all[0]), m.now);
    m.settle();
    CHECK(all[i]->start_lookup(lookup::kind::find_node, all[i]->id(), m.now, nullptr));
    m.settle();
  }
  std::mt19937_64 rng(9);
  node_id info_hash = random_id(rng);
  node& seeder = *all[5];
  bool announced = false;
  seeder.start_lookup(lookup::kind::get_peers, info_hash, m.now, [&](const lookup& l) {
    CHECK(l.announce_targets().size() == 8);
    seeder.announce(l, info_hash, 0, m.now); // implied port: the one we send from
    announced = true;
  });
  m.settle();
  REQUIRE(announced);
  std::vector<endpoint> found;
  all[33]->start_lookup(lookup::kind::get_peers, info_hash, m.now, [&](const lookup& l) { found = l.peers(); });
  m.settle();
  REQUIRE(found.size() == 1);
  CHECK(found[0] == m.address_of(seeder));
}

TEST_CASE("stray, forged and garbled datagrams are counted and change nothing") {
  mesh m;
  node& a = m.add(1, 1);
  node& b = m.add(2, 2);
  a.ping(m.address_of(b), m.now);
  auto out = a.take_outgoing();
  REQUIRE(out.size() == 1);
  auto q = krpc::decode(out[0].bytes);
  REQUIRE(q);
  krpc::response r;
  r.transaction_id = std::get<krpc::query>(*q).transaction_id;
  r.sender = b.id();
  // The right transaction id from the wrong address: not the answer.
  a.on_datagram(endpoint::from_number(0x7f0001ffu, 6881), krpc::encode(r), m.now);
  CHECK(a.stats().unmatched == 1);
  CHECK(a.table().size() == 0);
  // Bytes that are not KRPC: counted, not answered.
  a.on_datagram(m.address_of(b), "not bencode", m.now);
  CHECK(a.stats().malformed == 1);
  CHECK(a.take_outgoing().empty());
  // The real answer still counts.
  a.on_datagram(m.address_of(b), krpc::encode(r), m.now);
  CHECK(a.table().find(b.id()) != nullptr);
  // ...once.
  a.on_datagram(m.address_of(b), krpc::encode(r), m.now);
  CHECK(a.stats().unmatched == 2);
}

TEST_CASE("unanswered queries time out and count against the node") {
  mesh m;
  node& a = m.add(1, 1);
  node& b = m.add(2, 2);
  a.ping(m.address_of(b), m.now);
  m.settle();
  REQUIRE(a.table().find(b.id()) != nullptr);
  const node_id gone = b.id();
  m.nodes.erase(m.address_of(b)); // b leaves without a word
  CHECK(a.start_lookup(lookup::kind::find_node, a.id(), m.now, nullptr));
  CHECK(a.wake() == m.now + 1s); // the lookup's slot frees first
  a.take_outgoing();
  a.tick(m.now + 5s);
  CHECK(a.stats().timeouts == 1);
  CHECK(a.table().find(gone)->failures == 1);
  CHECK(a.wake() == time_point::max());
}

TEST_CASE("bounded: lookups at a time") {
  node::config cfg;
  cfg.max_lookups = 2;
  node a(node_id{}, 1, cfg);
  auto now = time_point{} + 1h;
  // With an empty table each lookup ends at once; a slow one holds its place.
  a.table().node_replied({node_id::from_raw("abcdefghij0123456789"), endpoint{{127, 0, 0, 2}, 1}}, now);
  CHECK(a.start_lookup(lookup::kind::find_node, a.id(), now, nullptr));
  CHECK(a.start_lookup(lookup::kind::find_node, a.id(), now, nullptr));
  CHECK_FALSE(a.start_lookup(lookup::kind::find_node, a.id(), now, nullptr));
  CHECK(a.lookups_running() == 2);
}
