#include "piece_picker.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string_view>
#include <tuple>
#include <vector>

using namespace actorrent;

namespace {

constexpr std::uint32_t bs = 16 * 1024;

bitfield bits(std::string_view s) {
  bitfield b(s.size());
  for (std::size_t i = 0; i < s.size(); ++i)
    if (s[i] == '1') b.set(i);
  return b;
}

picker_config seeded(std::uint64_t seed = 1) {
  picker_config c;
  c.seed = seed;
  return c;
}

// Pieces of `blocks` full blocks each.
piece_picker make(std::uint32_t pieces, std::uint32_t blocks, picker_config cfg = seeded()) {
  std::int64_t len = std::int64_t{blocks} * bs;
  return piece_picker(pieces, len, len * pieces, cfg);
}

std::set<std::uint32_t> pieces_of(const std::vector<block_ref>& v) {
  std::set<std::uint32_t> s;
  for (const auto& b : v) s.insert(b.piece);
  return s;
}

auto key(const block_ref& b) { return std::tuple(b.piece, b.begin, b.length); }

} // namespace

TEST_CASE("geometry: short last piece and short last blocks") {
  // 3 pieces of 40000 bytes, the last one 20001 bytes.
  piece_picker pp(3, 40000, 2 * 40000 + 20001, seeded());
  CHECK(pp.num_pieces() == 3);
  CHECK(pp.blocks_in_piece(0) == 3);
  CHECK(pp.blocks_in_piece(2) == 2);
  CHECK(pp.piece_size(1) == 40000);
  CHECK(pp.piece_size(2) == 20001);
  CHECK(pp.missing_blocks() == 8);

  auto got = pp.pick(1, bits("111"), 100);
  REQUIRE(got.size() == 8);
  std::map<std::uint32_t, std::int64_t> bytes;
  for (const auto& b : got) {
    CHECK(b.begin % bs == 0);
    CHECK(b.length <= bs);
    bytes[b.piece] += b.length;
  }
  CHECK(bytes[0] == 40000);
  CHECK(bytes[1] == 40000);
  CHECK(bytes[2] == 20001);
  CHECK(std::count(got.begin(), got.end(), block_ref{2, bs, 20001 - bs}) == 1);
  CHECK(std::count(got.begin(), got.end(), block_ref{0, 2 * bs, 40000 - 2 * bs}) == 1);
}

TEST_CASE("unknown or malformed blocks are not accepted") {
  piece_picker pp(3, 40000, 100001, seeded());
  CHECK_FALSE(pp.on_block(1, {3, 0, bs}).accepted);           // no such piece
  CHECK_FALSE(pp.on_block(1, {0, 100, bs}).accepted);         // unaligned
  CHECK_FALSE(pp.on_block(1, {0, 0, bs - 1}).accepted);       // wrong length
  CHECK_FALSE(pp.on_block(1, {2, bs, bs}).accepted);          // last block is short
  CHECK_FALSE(pp.on_block(1, {2, 2 * bs, 1}).accepted);       // beyond the piece
  CHECK(pp.missing_blocks() == 8);
  CHECK(pp.on_block(1, {2, bs, 20001 - bs}).accepted);
  CHECK(pp.missing_blocks() == 7);
}

TEST_CASE("rarest first, ties broken by seed") {
  auto rarest_run = [](std::uint64_t seed) {
    auto pp = make(4, 2, seeded(seed));
    pp.add_peer_pieces(bits("1111"));
    pp.add_peer_pieces(bits("1010"));
    pp.add_peer_pieces(bits("1000"));
    REQUIRE(pp.availability(0) == 3);
    REQUIRE(pp.availability(1) == 1);
    REQUIRE(pp.availability(2) == 2);
    REQUIRE(pp.availability(3) == 1);
    std::vector<std::uint32_t> order;
    for (int i = 0; i < 4; ++i) {
      auto got = pp.pick(7, bits("1111"), 2);
      REQUIRE(got.size() == 2);
      auto ps = pieces_of(got);
      REQUIRE(ps.size() == 1);
      order.push_back(*ps.begin());
    }
    return order;
  };

  std::set<std::uint32_t> first_choices;
  for (std::uint64_t seed = 1; seed <= 16; ++seed) {
    auto order = rarest_run(seed);
    CHECK(std::set<std::uint32_t>(order.begin(), order.begin() + 2) == std::set<std::uint32_t>{1, 3});
    CHECK(order[2] == 2);
    CHECK(order[3] == 0);
    first_choices.insert(order[0]);
    CHECK(rarest_run(seed) == order);
  }
  CHECK(first_choices == std::set<std::uint32_t>{1, 3});
}

