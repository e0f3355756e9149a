// The routing table (BEP 5 k-buckets): splitting only where our id falls,
// good/questionable/bad nodes, the replacement cache, refresh targets.
#include "dht_routing_table.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>

using namespace actorrent;
using namespace actorrent::dht;
using namespace std::chrono_literals;

namespace {

const time_point t0 = time_point{} + 1h;

endpoint addr(std::uint32_t n) { return endpoint::from_number(0x7f000000u + n, 6881); }

// A node sharing exactly `prefix` leading bits with `self`.
krpc::node_info node_at(const node_id& self, int prefix, std::uint32_t n, std::mt19937_64& rng) {
  return {random_id_with_prefix(self, prefix, rng), addr(n)};
}

} // namespace

TEST_CASE("only the bucket holding our id splits; far buckets stay at k") {
  std::mt19937_64 rng(1);
  node_id self = random_id(rng);
  routing_table table(self);
  // 40 nodes in the far half (prefix 0): one bucket's worth kept.
  for (std::uint32_t i = 0; i < 40; ++i) table.node_replied(node_at(self, 0, i, rng), t0);
  CHECK(table.size() == 8);
  // Nodes ever closer: each prefix length gets its own bucket.
  for (int p = 1; p < 12; ++p)
    for (std::uint32_t i = 0; i < 10; ++i) table.node_replied(node_at(self, p, 1000u * p + i, rng), t0);
  CHECK(table.bucket_count() >= 12);
  CHECK(table.size() == 8 * 12);
  // Our own id never enters.
  CHECK_FALSE(table.node_replied({self, addr(99999)}, t0));

  auto all = table.nodes();
  std::map<int, int> per_prefix;
  for (const auto& n : all) ++per_prefix[std::min(common_prefix_bits(self, n.id), 11)];
  for (int p = 0; p < 12; ++p) CHECK(per_prefix[p] == 8);
}

TEST_CASE("closest: sorted by XOR distance, bad nodes left out") {
  std::mt19937_64 rng(2);
  node_id self = random_id(rng);
  routing_table table(self);
  std::vector<krpc::node_info> in;
  for (std::uint32_t i = 0; i < 200; ++i) {
    auto n = krpc::node_info{random_id(rng), addr(i)};
    if (table.node_replied(n, t0)) in.push_back(n);
  }
  node_id target = random_id(rng);
  auto got = table.closest(target, 8);
  REQUIRE(got.size() == 8);
  std::sort(in.begin(), in.end(), [&](const auto& a, const auto& b) { return closer(target, a.id, b.id); });
  for (std::size_t i = 0; i < 8; ++i) CHECK(got[i] == in[i]);
  table.node_failed(got[0], t0 + 1s);
  CHECK(table.closest(target, 8)[0] == got[0]); // one failure: questionable, still listed
  table.node_failed(got[0], t0 + 2s);
  CHECK(table.closest(target, 8)[0] == got[1]); // two: bad
}

