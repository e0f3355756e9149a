// The fast extension (BEP 6): the allowed-fast set, the suggestion memory,
// and what peer_protocol does with the new messages, both ways.
#include "allowed_fast.hpp"
#include "peer_protocol.hpp"
#include "piece_suggestions.hpp"

#include "wire_decoder.hpp"
#include "wire_encoder.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

using namespace actorrent;
using namespace std::chrono_literals;

namespace {

using tp = peer_protocol::time_point;
const tp t0{std::chrono::hours(1)};

constexpr std::uint32_t pieces = 40;
constexpr std::int64_t piece_len = 64 * 1024;
const std::array<std::uint8_t, 4> peer_ip{10, 1, 2, 3};

peer_config config() {
  peer_config c;
  c.info_hash = sha1(std::string_view("fast extension test"));
  c.our_id.fill('u');
  c.num_pieces = pieces;
  c.piece_length = piece_len;
  c.total_length = piece_len * pieces;
  return c;
}

wire::handshake their_handshake(const peer_config& c, bool fast = true) {
  wire::handshake hs;
  hs.info_hash = c.info_hash;
  hs.peer_id.fill('t');
  if (fast) hs.reserved[7] |= 0x04;
  return hs;
}

// One decoded message, its fields copied out of the decoder.
struct seen {
  std::string name;
  std::uint32_t piece = 0, begin = 0, length = 0;
};

std::vector<seen> take_sent(peer_protocol& p, bool with_handshake = false) {
  std::span<const std::uint8_t> rest(p.pending().send);
  if (with_handshake) rest = rest.subspan(wire::handshake_size);
  wire::decoder d({}, false);
  d.feed(rest);
  std::vector<seen> out;
  for (;;) {
    auto m = d.next();
    REQUIRE(m.has_value());
    if (!m->has_value()) break;
    const auto& msg = std::get<wire::message>(**m);
    seen s{std::string(wire::message_name(msg))};
    if (auto* r = std::get_if<wire::request>(&msg)) s = {s.name, r->piece, r->begin, r->length};
    if (auto* r = std::get_if<wire::reject_request>(&msg)) s = {s.name, r->piece, r->begin, r->length};
    if (auto* r = std::get_if<wire::piece>(&msg))
      s = {s.name, r->piece, r->begin, static_cast<std::uint32_t>(r->data.size())};
    if (auto* a = std::get_if<wire::allowed_fast>(&msg)) s.piece = a->piece;
    out.push_back(s);
  }
  p.pending().clear();
  return out;
}

std::vector<std::string> names(const std::vector<seen>& v) {
  std::vector<std::string> out;
  for (auto& s : v) out.push_back(s.name);
  return out;
}

std::string raw_ip() { return std::string(peer_ip.begin(), peer_ip.end()); }

// A connection to a fast peer that has every piece, unchoked and
// interested, with its first want answered by `work`.
struct downloading {
  peer_config cfg = config();
  peer_protocol p{cfg, false, t0};

  explicit downloading(std::vector<block_ref> work) {
    p.on_connected(t0);
    p.on_handshake(their_handshake(cfg), t0);
    REQUIRE(p.fast());
    p.on_joined({}, t0);
    p.on_message(wire::have_all{}, t0, 0);
    REQUIRE(p.pending().bitfield.has_value());
    p.on_bitfield_answer(true, t0);
    p.on_message(wire::unchoke{}, t0, 0);
    p.request_work(t0);
    REQUIRE(p.pending().want.has_value());
    p.pending().clear();
    p.on_work(std::move(work), t0);
    p.pending().clear();
  }
};

std::vector<block_ref> blocks_of(std::uint32_t piece, std::uint32_t n) {
  std::vector<block_ref> v;
  for (std::uint32_t i = 0; i < n; ++i) v.push_back({piece, i * 16384, 16384});
  return v;
}

// A fast peer connected to us, which has every piece; choked.
struct uploading {
  peer_config cfg = config();
  peer_protocol p{cfg, true, t0};
  std::vector<std::uint32_t> allowed;

