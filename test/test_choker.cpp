#include "choker.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <vector>

using namespace actorrent;
using namespace std::chrono_literals;

namespace {

using time_point = std::chrono::steady_clock::time_point;

const time_point t0 = time_point{} + 1h;

choker_config seeded(std::uint64_t seed = 1) {
  choker_config c;
  c.seed = seed;
  return c;
}

// Peers 1..n, interested, connected long ago, download rate growing with the key.
std::vector<choker_peer> ramp(std::size_t n) {
  std::vector<choker_peer> v;
  for (std::size_t i = 1; i <= n; ++i) {
    choker_peer p;
    p.key = i;
    p.interested = true;
    p.download_rate = 1000.0 * static_cast<double>(i);
    p.connected = t0 - 10min;
    v.push_back(p);
  }
  return v;
}

choker_peer& peer(std::vector<choker_peer>& v, peer_key k) {
  auto it = std::find_if(v.begin(), v.end(), [&](const choker_peer& p) { return p.key == k; });
  REQUIRE(it != v.end());
  return *it;
}

std::set<peer_key> unchoked_set(const choker& c, const std::vector<choker_peer>& peers) {
  std::set<peer_key> s;
  for (const auto& p : peers)
    if (c.is_unchoked(p.key)) s.insert(p.key);
  return s;
}

// Unchoked peers that hold a regular slot (not the optimistic one).
std::set<peer_key> regular_set(const choker& c, const std::vector<choker_peer>& peers) {
  auto s = unchoked_set(c, peers);
  if (auto o = c.optimistic_peer()) s.erase(*o);
  return s;
}

std::set<peer_key> as_set(const std::vector<peer_key>& v) { return {v.begin(), v.end()}; }

// Every decision must be a list of real changes, sorted, without overlap.
void check_decision_shape(const choke_decision& d) {
  CHECK(std::is_sorted(d.unchoke.begin(), d.unchoke.end()));
  CHECK(std::is_sorted(d.choke.begin(), d.choke.end()));
  CHECK(as_set(d.unchoke).size() == d.unchoke.size());
  CHECK(as_set(d.choke).size() == d.choke.size());
  for (auto k : d.unchoke) CHECK(std::count(d.choke.begin(), d.choke.end(), k) == 0);
}

} // namespace

TEST_CASE("downloading: the 4 fastest interested peers get regular slots, plus one optimistic") {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    choker c(seeded(seed));
    auto peers = ramp(10);
    auto d = c.rechoke(peers, false, t0);
    check_decision_shape(d);
    CHECK(d.choke.empty());
    REQUIRE(d.unchoke.size() == 5);
    REQUIRE(c.optimistic_peer().has_value());
    peer_key opt = *c.optimistic_peer();
    CHECK(opt >= 1);
    CHECK(opt <= 6);
    CHECK(regular_set(c, peers) == std::set<peer_key>{7, 8, 9, 10});
    CHECK(as_set(d.unchoke) == unchoked_set(c, peers));
    CHECK(as_set(d.unchoke).count(opt) == 1);
    CHECK(c.unchoked_count() == 5);
  }
}

TEST_CASE("downloading: snubbed and uninterested peers never get regular slots") {
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    choker c(seeded(seed));
    auto peers = ramp(10);
    peer(peers, 10).interested = false;
    peer(peers, 9).interested = false;
    peer(peers, 8).snubbed = true;
    peer(peers, 8).download_rate = 1e9;
    for (int round = 0; round < 30; ++round) {
      auto d = c.rechoke(peers, false, t0 + round * 10s);
      check_decision_shape(d);
      CHECK(regular_set(c, peers) == std::set<peer_key>{4, 5, 6, 7});
      CHECK_FALSE(c.is_unchoked(9));
      CHECK_FALSE(c.is_unchoked(10));
      // Unsnubbed candidates exist, so the snubbed peer is not even optimistic.
      CHECK_FALSE(c.is_unchoked(8));
      CHECK(c.unchoked_count() == 5);
    }
  }
}