TEST_CASE("partial pieces are finished before rarer new ones") {
  auto pp = make(2, 4);
  pp.add_peer_pieces(bits("11"));
  pp.add_peer_pieces(bits("10"));
  pp.add_peer_pieces(bits("10"));  // piece 0: 3 peers, piece 1: 1 peer
  auto r = pp.on_block(9, {0, bs, bs});
  CHECK(r.accepted);
  CHECK_FALSE(r.piece_complete);
  CHECK(r.cancel.empty());

  auto got = pp.pick(1, bits("11"), 3);
  REQUIRE(got.size() == 3);
  CHECK(pieces_of(got) == std::set<std::uint32_t>{0});
  CHECK(std::find(got.begin(), got.end(), block_ref{0, bs, bs}) == got.end());
  got = pp.pick(1, bits("11"), 4);
  CHECK(pieces_of(got) == std::set<std::uint32_t>{1});
}

TEST_CASE("a peer only gets pieces it has, never the same block twice") {
  auto pp = make(4, 3);
  pp.add_peer_pieces(bits("0110"));
  std::set<std::tuple<std::uint32_t, std::uint32_t, std::uint32_t>> seen;
  for (int i = 0; i < 5; ++i) {
    for (const auto& b : pp.pick(1, bits("0110"), 2)) {
      CHECK((b.piece == 1 || b.piece == 2));
      CHECK(seen.insert(key(b)).second);
    }
  }
  CHECK(seen.size() == 6);
  CHECK(pp.blocks_in_flight(1) == 6);
  CHECK_FALSE(pp.in_endgame());  // pieces 0 and 3 are still unrequested
  CHECK(pp.pick(1, bits("0110"), 10).empty());
}

TEST_CASE("dropped requests and departed peers return blocks to the pool") {
  auto pp = make(2, 2);
  auto all = bits("11");
  auto a = pp.pick(1, all, 4);
  REQUIRE(a.size() == 4);
  CHECK(pp.unrequested_blocks() == 0);
  CHECK(pp.in_endgame());

  pp.on_request_dropped(1, a[1]);
  CHECK(pp.unrequested_blocks() == 1);
  CHECK(pp.blocks_in_flight(1) == 3);
  CHECK_FALSE(pp.in_endgame());
  CHECK(pp.requesters(a[1]).empty());
  pp.on_request_dropped(2, a[0]);  // not its request: nothing changes
  CHECK(pp.requesters(a[0]) == std::vector<peer_key>{1});

  auto b = pp.pick(2, all, 1);
  REQUIRE(b.size() == 1);
  CHECK(b[0] == a[1]);
  CHECK(pp.requesters(a[1]) == std::vector<peer_key>{2});
  CHECK(pp.blocks_in_flight(2) == 1);

  // Not in end-game any more once peer 1 leaves: its three blocks are free again.
  pp.on_peer_gone(1);
  CHECK(pp.blocks_in_flight(1) == 0);
  CHECK(pp.unrequested_blocks() == 3);
  CHECK_FALSE(pp.in_endgame());
  auto c = pp.pick(2, all, 10);
  CHECK(c.size() == 3);
  CHECK(std::find(c.begin(), c.end(), a[1]) == c.end());
  CHECK(pp.blocks_in_flight(2) == 4);
}