  uploading() {
    p.set_remote_ip(raw_ip());
    p.on_handshake(their_handshake(cfg), t0);
    REQUIRE(p.fast());
    bitfield ours(pieces, true);
    p.on_joined(ours.bytes(), t0);
    allowed = allowed_fast_set(peer_ip, cfg.info_hash, pieces, allowed_fast_count(pieces));
    REQUIRE(allowed.size() == 10);
    p.on_message(wire::interested{}, t0, 0);
    p.pending().clear();
  }
  std::uint32_t not_allowed() const {
    for (std::uint32_t i = 0; i < pieces; ++i)
      if (std::find(allowed.begin(), allowed.end(), i) == allowed.end()) return i;
    FAIL("every piece is allowed");
    return 0;
  }
};

} // namespace

TEST_CASE("allowed-fast set: the BEP 6 test vector") {
  const std::array<std::uint8_t, 4> ip{80, 4, 4, 200};
  sha1_hash h;
  h.bytes.fill(0xaa);
  CHECK(allowed_fast_set(ip, h, 1313, 7)
        == std::vector<std::uint32_t>{1059, 431, 808, 1217, 287, 376, 1188});
  CHECK(allowed_fast_set(ip, h, 1313, 9)
        == std::vector<std::uint32_t>{1059, 431, 808, 1217, 287, 376, 1188, 353, 508});
  // Only the /24 counts: another address of the same network, same set.
  CHECK(allowed_fast_set({80, 4, 4, 1}, h, 1313, 9) == allowed_fast_set(ip, h, 1313, 9));
  CHECK(allowed_fast_set({80, 4, 5, 200}, h, 1313, 9) != allowed_fast_set(ip, h, 1313, 9));
}

TEST_CASE("allowed-fast set: ten pieces, fewer for tiny torrents, always distinct and in range") {
  sha1_hash h = sha1(std::string_view("x"));
  CHECK(allowed_fast_count(1000) == 10);
  CHECK(allowed_fast_count(20) == 10);
  CHECK(allowed_fast_count(7) == 3);
  CHECK(allowed_fast_count(1) == 0);
  CHECK(allowed_fast_set(peer_ip, h, 1, allowed_fast_count(1)).empty());
  CHECK(allowed_fast_set(peer_ip, h, 0, 10).empty());
  for (std::uint32_t n : {2u, 3u, 7u, 10u, 64u}) {
    auto set = allowed_fast_set(peer_ip, h, n, n);  // every piece: still ends
    CHECK(set.size() == n);
    CHECK(std::set<std::uint32_t>(set.begin(), set.end()).size() == set.size());
    CHECK(std::all_of(set.begin(), set.end(), [n](auto i) { return i < n; }));
  }
}

TEST_CASE("piece suggestions: the newest few, forgotten once we have the piece") {
  piece_suggestions s(3);
  bitfield theirs(10, true), ours(10);
  for (std::uint32_t p : {1u, 2u, 3u, 4u}) s.add(p);
  CHECK(s.size() == 3);  // 1 forgotten
  s.add(3);              // a repeat costs nothing
  CHECK(s.size() == 3);
  ours.set(2);
  theirs.reset(4);
  auto w = s.wanted(theirs, ours);
  CHECK(w.count() == 1);
  CHECK(w.test(3));
  CHECK(s.size() == 2);  // 2 is ours now
  s.add(99);             // out of range: dropped when looked at
  s.wanted(theirs, ours);
  CHECK(s.size() == 2);
}

TEST_CASE("handshake: the fast bit is ours to send; fast only when both set it") {
  auto cfg = config();
  peer_protocol out(cfg, false, t0);
  out.on_connected(t0);
  REQUIRE(out.pending().send.size() >= wire::handshake_size);
  CHECK((out.pending().send[20 + 7] & 0x04) != 0);
  out.on_handshake(their_handshake(cfg, false), t0);
  CHECK_FALSE(out.fast());

  peer_protocol both(cfg, false, t0);
  both.on_connected(t0);
  both.on_handshake(their_handshake(cfg, true), t0);
  CHECK(both.fast());

  // A connection that only fetches metadata has no pieces: no fast bit.
  auto meta = cfg;
  meta.metadata_only = true;
  meta.num_pieces = 0;
  peer_protocol m(meta, false, t0);
  m.on_connected(t0);
  CHECK((m.pending().send[20 + 7] & 0x04) == 0);
}