TEST_CASE("a full bucket: newcomers wait, questionable nodes are offered for a ping, failures make room") {
  std::mt19937_64 rng(3);
  node_id self = random_id(rng);
  routing_table table(self);
  // Force splits first so bucket 0 is a far bucket that cannot split again.
  for (std::uint32_t i = 0; i < 8; ++i) table.node_replied(node_at(self, 5, 500 + i, rng), t0);
  table.node_replied(node_at(self, 6, 600, rng), t0);
  std::vector<krpc::node_info> first;
  for (std::uint32_t i = 0; i < 8; ++i) {
    first.push_back(node_at(self, 0, i, rng));
    REQUIRE(table.node_replied(first.back(), t0));
  }
  auto late = node_at(self, 0, 100, rng);
  CHECK_FALSE(table.has_room_for(late, t0 + 1min));
  CHECK(table.has_room_for(node_at(self, 1, 101, rng), t0 + 1min));
  CHECK_FALSE(table.node_replied(late, t0 + 1min));
  CHECK(table.find(late.id) == nullptr);
  // Everyone is still good: nothing to ping.
  CHECK(table.to_ping(t0 + 2min).empty());
  // 15 minutes of silence: questionable, offered once.
  auto pings = table.to_ping(t0 + 16min);
  CHECK(pings.size() == 8);
  CHECK(table.to_ping(t0 + 17min).empty());
  // A node that queried us after answering once stays good.
  table.node_queried(first[1], t0 + 16min);
  CHECK(table.state_of(*table.find(first[1].id), t0 + 20min) == node_state::good);
  CHECK(table.state_of(*table.find(first[0].id), t0 + 20min) == node_state::questionable);
  // first[0] fails twice: it is bad and the waiting node takes its place.
  table.node_failed(first[0], t0 + 20min);
  CHECK(table.find(first[0].id) != nullptr);
  table.node_failed(first[0], t0 + 21min);
  CHECK(table.find(first[0].id) == nullptr);
  CHECK(table.find(late.id) != nullptr);
  CHECK(table.size() == 8 + 9);
}

TEST_CASE("a bad node is replaced at once by a node that answers") {
  std::mt19937_64 rng(4);
  node_id self = random_id(rng);
  routing_table table(self);
  for (std::uint32_t i = 0; i < 8; ++i) table.node_replied(node_at(self, 5, 500 + i, rng), t0);
  table.node_replied(node_at(self, 6, 600, rng), t0);
  std::vector<krpc::node_info> far;
  for (std::uint32_t i = 0; i < 8; ++i) {
    far.push_back(node_at(self, 0, i, rng));
    table.node_replied(far.back(), t0);
  }
  table.node_failed(far[3], t0 + 1s);
  auto fresh = node_at(self, 0, 50, rng);
  CHECK_FALSE(table.has_room_for(fresh, t0 + 2s));
  table.node_failed(far[3], t0 + 2s);
  CHECK(table.has_room_for(fresh, t0 + 3s));
  CHECK_FALSE(table.has_room_for({fresh.id, far[0].address}, t0 + 3s));
  CHECK(table.node_replied(fresh, t0 + 3s));
  CHECK(table.find(far[3].id) == nullptr);
}

TEST_CASE("one address, one place: a host cannot fill a bucket with ids") {
  std::mt19937_64 rng(5);
  node_id self = random_id(rng);
  routing_table table(self);
  auto a = node_at(self, 0, 1, rng);
  REQUIRE(table.node_replied(a, t0));
  for (int i = 0; i < 20; ++i) table.node_replied({random_id_with_prefix(self, 0, rng), a.address}, t0);
  CHECK(table.size() == 1);
  // The same id from another address does not move the entry.
  table.node_replied({a.id, addr(777)}, t0);
  CHECK(table.find(a.id)->node.address == a.address);
}

TEST_CASE("refresh: buckets untouched for 15 minutes get one target inside them") {
  std::mt19937_64 rng(6);
  node_id self = random_id(rng);
  routing_table table(self);
  std::vector<krpc::node_info> in;
  for (int p = 0; p < 4; ++p)
    for (std::uint32_t i = 0; i < 9; ++i) {
      in.push_back(node_at(self, p, 100u * p + i, rng));
      table.node_replied(in.back(), t0);
    }
  std::size_t buckets = table.bucket_count();
  CHECK(table.refresh_targets(t0 + 1min, rng).empty());
  auto targets = table.refresh_targets(t0 + 16min, rng);
  REQUIRE(targets.size() == buckets);
  for (std::size_t i = 0; i < targets.size(); ++i)
    CHECK(common_prefix_bits(self, targets[i]) == static_cast<int>(i));
  CHECK(table.refresh_targets(t0 + 17min, rng).empty());
  // A node answering touches its bucket.
  REQUIRE(table.node_replied(in[0], t0 + 30min));
  CHECK(table.refresh_targets(t0 + 32min, rng).size() == buckets - 1);
}