TEST_CASE("a snubbed peer is optimistic only when nobody else qualifies") {
  choker c(seeded(3));
  auto peers = ramp(5);
  peer(peers, 1).snubbed = true;
  c.rechoke(peers, false, t0);
  CHECK(regular_set(c, peers) == std::set<peer_key>{2, 3, 4, 5});
  CHECK(c.optimistic_peer() == peer_key{1});
}

TEST_CASE("rechoke reports only changes") {
  choker c(seeded(7));
  auto peers = ramp(10);
  auto first = c.rechoke(peers, false, t0);
  CHECK(first.unchoke.size() == 5);
  CHECK(first.choke.empty());
  auto before = unchoked_set(c, peers);

  // Same input within the optimistic interval: nothing changes.
  auto again = c.rechoke(peers, false, t0 + 10s);
  CHECK(again.unchoke.empty());
  CHECK(again.choke.empty());
  CHECK(unchoked_set(c, peers) == before);

  // A regular peer loses interest: exactly that peer is choked, and the next
  // fastest takes its slot (unless it was the optimistic one, then only the
  // optimistic slot is re-chosen).
  peer(peers, 10).interested = false;
  auto d = c.rechoke(peers, false, t0 + 20s);
  check_decision_shape(d);
  CHECK(d.choke == std::vector<peer_key>{10});
  CHECK(regular_set(c, peers) == std::set<peer_key>{6, 7, 8, 9});
  auto after = unchoked_set(c, peers);
  std::set<peer_key> added, removed;
  std::set_difference(after.begin(), after.end(), before.begin(), before.end(),
                      std::inserter(added, added.end()));
  std::set_difference(before.begin(), before.end(), after.begin(), after.end(),
                      std::inserter(removed, removed.end()));
  CHECK(as_set(d.unchoke) == added);
  CHECK(as_set(d.choke) == removed);
}

TEST_CASE("a peer that becomes fast replaces the slowest regular peer") {
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    choker c(seeded(seed));
    auto peers = ramp(10);
    c.rechoke(peers, false, t0);
    REQUIRE(c.optimistic_peer().has_value());
    // A choked peer that is not the optimistic one.
    peer_key x = 0;
    for (peer_key k = 1; k <= 6; ++k)
      if (!c.is_unchoked(k)) {
        x = k;
        break;
      }
    REQUIRE(x != 0);
    peer(peers, x).download_rate = 1e6;
    auto d = c.rechoke(peers, false, t0 + 10s);
    CHECK(d.unchoke == std::vector<peer_key>{x});
    CHECK(d.choke == std::vector<peer_key>{7});
    CHECK(regular_set(c, peers) == std::set<peer_key>{x, 8, 9, 10});
  }
}

TEST_CASE("the optimistic peer rotates after optimistic_interval, not before") {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    auto cfg = seeded(seed);
    cfg.optimistic_interval = 30s;
    choker c(cfg);
    auto peers = ramp(10);
    c.rechoke(peers, false, t0);
    auto opt = c.optimistic_peer();
    REQUIRE(opt.has_value());
    for (auto dt : {10s, 20s, 29s}) {
      auto d = c.rechoke(peers, false, t0 + dt);
      CHECK(d.unchoke.empty());
      CHECK(d.choke.empty());
      CHECK(c.optimistic_peer() == opt);
    }
    auto d = c.rechoke(peers, false, t0 + 30s);
    auto next = c.optimistic_peer();
    REQUIRE(next.has_value());
    CHECK(*next != *opt);
    CHECK(*next <= 6);
    CHECK(d.unchoke == std::vector<peer_key>{*next});
    CHECK(d.choke == std::vector<peer_key>{*opt});
    CHECK(c.unchoked_count() == 5);
    // The new one is kept for a full interval from when it was chosen.
    CHECK(c.rechoke(peers, false, t0 + 59s).unchoke.empty());
    CHECK(c.optimistic_peer() == next);
    c.rechoke(peers, false, t0 + 60s);
    CHECK(c.optimistic_peer() != next);
  }
}

TEST_CASE("the only optimistic candidate keeps the slot after its interval") {
  choker c(seeded(5));
  auto peers = ramp(5);
  c.rechoke(peers, false, t0);
  REQUIRE(c.optimistic_peer() == peer_key{1});
  auto d = c.rechoke(peers, false, t0 + 31s);
  CHECK(d.unchoke.empty());
  CHECK(d.choke.empty());
  CHECK(c.optimistic_peer() == peer_key{1});
}