TEST_CASE("fast messages from a peer that did not set the bit end the connection") {
  auto cfg = config();
  for (const wire::message& msg :
       {wire::message{wire::have_all{}}, wire::message{wire::have_none{}},
        wire::message{wire::suggest_piece{1}}, wire::message{wire::allowed_fast{1}},
        wire::message{wire::reject_request{0, 0, 16384}}}) {
    peer_protocol p(cfg, false, t0);
    p.on_connected(t0);
    p.on_handshake(their_handshake(cfg, false), t0);
    p.on_joined({}, t0);
    p.on_message(msg, t0, 0);
    REQUIRE(p.closing());
    CHECK(p.pending().close->code == errc::wire_protocol);
    CHECK(p.pending().close->message.find(std::string(wire::message_name(msg))) == 0);
  }
}

TEST_CASE("what we have goes out as have_none, have_all or a bitfield, then allowed_fast") {
  auto cfg = config();
  auto allowed = allowed_fast_set(peer_ip, cfg.info_hash, pieces, allowed_fast_count(pieces));
  auto start = [&](bool fast) {
    peer_protocol p(cfg, true, t0);
    p.set_remote_ip(raw_ip());
    p.on_handshake(their_handshake(cfg, fast), t0);
    p.pending().send.erase(p.pending().send.begin(), p.pending().send.begin() + wire::handshake_size);
    return p;
  };
  SUBCASE("nothing: have_none (and no allowed_fast yet); a verified piece of the set follows") {
    auto p = start(true);
    p.on_joined({}, t0);
    CHECK(names(take_sent(p)) == std::vector<std::string>{"have_none"});
    p.on_have(allowed[0], t0);
    auto s = take_sent(p);
    REQUIRE(s.size() == 2);
    CHECK(s[0].name == "have");
    CHECK(s[1].name == "allowed_fast");
    CHECK(s[1].piece == allowed[0]);
  }
  SUBCASE("everything: have_all, then the whole allowed-fast set") {
    auto p = start(true);
    bitfield ours(pieces, true);
    p.on_joined(ours.bytes(), t0);
    auto s = take_sent(p);
    REQUIRE(s.size() == 1 + allowed.size());
    CHECK(s[0].name == "have_all");
    for (std::size_t i = 0; i < allowed.size(); ++i) {
      CHECK(s[i + 1].name == "allowed_fast");
      CHECK(s[i + 1].piece == allowed[i]);
    }
  }
  SUBCASE("some: a bitfield, and allowed_fast for the pieces of the set we have") {
    auto p = start(true);
    bitfield ours(pieces);
    ours.set(allowed[1]);
    ours.set(allowed[0] == 0 ? 1 : 0);
    p.on_joined(ours.bytes(), t0);
    auto s = take_sent(p);
    REQUIRE(s.size() >= 2);
    CHECK(s[0].name == "bitfield");
    CHECK(s.back().name == "allowed_fast");
    CHECK(std::count_if(s.begin(), s.end(), [&](auto& m) { return m.name == "allowed_fast"; })
          == static_cast<long>(std::count_if(allowed.begin(), allowed.end(),
                                             [&](auto i) { return ours.test(i); })));
  }
  SUBCASE("a peer without the extension gets the BEP 3 bitfield, or nothing") {
    auto p = start(false);
    p.on_joined({}, t0);
    CHECK(p.pending().send.empty());
    auto q = start(false);
    bitfield ours(pieces, true);
    q.on_joined(ours.bytes(), t0);
    CHECK(names(take_sent(q)) == std::vector<std::string>{"bitfield"});
  }
}

TEST_CASE("have_all and have_none from a fast peer reach the PieceManager as a bitfield") {
  auto cfg = config();
  peer_protocol p(cfg, false, t0);
  p.on_connected(t0);
  p.on_handshake(their_handshake(cfg), t0);
  p.on_joined({}, t0);
  p.pending().clear();
  p.on_message(wire::have_all{}, t0, 0);
  REQUIRE(p.pending().bitfield);
  CHECK(*p.pending().bitfield == bitfield(pieces, true).bytes());
  CHECK(p.stats().seed);
  p.pending().clear();
  p.on_message(wire::have_none{}, t0, 0);
  REQUIRE(p.pending().bitfield);
  CHECK(*p.pending().bitfield == bitfield(pieces).bytes());
  CHECK_FALSE(p.stats().seed);
}