TEST_CASE("end-game: entry, duplicates, cancels, requester cap") {
  auto pp = make(2, 2);
  auto all = bits("11");
  auto a = pp.pick(1, all, 3);
  CHECK(a.size() == 3);
  CHECK_FALSE(pp.in_endgame());
  CHECK(pp.unrequested_blocks() == 1);
  auto last = pp.pick(1, all, 1);
  REQUIRE(last.size() == 1);
  CHECK(pp.in_endgame());
  a.push_back(last[0]);

  CHECK(pp.pick(1, all, 10).empty());  // never its own blocks again

  auto b = pp.pick(2, all, 10);
  CHECK(b.size() == 4);  // every block duplicated once
  for (const auto& blk : b) CHECK(pp.requesters(blk) == std::vector<peer_key>{1, 2});
  CHECK(pp.pick(3, all, 10).empty());  // cap of 2 requesters reached

  auto r = pp.on_block(2, a[0]);
  CHECK(r.accepted);
  CHECK(r.cancel == std::vector<peer_key>{1});
  CHECK(pp.requesters(a[0]).empty());
  CHECK(pp.blocks_in_flight(1) == 3);
  CHECK(pp.blocks_in_flight(2) == 3);
  CHECK_FALSE(pp.on_block(1, a[0]).accepted);  // late duplicate

  r = pp.on_block(1, a[1]);
  CHECK(r.cancel == std::vector<peer_key>{2});
  r = pp.on_block(3, a[2]);  // unsolicited: everyone who asked is cancelled
  CHECK(r.accepted);
  std::sort(r.cancel.begin(), r.cancel.end());
  CHECK(r.cancel == std::vector<peer_key>{1, 2});
}

TEST_CASE("end-game hands out the least duplicated blocks first") {
  auto cfg = seeded();
  cfg.endgame_max_requesters = 3;
  auto pp = make(2, 2, cfg);
  auto all = bits("11");
  REQUIRE(pp.pick(1, all, 4).size() == 4);
  auto b = pp.pick(2, all, 2);
  REQUIRE(b.size() == 2);
  auto c = pp.pick(3, all, 2);
  REQUIRE(c.size() == 2);
  for (const auto& blk : c) {
    CHECK(std::find(b.begin(), b.end(), blk) == b.end());
    CHECK(pp.requesters(blk).size() == 2);
  }
  auto d = pp.pick(4, all, 10);
  CHECK(d.size() == 4);  // each block now has 3 requesters
  CHECK(pp.pick(5, all, 10).empty());

  auto r = pp.on_block(3, c[0]);
  std::sort(r.cancel.begin(), r.cancel.end());
  CHECK(r.cancel == std::vector<peer_key>{1, 4});

  // A leaving first requester hands its place on to the others.
  pp.on_peer_gone(1);
  CHECK(pp.requesters(b[0]) == std::vector<peer_key>{2, 4});
  CHECK(pp.in_endgame());
  pp.on_peer_gone(2);
  pp.on_peer_gone(4);
  CHECK(pp.requesters(b[0]).empty());
  CHECK(pp.requesters(c[1]) == std::vector<peer_key>{3});
  CHECK(pp.unrequested_blocks() == 2);
  CHECK_FALSE(pp.in_endgame());
}

TEST_CASE("end-game threshold starts end-game while blocks are unrequested") {
  auto run = [](double threshold) {
    auto cfg = seeded();
    cfg.endgame_threshold = threshold;
    auto pp = make(20, 1, cfg);
    for (std::uint32_t p = 0; p < 16; ++p) pp.set_have(p);
    CHECK_FALSE(pp.in_endgame());
    pp.set_have(16);  // 17 / 20 = 0.85
    CHECK(pp.missing_blocks() == 3);
    auto all = bitfield(20, true);
    auto first = pp.pick(1, all, 1);
    REQUIRE(first.size() == 1);
    CHECK(pp.unrequested_blocks() == 2);
    // A peer holding only the requested piece can help only with a duplicate.
    bitfield only(20);
    only.set(first[0].piece);
    return std::pair(pp.in_endgame(), pp.pick(2, only, 3).size());
  };
  CHECK(run(0.85) == std::pair(true, std::size_t{1}));
  CHECK(run(1.0) == std::pair(false, std::size_t{0}));
}