TEST_CASE("newcomers are favoured for the optimistic slot") {
  // 4 fast regular peers (7..10) and 6 candidates (1..6); peer 3 just connected.
  auto peers = ramp(10);
  peer(peers, 3).connected = t0 - 5s;
  auto count = [&](std::chrono::seconds window) {
    std::map<peer_key, int> n;
    for (std::uint64_t seed = 1; seed <= 3000; ++seed) {
      auto cfg = seeded(seed);
      cfg.newcomer_window = window;
      choker c(cfg);
      c.rechoke(peers, false, t0);
      REQUIRE(c.optimistic_peer().has_value());
      ++n[*c.optimistic_peer()];
    }
    return n;
  };
  // Weights 3:1 over six candidates: 3/8 for the newcomer, 1/8 for each other.
  auto favoured = count(60s);
  CHECK(favoured[3] > 3000 * 0.32);
  CHECK(favoured[3] < 3000 * 0.43);
  for (peer_key k : {1, 2, 4, 5, 6}) {
    CHECK(favoured[k] > 3000 * 0.09);
    CHECK(favoured[k] < 3000 * 0.16);
  }
  // With no newcomer window, peer 3 is one candidate among six.
  auto plain = count(0s);
  CHECK(plain[3] > 3000 * 0.13);
  CHECK(plain[3] < 3000 * 0.21);
}

TEST_CASE("decisions depend only on the seed and the input, not on its order") {
  for (bool seeding : {false, true}) {
    choker a(seeded(42)), b(seeded(42));
    std::mt19937_64 gen(9);
    auto peers = ramp(12);
    for (int round = 0; round < 40; ++round) {
      for (auto& p : peers) {
        p.download_rate = static_cast<double>(gen() % 5000);
        p.upload_rate = static_cast<double>(gen() % 5000);
        p.interested = gen() % 4 != 0;
      }
      auto reversed = peers;
      std::reverse(reversed.begin(), reversed.end());
      auto now = t0 + round * 10s;
      auto da = a.rechoke(peers, seeding, now);
      auto db = b.rechoke(reversed, seeding, now);
      CHECK(da.unchoke == db.unchoke);
      CHECK(da.choke == db.choke);
      CHECK(a.optimistic_peer() == b.optimistic_peer());
      CHECK(unchoked_set(a, peers) == unchoked_set(b, peers));
      for (const auto& p : peers)
        if (!p.interested) CHECK_FALSE(a.is_unchoked(p.key));
    }
  }
}

TEST_CASE("seeding: every interested peer gets its turn, the set stays bounded") {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    choker c(seeded(seed));
    std::vector<choker_peer> peers;
    for (peer_key k = 1; k <= 24; ++k) {
      choker_peer p;
      p.key = k;
      p.interested = k <= 20;                          // 21..24 are not interested
      p.connected = t0 - std::chrono::seconds(k);      // distinct arrival order
      p.snubbed = k % 5 == 0;                          // ignored when seeding
      peers.push_back(p);
    }
    std::set<peer_key> ever;
    std::map<peer_key, int> choked_rounds, longest_wait;
    for (int round = 0; round < 40; ++round) {
      // Uploading is much faster to low keys: ranking by speed alone would
      // keep the same peers unchoked forever.
      for (auto& p : peers)
        p.upload_rate = c.is_unchoked(p.key) ? 1e6 / static_cast<double>(p.key) : 0.0;
      auto d = c.rechoke(peers, true, t0 + round * 10s);
      check_decision_shape(d);
      auto now_unchoked = unchoked_set(c, peers);
      CHECK(now_unchoked.size() == c.unchoked_count());
      CHECK(c.unchoked_count() == 5);
      CHECK(regular_set(c, peers).size() == 4);
      for (auto k : now_unchoked) CHECK(k <= 20);
      for (peer_key k = 1; k <= 20; ++k) {
        if (c.is_unchoked(k)) {
          ever.insert(k);
          choked_rounds[k] = 0;
        } else {
          longest_wait[k] = std::max(longest_wait[k], ++choked_rounds[k]);
        }
      }
    }
    CHECK(ever.size() == 20);
    // At most 15 peers wait while 5 are served; the 4 regular slots go to the
    // peers choked longest ago, so nobody waits more than 4 turns of 3 rounds.
    for (peer_key k = 1; k <= 20; ++k) CHECK(longest_wait[k] <= 12);
  }
}

