// The iterative lookup on a fake clock against a small network of real
// routing tables and responders (every message through the KRPC codec):
// it finds the true closest nodes, collects peers and tokens, and nodes
// that never answer, answer garbage or lie slow it but do not stop it.
#include "dht_lookup.hpp"
#include "dht_responder.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <memory>

using namespace actorrent;
using namespace actorrent::dht;
using namespace std::chrono_literals;

namespace {

const time_point t0 = time_point{} + 1h;

enum class behaviour { honest, silent, garbage, only_self };

struct net_node {
  krpc::node_info info;
  routing_table table;
  responder answers;
  behaviour how = behaviour::honest;
  net_node(krpc::node_info i, std::uint64_t seed) : info(i), table(i.id), answers(seed) {}
};

struct network {
  std::vector<std::unique_ptr<net_node>> nodes;
  std::map<endpoint, net_node*> by_address;

  explicit network(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    for (std::size_t i = 0; i < n; ++i) {
      krpc::node_info info{random_id(rng), endpoint::from_number(0x0a000000u + static_cast<std::uint32_t>(i), 6881)};
      nodes.push_back(std::make_unique<net_node>(info, rng()));
      by_address[info.address] = nodes.back().get();
    }
    for (auto& a : nodes)
      for (auto& b : nodes)
        if (a != b) a->table.node_replied(b->info, t0);
  }

  // Asks `to` the query `q` (through the codec) and returns the raw answer;
  // nothing when the node stays silent.
  std::optional<std::string> ask(const endpoint& from, const endpoint& to, const krpc::query& q, time_point now) {
    net_node* n = by_address.at(to);
    auto decoded = krpc::decode(krpc::encode(q));
    REQUIRE(decoded);
    const auto& query = std::get<krpc::query>(*decoded);
    switch (n->how) {
      case behaviour::silent: return std::nullopt;
      case behaviour::garbage: return std::string("d1:t2:zz1:y1:re");
      case behaviour::only_self: {
        krpc::response r;
        r.transaction_id = query.transaction_id;
        r.sender = n->info.id;
        r.nodes = {n->info};
        r.token = "tok";
        return krpc::encode(r);
      }
      case behaviour::honest: break;
    }
    auto out = n->answers.on_query(n->table, query, from, now);
    if (!out.reply) return std::nullopt;
    return krpc::encode(*out.reply);
  }

  std::vector<krpc::node_info> true_closest(const node_id& target, std::size_t k, bool honest_only) const {
    std::vector<krpc::node_info> all;
    for (const auto& n : nodes)
      if (!honest_only || n->how == behaviour::honest) all.push_back(n->info);
    std::sort(all.begin(), all.end(), [&](const auto& a, const auto& b) { return closer(target, a.id, b.id); });
    all.resize(std::min(k, all.size()));
    return all;
  }
};

// Runs `l` to its end; answers arrive 20 ms after their query.
void drive(lookup& l, network& net, const endpoint& self, const node_id& self_id, time_point& now) {
  for (int step = 0; step < 10000 && !l.done(); ++step) {
    auto to_ask = l.next(now);
    for (const auto& n : to_ask) {
      krpc::query q;
      q.transaction_id = "t";
      q.sender = self_id;
      q.name = l.what() == lookup::kind::get_peers ? krpc::method::get_peers : krpc::method::find_node;
      q.target = l.target();
      auto answer = net.ask(self, n.address, q, now);
      if (!answer) continue;
      auto m = krpc::decode(*answer);
      if (m && std::holds_alternative<krpc::response>(*m))
        l.on_response(n.address, std::get<krpc::response>(*m), now + 20ms);
      else
        l.on_failure(n.address, now + 20ms);
    }
    if (to_ask.empty()) now = std::max(now + 20ms, std::min(l.wake(), now + 1s));
    else now += 20ms;
  }
  REQUIRE(l.done());
}

} // namespace

TEST_CASE("find_node reaches the true closest nodes") {
  network net(300, 11);
  std::mt19937_64 rng(99);
  for (int trial = 0; trial < 5; ++trial) {
    node_id target = random_id(rng);
    auto& me = *net.nodes[static_cast<std::size_t>(trial)];
    // Start from three arbitrary nodes, not the table: every step is a referral.
    std::vector<krpc::node_info> start{net.nodes[100]->info, net.nodes[200]->info, net.nodes[250]->info};
    time_point now = t0;
    lookup l(lookup::kind::find_node, target, start, now);
    drive(l, net, me.info.address, me.info.id, now);
    auto want = net.true_closest(target, 8, false);
    auto got = l.closest();
    // The asker itself answers too (it is in the network): compare as sets.
    CHECK(got == want);
    CHECK(l.counters().rounds >= 1);
    CHECK(l.counters().queries < 60);
  }
}