TEST_CASE("verification: failed pieces are wanted again, passed pieces are had") {
  auto pp = make(2, 2);
  auto all = bits("11");
  pp.set_have(1);
  CHECK(pp.have(1));
  CHECK(pp.have_bits() == bits("01"));
  CHECK(pp.missing_blocks() == 2);

  auto got = pp.pick(1, all, 10);
  REQUIRE(got.size() == 2);
  CHECK(pieces_of(got) == std::set<std::uint32_t>{0});
  CHECK_FALSE(pp.on_block(1, got[0]).piece_complete);
  auto r = pp.on_block(1, got[1]);
  CHECK(r.accepted);
  CHECK(r.piece_complete);
  CHECK(pp.pending_verification(0));
  CHECK(pp.missing_blocks() == 0);
  CHECK_FALSE(pp.in_endgame());
  CHECK(pp.pick(2, all, 10).empty());
  CHECK_FALSE(pp.on_block(2, got[0]).accepted);

  pp.on_piece_failed(0);
  CHECK_FALSE(pp.pending_verification(0));
  CHECK(pp.missing_blocks() == 2);
  CHECK(pp.unrequested_blocks() == 2);
  got = pp.pick(2, all, 10);
  CHECK(got.size() == 2);
  for (const auto& b : got) CHECK(pp.on_block(2, b).accepted);
  CHECK_FALSE(pp.complete());
  pp.on_piece_passed(0);
  CHECK(pp.complete());
  CHECK(pp.have_count() == 2);
  CHECK(pp.blocks_in_flight(2) == 0);
  CHECK(pp.pick(2, all, 10).empty());
  CHECK_FALSE(pp.on_block(2, got[0]).accepted);
}

TEST_CASE("set_have on a piece in progress forgets its requests") {
  auto pp = make(2, 2);
  auto got = pp.pick(1, bits("10"), 1);
  REQUIRE(got.size() == 1);
  pp.set_have(0);
  CHECK(pp.blocks_in_flight(1) == 0);
  CHECK(pp.requesters(got[0]).empty());
  CHECK(pp.missing_blocks() == 2);
  CHECK(pp.unrequested_blocks() == 2);
}

namespace {

struct request {
  peer_key peer;
  block_ref block;
  bool cancelled;
};

} // namespace