TEST_CASE("seeding: a regular slot lasts one turn, then goes to a waiting peer") {
  auto cfg = seeded(11);
  cfg.upload_slots = 2;
  cfg.seeding_turn = 30s;
  choker c(cfg);
  std::vector<choker_peer> peers;
  for (peer_key k = 1; k <= 5; ++k) {
    choker_peer p;
    p.key = k;
    p.interested = true;
    p.connected = t0 - std::chrono::minutes(10 - k); // 1 connected first
    p.upload_rate = k == 1 ? 1e9 : 10.0;
    peers.push_back(p);
  }
  c.rechoke(peers, true, t0);
  CHECK(regular_set(c, peers) == std::set<peer_key>{1, 2});
  auto opt = c.optimistic_peer();
  REQUIRE(opt.has_value());
  c.rechoke(peers, true, t0 + 20s);
  CHECK(regular_set(c, peers) == std::set<peer_key>{1, 2});
  c.rechoke(peers, true, t0 + 30s);
  // The fast peer 1 yields too; the two choked peers take the slots, not the
  // optimistic one, which has been served already.
  std::set<peer_key> expected{3, 4, 5};
  expected.erase(*opt);
  CHECK(regular_set(c, peers) == expected);
}

TEST_CASE("seeding: with nobody waiting, the fastest unchoked peers keep their slots") {
  auto cfg = seeded(2);
  cfg.upload_slots = 3;
  choker c(cfg);
  auto peers = ramp(3);
  for (auto& p : peers) p.upload_rate = 100.0;
  c.rechoke(peers, true, t0);
  CHECK(regular_set(c, peers) == std::set<peer_key>{1, 2, 3});
  auto d = c.rechoke(peers, true, t0 + 40s);
  CHECK(d.unchoke.empty());
  CHECK(d.choke.empty());
  CHECK(c.unchoked_count() == 3);
}

TEST_CASE("on_interested fills a free slot immediately, not beyond the limit") {
  choker c(seeded());
  for (peer_key k = 1; k <= 5; ++k) CHECK(c.on_interested(k, t0));
  CHECK(c.unchoked_count() == 5);
  CHECK(c.optimistic_peer() == peer_key{5});
  CHECK_FALSE(c.on_interested(6, t0));
  CHECK_FALSE(c.is_unchoked(6));
  CHECK_FALSE(c.on_interested(1, t0)); // unchoked already
  CHECK(c.unchoked_count() == 5);

  // After a rechoke with fewer interested peers than slots.
  choker d(seeded());
  auto peers = ramp(2);
  d.rechoke(peers, false, t0);
  CHECK(d.unchoked_count() == 2);
  CHECK(d.on_interested(3, t0 + 1s));
  CHECK(d.on_interested(4, t0 + 1s));
  CHECK(d.unchoked_count() == 4);
  CHECK_FALSE(d.optimistic_peer().has_value());
  CHECK(d.on_interested(5, t0 + 2s));
  CHECK(d.optimistic_peer() == peer_key{5});
  CHECK_FALSE(d.on_interested(6, t0 + 2s));
}

TEST_CASE("on_peer_gone frees a slot for the next on_interested") {
  choker c(seeded());
  auto peers = ramp(10);
  c.rechoke(peers, false, t0);
  REQUIRE(c.unchoked_count() == 5);
  peer_key choked = 0;
  for (peer_key k = 1; k <= 6; ++k)
    if (!c.is_unchoked(k)) choked = k;
  REQUIRE(choked != 0);
  CHECK_FALSE(c.on_interested(choked, t0 + 1s));

  c.on_peer_gone(9);
  CHECK(c.unchoked_count() == 4);
  CHECK_FALSE(c.is_unchoked(9));
  CHECK(c.on_interested(choked, t0 + 2s));
  CHECK(c.unchoked_count() == 5);
  CHECK_FALSE(c.on_interested(11, t0 + 2s));

  // The optimistic slot is freed the same way.
  auto opt = c.optimistic_peer();
  REQUIRE(opt.has_value());
  c.on_peer_gone(*opt);
  CHECK_FALSE(c.optimistic_peer().has_value());
  CHECK(c.unchoked_count() == 4);
  CHECK(c.on_interested(12, t0 + 3s));
  CHECK(c.optimistic_peer() == peer_key{12});

  c.on_peer_gone(12345); // unknown: nothing happens
  CHECK(c.unchoked_count() == 5);
}