TEST_CASE("a choke from a fast peer keeps our requests until it rejects or serves them") {
  downloading d(blocks_of(3, 4));
  auto& p = d.p;
  CHECK(p.requests_in_flight() == 4);
  p.on_message(wire::choke{}, t0 + 1s, 0);
  CHECK(p.pending().drop.empty());
  CHECK(p.requests_in_flight() == 4);

  // One is served after all, one rejected: that one goes back at once.
  std::vector<std::uint8_t> data(16384, 1);
  p.on_message(wire::piece{3, 0, data}, t0 + 1s, 0);
  p.on_message(wire::reject_request{3, 16384, 16384}, t0 + 1s, 0);
  REQUIRE(p.pending().blocks.size() == 1);
  REQUIRE(p.pending().drop.size() == 1);
  CHECK(p.pending().drop[0] == block_ref{3, 16384, 16384});
  CHECK(p.requests_in_flight() == 2);
  p.request_work(t0 + 1s);
  CHECK_FALSE(p.pending().want);  // choked, no allowed-fast pieces
  p.pending().clear();

  // Unchoked: the two still outstanding are not sent again; only new work.
  p.on_message(wire::unchoke{}, t0 + 2s, 0);
  CHECK(p.pending().send.empty());
  p.request_work(t0 + 2s);
  REQUIRE(p.pending().want);
  CHECK(*p.pending().want == p.pipeline() - 2);
  p.pending().clear();
  p.on_work(blocks_of(5, 2), t0 + 2s);
  auto s = take_sent(p);
  REQUIRE(s.size() == 2);
  CHECK(s[0].piece == 5);
  CHECK(s[1].piece == 5);
  CHECK(p.requests_in_flight() == 4);
}

TEST_CASE("without the fast extension a choke still gives every request back") {
  auto cfg = config();
  peer_protocol p(cfg, false, t0);
  p.on_connected(t0);
  p.on_handshake(their_handshake(cfg, false), t0);
  p.on_joined({}, t0);
  auto all = bitfield(pieces, true).bytes();
  p.on_message(wire::bitfield{all}, t0, 0);
  p.on_bitfield_answer(true, t0);
  p.on_message(wire::unchoke{}, t0, 0);
  p.request_work(t0);
  p.pending().clear();
  p.on_work(blocks_of(3, 4), t0);
  p.pending().clear();
  p.on_message(wire::choke{}, t0, 0);
  CHECK(p.pending().drop.size() == 4);
  CHECK(p.requests_in_flight() == 0);
}

TEST_CASE("a reject while unchoked returns the block and waits for the tick to ask again") {
  downloading d(blocks_of(3, 2));
  auto& p = d.p;
  p.on_message(wire::reject_request{3, 0, 16384}, t0, 0);
  REQUIRE(p.pending().drop.size() == 1);
  p.request_work(t0);
  CHECK_FALSE(p.pending().want);
  p.pending().clear();
  p.on_tick(t0 + 1s);
  CHECK(p.pending().want);
  // A reject of something never asked (or cancelled since) changes nothing.
  p.pending().clear();
  p.on_message(wire::reject_request{9, 0, 16384}, t0 + 1s, 0);
  CHECK(p.pending().drop.empty());
  CHECK_FALSE(p.closing());
}

TEST_CASE("choked by a fast peer: we ask for its allowed-fast pieces only") {
  downloading d({});
  auto& p = d.p;
  p.on_message(wire::choke{}, t0, 0);
  p.on_message(wire::allowed_fast{7}, t0, 0);
  p.on_message(wire::allowed_fast{9}, t0, 0);
  p.on_message(wire::allowed_fast{7}, t0, 0);  // repeated: once
  CHECK(p.allowed_fast_from_peer() == std::vector<std::uint32_t>{7, 9});
  p.request_work(t0);
  REQUIRE(p.pending().want);
  CHECK(p.pending().want_pieces == std::vector<std::uint32_t>{7, 9});
  p.pending().clear();
  // Blocks of other pieces (an answer to an earlier want) go back.
  auto work = blocks_of(7, 2);
  work.push_back({4, 0, 16384});
  p.on_work(work, t0);
  REQUIRE(p.pending().drop.size() == 1);
  CHECK(p.pending().drop[0].piece == 4);
  auto s = take_sent(p);
  REQUIRE(s.size() == 2);
  CHECK((s[0].name == "request" && s[0].piece == 7));
  // Rejected all the same while choked: the piece is no longer counted on.
  p.on_message(wire::reject_request{7, 0, 16384}, t0, 0);
  CHECK(p.allowed_fast_from_peer() == std::vector<std::uint32_t>{9});
  // Once piece 9 is ours, there is nothing left to ask a choking peer for.
  p.pending().clear();
  p.on_work({}, t0);
  p.on_have(9, t0);
  p.pending().clear();
  p.request_work(t0);
  CHECK_FALSE(p.pending().want);
}