TEST_CASE("simulated download with random bitfields and arrival order") {
  constexpr std::uint32_t n = 37;
  constexpr std::int64_t piece_len = 3 * bs;
  constexpr std::int64_t total = (n - 1) * piece_len + bs + 777;
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    piece_picker pp(n, piece_len, total, seeded(seed));

    std::vector<peer_key> keys{10, 11, 12};
    std::vector<bitfield> has(3, bitfield(n));
    for (std::uint32_t p = 0; p < n; ++p) {
      bool any = false;
      for (auto& h : has)
        if (rng() % 2) { h.set(p); any = true; }
      if (!any) has[rng() % 3].set(p);
    }
    for (auto& h : has) pp.add_peer_pieces(h);

    std::map<std::tuple<std::uint32_t, std::uint32_t, std::uint32_t>, int> accepted;
    std::vector<request> flight;
    bool reconnected = false;
    int steps = 0;
    for (; !pp.complete() && steps < 100000; ++steps) {
      std::size_t i = rng() % 3;
      for (const auto& b : pp.pick(keys[i], has[i], 1 + rng() % 6)) {
        CHECK(has[i].test(b.piece));
        for (const auto& f : flight)
          CHECK_FALSE((f.peer == keys[i] && !f.cancelled && f.block == b));
        flight.push_back({keys[i], b, false});
      }
      if (flight.empty()) continue;
      std::size_t j = rng() % flight.size();
      request req = flight[j];
      flight[j] = flight.back();
      flight.pop_back();
      if (!req.cancelled && rng() % 20 == 0) {
        pp.on_request_dropped(req.peer, req.block);
        continue;
      }
      auto r = pp.on_block(req.peer, req.block);
      if (req.cancelled) CHECK_FALSE(r.accepted);
      if (!r.accepted) continue;
      ++accepted[key(req.block)];
      CHECK(std::find(r.cancel.begin(), r.cancel.end(), req.peer) == r.cancel.end());
      for (auto& f : flight) {
        if (!f.cancelled && f.block == req.block) {
          CHECK(std::find(r.cancel.begin(), r.cancel.end(), f.peer) != r.cancel.end());
          f.cancelled = true;
        }
      }
      if (r.piece_complete) pp.on_piece_passed(req.block.piece);

      if (!reconnected && pp.have_count() > n / 2) {
        // Peer 12 drops off with requests in flight and comes back under a new key.
        reconnected = true;
        pp.on_peer_gone(keys[2]);
        pp.remove_peer_pieces(has[2]);
        flight.erase(std::remove_if(flight.begin(), flight.end(),
                                    [&](const request& f) { return f.peer == keys[2]; }),
                     flight.end());
        keys[2] = 13;
        pp.add_peer_pieces(has[2]);
      }
      for (std::size_t k = 0; k < 3; ++k) {
        auto live = std::count_if(flight.begin(), flight.end(), [&](const request& f) {
          return f.peer == keys[k] && !f.cancelled;
        });
        CHECK(pp.blocks_in_flight(keys[k]) == static_cast<std::size_t>(live));
      }
    }
    CHECK(pp.complete());
    CHECK(reconnected);
    CHECK(pp.missing_blocks() == 0);
    std::uint32_t expected_blocks = 0;
    for (std::uint32_t p = 0; p < n; ++p) expected_blocks += pp.blocks_in_piece(p);
    CHECK(accepted.size() == expected_blocks);
    for (const auto& [b, count] : accepted) CHECK(count == 1);
    for (const auto& f : flight) CHECK(f.cancelled);
  }
}

TEST_CASE("scale: 2048 pieces of 16 blocks, 4 peers, batches of 32") {
  constexpr std::uint32_t n = 2048;
  auto pp = make(n, 16);
  auto all = bitfield(n, true);
  for (int i = 0; i < 4; ++i) pp.add_peer_pieces(all);
  std::vector<std::uint8_t> received(std::size_t{n} * 16, 0);
  std::vector<std::vector<block_ref>> flight(4);
  std::size_t rounds = 0;
  while (!pp.complete() && rounds < 10000) {
    ++rounds;
    for (peer_key p = 0; p < 4; ++p) {
      auto got = pp.pick(p, all, 32);
      flight[p].insert(flight[p].end(), got.begin(), got.end());
    }
    for (peer_key p = 0; p < 4; ++p) {
      for (const auto& b : flight[p]) {
        auto r = pp.on_block(p, b);
        if (!r.accepted) continue;
        ++received[std::size_t{b.piece} * 16 + b.begin / bs];
        if (r.piece_complete) pp.on_piece_passed(b.piece);
      }
      flight[p].clear();
    }
  }
  CHECK(pp.complete());
  CHECK(std::all_of(received.begin(), received.end(), [](std::uint8_t c) { return c == 1; }));
}