TEST_CASE("get_peers finds announced peers and the tokens to announce with") {
  network net(200, 12);
  std::mt19937_64 rng(5);
  node_id info_hash = random_id(rng);
  auto& seeder = *net.nodes[0];
  time_point now = t0;
  lookup first(lookup::kind::get_peers, info_hash, seeder.table.closest(info_hash, 8), now);
  drive(first, net, seeder.info.address, seeder.info.id, now);
  CHECK(first.peers().empty());
  auto targets = first.announce_targets();
  REQUIRE(targets.size() == 8);
  for (const auto& t : targets) {
    krpc::query q;
    q.transaction_id = "a";
    q.sender = seeder.info.id;
    q.name = krpc::method::announce_peer;
    q.target = info_hash;
    q.port = 51413;
    q.token = t.token;
    auto answer = net.ask(seeder.info.address, t.node.address, q, now);
    REQUIRE(answer);
    auto m = krpc::decode(*answer);
    REQUIRE(m);
    CHECK(std::holds_alternative<krpc::response>(*m));
  }
  auto& leecher = *net.nodes[150];
  lookup second(lookup::kind::get_peers, info_hash, leecher.table.closest(random_id(rng), 3), now);
  drive(second, net, leecher.info.address, leecher.info.id, now);
  REQUIRE(second.peers().size() == 1);
  CHECK(second.peers()[0] == endpoint{seeder.info.address.ip, 51413});
}

TEST_CASE("silent, garbage and self-only nodes slow a lookup but it still ends at the honest closest") {
  network net(300, 13);
  std::mt19937_64 rng(77);
  for (std::size_t i = 0; i < net.nodes.size(); ++i)
    if (i % 4 == 1) net.nodes[i]->how = behaviour::silent;
    else if (i % 4 == 2) net.nodes[i]->how = i % 8 == 2 ? behaviour::garbage : behaviour::only_self;
  node_id target = random_id(rng);
  auto& me = *net.nodes[0];
  time_point now = t0;
  lookup l(lookup::kind::find_node, target, me.table.closest(random_id(rng), 8), now);
  drive(l, net, me.info.address, me.info.id, now);
  auto want = net.true_closest(target, 8, true);
  // Nodes that lie sit among the closest and take places in the final
  // eight; the closest honest node and most of the others answered.
  auto got = l.answered();
  std::size_t reached = 0;
  for (const auto& w : want) reached += std::find(got.begin(), got.end(), w) != got.end() ? 1 : 0;
  CHECK(std::find(got.begin(), got.end(), want[0]) != got.end());
  CHECK(reached >= 4);
  CHECK(l.counters().failures > 0);
  CHECK(now - t0 < 60s);
}

TEST_CASE("bounded: a lookup ends after max_queries or max_time whatever the nodes do") {
  network net(100, 14);
  for (auto& n : net.nodes) n->how = behaviour::silent;
  auto& me = *net.nodes[0];
  time_point now = t0;
  lookup::config cfg;
  cfg.max_time = 8s;
  lookup l(lookup::kind::find_node, random_id(*std::make_unique<std::mt19937_64>(1)), me.table.closest(me.info.id, 50),
           now, cfg);
  drive(l, net, me.info.address, me.info.id, now);
  CHECK(now - t0 <= 9s);
  // With alpha = 3 and a slot freed after a second, about 3 new queries a second.
  CHECK(l.counters().queries <= 3 * 9 + 3);

  cfg = {};
  cfg.max_queries = 5;
  lookup capped(lookup::kind::find_node, me.info.id, me.table.closest(me.info.id, 50), now, cfg);
  drive(capped, net, me.info.address, me.info.id, now);
  CHECK(capped.counters().queries == 5);
}

TEST_CASE("answers from addresses we did not ask change nothing") {
  network net(20, 15);
  auto& me = *net.nodes[0];
  time_point now = t0;
  lookup l(lookup::kind::get_peers, me.info.id, {net.nodes[1]->info}, now);
  auto asked = l.next(now);
  REQUIRE(asked.size() == 1);
  krpc::response forged;
  forged.sender = net.nodes[2]->info.id;
  forged.values = {endpoint{{6, 6, 6, 6}, 666}};
  CHECK_FALSE(l.on_response(net.nodes[2]->info.address, forged, now));
  CHECK(l.peers().empty());
  CHECK(l.on_response(net.nodes[1]->info.address, forged, now));
  CHECK(l.peers().size() == 1);
  // The same node cannot answer twice.
  CHECK_FALSE(l.on_response(net.nodes[1]->info.address, forged, now));
  // Our own id, listed by others, is never asked.
  lookup::config cfg;
  cfg.self = me.info.id;
  lookup mine(lookup::kind::find_node, net.nodes[3]->info.id, {net.nodes[1]->info}, now, cfg);
  REQUIRE(mine.next(now).size() == 1);
  krpc::response lists_us;
  lists_us.sender = net.nodes[1]->info.id;
  lists_us.nodes = {me.info, net.nodes[3]->info};
  CHECK(mine.on_response(net.nodes[1]->info.address, lists_us, now));
  auto asked_next = mine.next(now);
  REQUIRE(asked_next.size() == 1);
  CHECK(asked_next[0] == net.nodes[3]->info);
  // An empty start: done at once.
  lookup none(lookup::kind::find_node, me.info.id, {}, now);
  CHECK(none.done());
}