TEST_CASE("a peer missing from the input is forgotten without a choke message") {
  choker c(seeded());
  auto peers = ramp(10);
  c.rechoke(peers, false, t0);
  REQUIRE(c.is_unchoked(10));
  peers.erase(std::remove_if(peers.begin(), peers.end(),
                             [](const choker_peer& p) { return p.key == 10; }),
              peers.end());
  auto d = c.rechoke(peers, false, t0 + 10s);
  CHECK(std::count(d.choke.begin(), d.choke.end(), 10) == 0);
  CHECK_FALSE(c.is_unchoked(10));
  CHECK(regular_set(c, peers).size() == 4);
  CHECK(c.unchoked_count() == 5);
}

TEST_CASE("fewer interested peers than slots: all of them are unchoked") {
  for (bool seeding : {false, true}) {
    choker c(seeded());
    auto peers = ramp(6);
    peer(peers, 2).interested = false;
    peer(peers, 4).interested = false;
    peer(peers, 6).interested = false;
    auto d = c.rechoke(peers, seeding, t0);
    CHECK(as_set(d.unchoke) == std::set<peer_key>{1, 3, 5});
    CHECK_FALSE(c.optimistic_peer().has_value());
    CHECK(c.unchoked_count() == 3);

    // Exactly slots + 1 interested: the extra one is the optimistic peer.
    choker e(seeded());
    auto five = ramp(5);
    e.rechoke(five, seeding, t0);
    CHECK(e.unchoked_count() == 5);
    CHECK(e.optimistic_peer().has_value());
  }
}

TEST_CASE("an optimistic peer that wins a regular slot is replaced at once") {
  choker c(seeded(4));
  auto peers = ramp(10);
  c.rechoke(peers, false, t0);
  auto opt = c.optimistic_peer();
  REQUIRE(opt.has_value());
  peer(peers, *opt).download_rate = 1e6;
  auto d = c.rechoke(peers, false, t0 + 10s);
  CHECK(regular_set(c, peers).count(*opt) == 1);
  REQUIRE(c.optimistic_peer().has_value());
  CHECK(*c.optimistic_peer() != *opt);
  // 7 lost its regular slot: choked, unless it became the optimistic peer.
  if (*c.optimistic_peer() == 7)
    CHECK(d.choke.empty());
  else
    CHECK(d.choke == std::vector<peer_key>{7});
  CHECK(c.unchoked_count() == 5);
}

TEST_CASE("downloading: equal rates do not move slots away from their holders") {
  choker c(seeded(8));
  auto peers = ramp(6);
  for (auto& p : peers) p.download_rate = 100.0;
  peer(peers, 5).download_rate = 200.0;
  peer(peers, 6).download_rate = 200.0;
  // Arrival order 3, 4, 1, 2, 5, 6: waiting longest would favour 1 and 2 over 5 and 6.
  peer(peers, 3).connected = t0 - 20min;
  peer(peers, 4).connected = t0 - 19min;
  peer(peers, 1).connected = t0 - 18min;
  peer(peers, 2).connected = t0 - 17min;
  peer(peers, 5).connected = t0 - 16min;
  peer(peers, 6).connected = t0 - 15min;
  c.rechoke(peers, false, t0);
  REQUIRE(regular_set(c, peers) == std::set<peer_key>{3, 4, 5, 6});
  peer(peers, 5).download_rate = 100.0;
  peer(peers, 6).download_rate = 100.0;
  auto d = c.rechoke(peers, false, t0 + 10s);
  CHECK(regular_set(c, peers) == std::set<peer_key>{3, 4, 5, 6});
  CHECK(d.unchoke.empty());
  CHECK(d.choke.empty());
}