TEST_CASE("at most max_pieces_in_progress pieces are open, however many peers ask") {
  picker_config cfg = seeded();
  cfg.max_pieces_in_progress = 3;
  auto pp = make(20, 4, cfg);
  // Ten peers with big pipelines would open ten pieces or more without the bound.
  std::vector<block_ref> asked;
  for (peer_key p = 1; p <= 10; ++p) {
    auto got = pp.pick(p, bits("11111111111111111111"), 8);
    asked.insert(asked.end(), got.begin(), got.end());
  }
  CHECK(pieces_of(asked).size() == 3);
  CHECK(asked.size() == 12);  // every block of the three open pieces, nothing else
  CHECK(pp.pieces_in_progress() == 3);
  CHECK(pp.at_piece_limit());
  CHECK_FALSE(pp.in_endgame());  // untouched pieces remain: this is not the end

  // Completing a piece keeps it counted until its hash check: its blocks are
  // still in memory.
  const auto first = *pieces_of(asked).begin();
  for (const auto& b : asked)
    if (b.piece == first) pp.on_block(pp.requesters(b).front(), b);
  CHECK(pp.pending_verification(first));
  CHECK(pp.pieces_in_progress() == 3);
  CHECK(pp.pick(11, bits("11111111111111111111"), 8).empty());

  // Verified: room for exactly one new piece.
  pp.on_piece_passed(first);
  CHECK(pp.pieces_in_progress() == 2);
  auto more = pp.pick(11, bits("11111111111111111111"), 100);
  CHECK(pieces_of(more).size() == 1);
  CHECK(more.size() == 4);
  CHECK(pp.at_piece_limit());

  // A failed piece and a dropped piece free their place too.
  auto second = *std::next(pieces_of(asked).begin());
  for (const auto& b : asked)
    if (b.piece == second) pp.on_block(pp.requesters(b).front(), b);
  pp.on_piece_failed(second);
  CHECK(pp.pieces_in_progress() == 2);
  for (const auto& b : more) pp.on_request_dropped(11, b);
  CHECK(pp.pieces_in_progress() == 1);
  CHECK(pieces_of(pp.pick(12, bits("11111111111111111111"), 100)).size() == 2);
}

TEST_CASE("strategies: sequential takes the lowest index, random ignores availability") {
  auto has_all = bits("11111111");
  picker_config seq = seeded();
  seq.strategy = pick_strategy::sequential;
  auto s = make(8, 1, seq);
  s.add_peer_pieces(bits("00001111"));  // 4..7 more common: rarest would avoid them
  std::vector<std::uint32_t> order;
  for (int i = 0; i < 8; ++i) order.push_back(s.pick(1, has_all, 1).at(0).piece);
  CHECK(order == std::vector<std::uint32_t>{0, 1, 2, 3, 4, 5, 6, 7});

  // Random: the same seed gives the same order, which is not the rarest-first one.
  picker_config rnd = seeded(3);
  rnd.strategy = pick_strategy::random;
  auto a = make(8, 1, rnd), b = make(8, 1, rnd);
  a.add_peer_pieces(bits("11110000"));
  std::vector<std::uint32_t> oa, ob;
  for (int i = 0; i < 8; ++i) {
    oa.push_back(a.pick(1, has_all, 1).at(0).piece);
    ob.push_back(b.pick(1, has_all, 1).at(0).piece);
  }
  CHECK(oa == ob);
  CHECK(oa != std::vector<std::uint32_t>{0, 1, 2, 3, 4, 5, 6, 7});
  // Rarest-first would take all of 4..7 (availability 0... plus our peer) first.
  std::set<std::uint32_t> first_four(oa.begin(), oa.begin() + 4);
  CHECK(first_four != std::set<std::uint32_t>{4, 5, 6, 7});
}

TEST_CASE("min_availability counts connected peers and our own copies") {
  auto pp = make(4, 1);
  CHECK(pp.min_availability() == 0);
  pp.add_peer_pieces(bits("1110"));
  CHECK(pp.min_availability() == 0);  // piece 3 is nowhere
  pp.add_peer_piece(3);
  CHECK(pp.min_availability() == 1);
  pp.add_peer_pieces(bits("1111"));
  pp.set_have(3);
  CHECK(pp.min_availability() == 2);
  pp.remove_peer_pieces(bits("1111"));
  CHECK(pp.min_availability() == 1);
}
