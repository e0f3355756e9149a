// The picker's file selection: skipped pieces, priorities, completion of a
// selection, and sequential order within the in-progress window.
#include "piece_picker.hpp"

#include <doctest/doctest.h>

#include <set>
#include <string_view>
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

piece_picker make(std::uint32_t pieces, std::uint32_t blocks, picker_config cfg = {}) {
  if (cfg.seed == 0) cfg.seed = 1;
  std::int64_t len = std::int64_t{blocks} * bs;
  return piece_picker(pieces, len, len * pieces, cfg);
}

std::set<std::uint32_t> pieces_of(const std::vector<block_ref>& v) {
  std::set<std::uint32_t> s;
  for (const auto& b : v) s.insert(b.piece);
  return s;
}

// Receives and passes every block handed out.
void deliver(piece_picker& pp, peer_key peer, const std::vector<block_ref>& blocks) {
  for (const auto& b : blocks) {
    auto r = pp.on_block(peer, b);
    if (r.piece_complete) pp.on_piece_passed(b.piece);
  }
}

} // namespace

TEST_CASE("skipped pieces are never requested, and the selection completes without them") {
  auto pp = make(6, 2);
  pp.set_priorities({1, 0, 1, 0, 0, 1});
  CHECK(pp.wanted_missing_blocks() == 6);
  CHECK(pp.missing_blocks() == 12);
  auto got = pp.pick(1, bits("111111"), 100);
  CHECK(pieces_of(got) == std::set<std::uint32_t>{0, 2, 5});
  CHECK(got.size() == 6);
  // Every wanted block is in flight: this is end-game, though skipped
  // blocks remain unrequested.
  CHECK(pp.in_endgame());
  CHECK(pp.pick(2, bits("111111"), 100).size() == 6);  // duplicates only
  CHECK(pp.pick(3, bits("010110"), 100).empty());      // a peer with only skipped pieces
  deliver(pp, 1, got);
  CHECK(pp.wanted_complete());
  CHECK_FALSE(pp.complete());
  CHECK_FALSE(pp.in_endgame());
  CHECK(pp.pick(4, bits("111111"), 100).empty());
}

TEST_CASE("higher priority first, then the strategy") {
  auto pp = make(8, 1);
  pp.add_peer_pieces(bits("11110000"));  // 4..7 rarest
  pp.set_priorities({1, 1, 3, 1, 1, 2, 1, 2});
  std::vector<std::uint32_t> order;
  for (int i = 0; i < 3; ++i) order.push_back(pp.pick(1, bits("11111111"), 1).at(0).piece);
  CHECK(order.at(0) == 2);                                      // priority 3, though common
  CHECK(std::set<std::uint32_t>{order[1], order[2]} == std::set<std::uint32_t>{5, 7});
  // Then priority 1: the rare ones (4, 6) before the common ones.
  std::set<std::uint32_t> next{pp.pick(1, bits("11111111"), 1).at(0).piece,
                               pp.pick(1, bits("11111111"), 1).at(0).piece};
  CHECK(next == std::set<std::uint32_t>{4, 6});

  picker_config seq;
  seq.strategy = pick_strategy::sequential;
  auto s = make(6, 1, seq);
  s.set_priorities({1, 0, 1, 2, 1, 1});
  std::vector<std::uint32_t> got;
  for (int i = 0; i < 5; ++i) {
    auto b = s.pick(1, bits("111111"), 1);
    if (b.empty()) break;
    got.push_back(b.at(0).piece);
  }
  CHECK(got == std::vector<std::uint32_t>{3, 0, 2, 4, 5});
}

TEST_CASE("changing priorities at run time") {
  auto pp = make(4, 2);
  pp.set_priorities({0, 0, 0, 1});
  auto got = pp.pick(1, bits("1111"), 100);
  CHECK(pieces_of(got) == std::set<std::uint32_t>{3});
  deliver(pp, 1, got);
  CHECK(pp.wanted_complete());

  // More files chosen: the selection is incomplete again, only the new pieces come.
  pp.set_priorities({0, 1, 0, 1});
  CHECK_FALSE(pp.wanted_complete());
  CHECK(pp.wanted_missing_blocks() == 2);
  auto more = pp.pick(1, bits("1111"), 100);
  CHECK(pieces_of(more) == std::set<std::uint32_t>{1});

  // Skipping a piece in progress: it is still finished, nothing else starts.
  pp.on_block(1, more.at(0));
  pp.set_priorities({0, 0, 0, 1});
  CHECK(pp.wanted_missing_blocks() == 1);
  CHECK_FALSE(pp.wanted_complete());
  pp.on_request_dropped(1, more.at(1));
  auto again = pp.pick(2, bits("1111"), 100);
  REQUIRE(again.size() == 1);
  CHECK(again.at(0) == more.at(1));
  deliver(pp, 2, again);
  CHECK(pp.have(1));
  CHECK(pp.wanted_complete());

  // A failed skipped piece goes back to being skipped, not wanted.
  pp.set_priorities({1, 0, 0, 1});
  auto zero = pp.pick(3, bits("1111"), 100);
  CHECK(pieces_of(zero) == std::set<std::uint32_t>{0});
  for (const auto& b : zero) pp.on_block(3, b);
  CHECK(pp.pending_verification(0));
  pp.set_priorities({0, 0, 0, 1});
  CHECK_FALSE(pp.wanted_complete());  // pending: its verdict is awaited
  pp.on_piece_failed(0);
  CHECK(pp.wanted_complete());
  CHECK(pp.pick(3, bits("1111"), 100).empty());
}

TEST_CASE("sequential: in index order, within the window of pieces in progress") {
  picker_config seq;
  seq.strategy = pick_strategy::sequential;
  seq.max_pieces_in_progress = 2;
  auto pp = make(10, 4, seq);
  pp.add_peer_pieces(bits("0000011111"));  // rarest-first would start at 0..4 in any order
  std::vector<std::uint32_t> completed;
  for (int round = 0; round < 10; ++round) {
    auto a = pp.pick(1, bits("1111111111"), 6);
    auto b = pp.pick(2, bits("1111111111"), 6);
    // Never more than two pieces open, and they are the lowest missing ones.
    CHECK(pp.pieces_in_progress() <= 2);
    auto opened = pieces_of(a);
    opened.merge(pieces_of(b));
    for (auto p : opened) CHECK(p < completed.size() + 2);
    // Pieces complete in order: deliver everything handed out.
    for (const auto& blocks : {a, b})
      for (const auto& blk : blocks) {
        auto r = pp.on_block(blk.piece % 2 == 0 ? 1 : 2, blk);
        if (r.piece_complete) {
          pp.on_piece_passed(blk.piece);
          completed.push_back(blk.piece);
        }
      }
    if (pp.complete()) break;
  }
  CHECK(pp.complete());
  CHECK(completed == std::vector<std::uint32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
}