TEST_CASE("suggestions from a fast peer are passed on, bounded") {
  downloading d({});
  auto& p = d.p;
  for (std::uint32_t i = 0; i < 30; ++i) p.on_message(wire::suggest_piece{i % 20}, t0, 0);
  CHECK(p.pending().suggests.size() == 16);
  CHECK_FALSE(p.closing());
}

TEST_CASE("uploading to a fast peer: every request we drop is rejected") {
  uploading u;
  auto& p = u.p;
  SUBCASE("choked: a request is rejected; an allowed-fast one is served all the same") {
    const auto other = u.not_allowed();
    p.on_message(wire::request{other, 0, 16384}, t0, 0);
    auto s = take_sent(p);
    REQUIRE(s.size() == 1);
    CHECK(s[0].name == "reject_request");
    CHECK(s[0].piece == other);
    p.on_message(wire::request{u.allowed[0], 16384, 16384}, t0, 0);
    REQUIRE(p.pending().load.size() == 1);
    CHECK(p.pending().load[0].piece == u.allowed[0]);
    p.pending().clear();
    p.on_piece_loaded(u.allowed[0], 16384, std::vector<std::uint8_t>(16384, 3), t0, 0);
    s = take_sent(p);
    REQUIRE(s.size() == 1);
    CHECK(s[0].name == "piece");
    CHECK(s[0].begin == 16384);
    CHECK(p.am_choking());
  }
  SUBCASE("a cancel is answered with a reject, unless the block was sent") {
    p.set_choking(false, t0, 0);
    p.on_message(wire::request{2, 0, 16384}, t0, 0);
    p.on_message(wire::request{2, 16384, 16384}, t0, 0);
    p.pending().clear();
    p.on_message(wire::cancel{2, 16384, 16384}, t0, 0);
    auto s = take_sent(p);
    REQUIRE(s.size() == 1);
    CHECK(s[0].name == "reject_request");
    CHECK(s[0].begin == 16384);
    p.on_piece_loaded(2, 0, std::vector<std::uint8_t>(16384, 3), t0, 0);
    CHECK(names(take_sent(p)) == std::vector<std::string>{"piece"});
    p.on_message(wire::cancel{2, 0, 16384}, t0, 0);  // too late: already sent
    CHECK(p.pending().send.empty());
  }
  SUBCASE("our choke rejects what is queued, except the allowed-fast requests") {
    p.set_choking(false, t0, 0);
    const auto other = u.not_allowed();
    p.on_message(wire::request{other, 0, 16384}, t0, 0);
    p.on_message(wire::request{u.allowed[1], 0, 16384}, t0, 0);
    p.pending().clear();
    p.set_choking(true, t0, 0);
    auto s = take_sent(p);
    REQUIRE(s.size() == 2);
    CHECK(s[0].name == "reject_request");
    CHECK(s[0].piece == other);
    CHECK(s[1].name == "choke");
    CHECK(p.upload_queue_size() == 1);
  }
  SUBCASE("bad requests are rejected, a stream of them ends the connection") {
    p.set_choking(false, t0, 0);
    p.pending().clear();
    p.on_message(wire::request{0, static_cast<std::uint32_t>(piece_len), 16384}, t0, 0);
    auto s = take_sent(p);
    REQUIRE(s.size() == 1);
    CHECK(s[0].name == "reject_request");
    for (std::size_t i = 1; i < u.cfg.max_choked_requests; ++i)
      p.on_message(wire::request{0, static_cast<std::uint32_t>(piece_len), 16384}, t0, 0);
    CHECK_FALSE(p.closing());
    p.on_message(wire::request{0, static_cast<std::uint32_t>(piece_len), 16384}, t0, 0);
    CHECK(p.closing());
  }
  SUBCASE("not interested any more: the queue is rejected") {
    p.set_choking(false, t0, 0);
    p.on_message(wire::request{3, 0, 16384}, t0, 0);
    p.pending().clear();
    p.on_message(wire::not_interested{}, t0, 0);
    CHECK(names(take_sent(p)) == std::vector<std::string>{"reject_request"});
    CHECK(p.upload_queue_size() == 0);
  }
}
