// The per-connection protocol as a plain class: fed wire messages, answers
// and a fake clock, checked by the actions it asks for.
#include "peer_protocol.hpp"

#include "wire_decoder.hpp"
#include "wire_encoder.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

using namespace actorrent;
using namespace std::chrono_literals;

namespace {

using tp = peer_protocol::time_point;
const tp t0{std::chrono::hours(1)};

constexpr std::uint32_t pieces = 8;
constexpr std::int64_t piece_len = 64 * 1024;

peer_config config() {
  peer_config c;
  c.info_hash = sha1(std::string_view("peer protocol test"));
  c.our_id.fill('u');
  c.num_pieces = pieces;
  c.piece_length = piece_len;
  c.total_length = piece_len * (pieces - 1) + 1000;  // short last piece
  return c;
}

wire::handshake their_handshake(const peer_config& c) {
  wire::handshake hs;
  hs.info_hash = c.info_hash;
  hs.peer_id.fill('t');
  return hs;
}

// Decodes what the protocol asked to send (after the handshake, if any).
std::vector<std::string> sent(peer_protocol& p, bool with_handshake = false) {
  auto& bytes = p.pending().send;
  std::vector<std::string> names;
  std::span<const std::uint8_t> rest(bytes);
  if (with_handshake) {
    REQUIRE(rest.size() >= wire::handshake_size);
    names.push_back("handshake");
    rest = rest.subspan(wire::handshake_size);
  }
  wire::decoder d({}, false);
  d.feed(rest);
  for (;;) {
    auto m = d.next();
    REQUIRE(m.has_value());
    if (!m->has_value()) break;
    names.emplace_back(wire::message_name(std::get<wire::message>(**m)));
  }
  return names;
}

std::vector<std::string> take_sent(peer_protocol& p, bool with_handshake = false) {
  auto out = sent(p, with_handshake);
  p.pending().clear();
  return out;
}

// An outgoing connection past the handshake, unchoked and interested, with
// its first want answered by `blocks`.
struct downloading {
  peer_config cfg = config();
  peer_protocol p{cfg, false, t0};

  downloading() {
    p.on_connected(t0);
    p.on_handshake(their_handshake(cfg), t0);
    REQUIRE(p.pending().joined);
    p.on_joined({}, t0);
    bitfield all(pieces, true);
    auto bytes = all.bytes();
    p.on_message(wire::bitfield{bytes}, t0, 0);
    REQUIRE(p.pending().bitfield.has_value());
    p.on_bitfield_answer(true, t0);
    p.on_message(wire::unchoke{}, t0, 0);
    p.request_work(t0);
    p.pending().clear();
  }
};

std::vector<block_ref> blocks_of(std::uint32_t piece, std::uint32_t n) {
  std::vector<block_ref> v;
  for (std::uint32_t i = 0; i < n; ++i) v.push_back({piece, i * 16384, 16384});
  return v;
}

void deliver(peer_protocol& p, const block_ref& b, tp now) {
  std::vector<std::uint8_t> data(b.length, 0x5a);
  p.on_message(wire::piece{b.piece, b.begin, data}, now, 0);
}

} // namespace

TEST_CASE("handshake: ours first when we connect, theirs checked, then we join") {
  auto cfg = config();
  peer_protocol out(cfg, false, t0);
  out.on_connected(t0);
  CHECK(take_sent(out, true) == std::vector<std::string>{"handshake"});
  out.on_handshake(their_handshake(cfg), t0 + 10ms);
  CHECK(out.handshaken());
  CHECK(out.pending().joined);
  CHECK(out.pending().send.empty());  // we already spoke

  // Incoming: theirs came first, ours answers it.
  peer_protocol in(cfg, true, t0);
  in.on_handshake(their_handshake(cfg), t0);
  CHECK(take_sent(in, true) == std::vector<std::string>{"handshake"});

  // Another torrent, or ourselves: closed, never joined.
  auto other = their_handshake(cfg);
  other.info_hash = sha1(std::string_view("another torrent"));
  peer_protocol a(cfg, false, t0);
  a.on_handshake(other, t0);
  REQUIRE(a.closing());
  CHECK(a.pending().close->message == "handshake for another torrent");
  CHECK_FALSE(a.pending().joined);
  auto self = their_handshake(cfg);
  self.peer_id = cfg.our_id;
  peer_protocol b(cfg, false, t0);
  b.on_handshake(self, t0);
  CHECK(b.pending().close->message == "connected to ourselves");

  // No handshake within connect + handshake timeout.
  peer_protocol slow(cfg, false, t0);
  slow.on_tick(t0 + 20s);
  CHECK_FALSE(slow.closing());
  slow.on_tick(t0 + 26s);
  CHECK(slow.pending().close->message == "no handshake");
}

TEST_CASE("interest follows the PieceManager's verdicts; work is asked for once unchoked") {
  auto cfg = config();
  peer_protocol p(cfg, false, t0);
  p.on_connected(t0);
  p.on_handshake(their_handshake(cfg), t0);
  bitfield ours(pieces);
  ours.set(2);
  p.on_joined(ours.bytes(), t0);
  CHECK(take_sent(p, true) == std::vector<std::string>{"handshake", "bitfield"});

  bitfield theirs(pieces);
  theirs.set(5);
  auto bytes = theirs.bytes();
  p.on_message(wire::bitfield{bytes}, t0, 0);
  REQUIRE(p.pending().bitfield.has_value());
  CHECK(*p.pending().bitfield == bytes);
  p.pending().clear();
  p.on_bitfield_answer(true, t0);
  CHECK(take_sent(p) == std::vector<std::string>{"interested"});
  CHECK_FALSE(p.pending().want);  // still choked
  p.on_message(wire::unchoke{}, t0, 0);
  p.request_work(t0);
  REQUIRE(p.pending().want);
  CHECK(*p.pending().want == cfg.initial_pipeline);
  p.pending().clear();
  // A HAVE is asked about once; a repeated one costs nothing.
  p.on_message(wire::have{6}, t0, 0);
  p.on_message(wire::have{6}, t0, 0);
  CHECK(p.pending().haves == std::vector<std::uint32_t>{6});
  // Once we have everything, interest ends.
  p.pending().clear();
  for (std::uint32_t i = 0; i < pieces; ++i) p.on_have(i, t0);
  auto names = take_sent(p);
  CHECK(std::count(names.begin(), names.end(), "have") == pieces - 1);  // not piece 2 again
  CHECK(names.back() == "not_interested");
}

TEST_CASE("work becomes requests; requested blocks are reported, others ignored") {
  downloading d;
  auto& p = d.p;
  auto blocks = blocks_of(1, 4);
  p.on_work(blocks, t0);
  CHECK(take_sent(p) == std::vector<std::string>(4, "request"));
  CHECK(p.requests_in_flight() == 4);
  deliver(p, blocks[0], t0 + 10ms);
  deliver(p, {3, 0, 16384}, t0 + 10ms);                // never asked for
  std::vector<std::uint8_t> short_data(100);
  p.on_message(wire::piece{1, 16384, short_data}, t0, 0);  // wrong length
  REQUIRE(p.pending().blocks.size() == 1);
  CHECK(p.pending().blocks[0].ref == blocks[0]);
  CHECK(p.pending().blocks[0].data.size() == 16384);
  CHECK(p.stats().downloaded == 16384);
  CHECK(p.requests_in_flight() == 3);
  p.pending().clear();

  // End-game: another peer delivered block 1 first; CANCEL goes out.
  p.on_cancel(blocks[1], t0);
  CHECK(take_sent(p) == std::vector<std::string>{"cancel"});
  // A choke gives back everything still in flight.
  p.on_message(wire::choke{}, t0, 0);
  CHECK(p.pending().drop == std::vector<block_ref>{blocks[2], blocks[3]});
  CHECK(p.requests_in_flight() == 0);
  p.pending().clear();
  // Work that arrives while choked goes straight back.
  p.on_work(blocks_of(2, 2), t0);
  CHECK(p.pending().drop.size() == 2);
  CHECK(p.pending().send.empty());
}

TEST_CASE("a busy PieceManager makes the peer ask again, never leave") {
  downloading d;
  auto& p = d.p;
  // The want of the constructor was never answered (pending().clear() dropped
  // the action, as if it was sent): nothing more is asked meanwhile...
  p.request_work(t0 + 1s);
  CHECK_FALSE(p.pending().want);
  for (int s = 1; s <= 30; ++s) {
    p.on_tick(t0 + std::chrono::seconds(s));
    CHECK_FALSE(p.pending().want);
    p.pending().clear();
  }
  // ...and after want_timeout it asks again instead of closing.
  p.on_tick(t0 + 31s);
  CHECK_FALSE(p.closing());
  CHECK(p.pending().want);
  p.pending().clear();
  // The late answer to the first want is used like any other.
  p.on_work(blocks_of(0, 2), t0 + 31s);
  CHECK(p.requests_in_flight() == 2);
  CHECK_FALSE(p.closing());
}

TEST_CASE("snubbing: silence gives the requests back; three times ends the connection") {
  downloading d;
  auto& p = d.p;
  p.on_work(blocks_of(0, 4), t0);
  p.pending().clear();
  tp now = t0;
  for (int round = 1; round <= 3; ++round) {
    CAPTURE(round);
    now += 16s;
    p.on_received(now);  // keep-alives arrive, blocks do not
    p.on_tick(now);
    CHECK(p.pending().drop.size() == 4);
    CHECK(p.pipeline() == d.cfg.min_pipeline);
    if (round < 3) {
      CHECK_FALSE(p.closing());
      CHECK(p.stats().snubbed);
      p.pending().clear();
      p.on_work(blocks_of(static_cast<std::uint32_t>(round), 4), now);
      p.pending().clear();
    }
  }
  CHECK(p.pending().close->message == "peer stopped sending blocks");
}

TEST_CASE("a block withheld while others arrive goes back with a CANCEL") {
  downloading d;
  auto& p = d.p;
  auto blocks = blocks_of(0, 4);
  p.on_work(blocks, t0);
  p.pending().clear();
  // Blocks 1..3 arrive over time, block 0 never does.
  tp now = t0;
  for (int s = 1; s <= 31; ++s) {
    now = t0 + std::chrono::seconds(s);
    if (s <= 3) deliver(p, blocks[static_cast<std::size_t>(s)], now);
    if (s > 3 && s % 10 == 0) {
      p.on_work({{5, static_cast<std::uint32_t>(s) * 16, 16}}, now);  // keep something flowing
      p.on_message(wire::piece{5, static_cast<std::uint32_t>(s) * 16,
                               std::vector<std::uint8_t>(16)},
                   now, 0);
    }
    p.on_received(now);
    p.on_tick(now);
    if (std::find(p.pending().drop.begin(), p.pending().drop.end(), blocks[0])
        != p.pending().drop.end())
      break;
    p.pending().clear();
  }
  CHECK(now - t0 > 30s);
  CHECK(p.pending().drop == std::vector<block_ref>{blocks[0]});
  CHECK(sent(p) == std::vector<std::string>{"cancel"});
  CHECK_FALSE(p.closing());
}

TEST_CASE("the pipeline follows the measured rate, at most doubling per second") {
  downloading d;
  auto& p = d.p;
  std::uint32_t piece = 0;
  tp now = t0;
  std::vector<std::uint32_t> sizes;
  for (int s = 1; s <= 6; ++s) {
    now = t0 + std::chrono::seconds(s);
    // 200 blocks a second (3.2 MiB/s): 3 s worth is 600, capped at 500.
    for (int i = 0; i < 200; ++i) {
      block_ref b{piece / 4, (piece % 4) * 16384, 16384};
      ++piece;
      p.on_work({b}, now);
      deliver(p, b, now);
    }
    p.on_tick(now);
    sizes.push_back(p.pipeline());
    p.pending().clear();
  }
  CHECK(sizes[0] == 64);   // 32 doubled
  CHECK(sizes[1] == 128);
  CHECK(sizes[2] == 256);
  CHECK(sizes.back() <= d.cfg.max_pipeline);
  CHECK(sizes.back() >= 450);
}

TEST_CASE("uploading: requests are checked, served from whole pieces read ahead") {
  auto cfg = config();
  peer_protocol p(cfg, true, t0);
  p.on_handshake(their_handshake(cfg), t0);
  bitfield ours(pieces, true);
  p.on_joined(ours.bytes(), t0);
  p.on_message(wire::interested{}, t0, 0);
  CHECK(p.stats().peer_interested);
  CHECK(p.pending().report);
  p.pending().clear();

  SUBCASE("choked: requests are dropped; a peer that keeps sending them is cut off") {
    for (int i = 0; i < 64; ++i) p.on_message(wire::request{0, 0, 16384}, t0, 0);
    CHECK_FALSE(p.closing());
    CHECK(p.upload_queue_size() == 0);
    p.on_message(wire::request{0, 0, 16384}, t0, 0);
    CHECK(p.pending().close->message == "keeps requesting while choked");
  }
  SUBCASE("bad requests end the connection") {
    p.set_choking(false, t0, 0);
    SUBCASE("too big") {
      p.on_message(wire::request{0, 0, 32768}, t0, 0);
      CHECK(p.pending().close->message == "request of 32768 bytes");
    }
    SUBCASE("beyond the short last piece") {
      p.on_message(wire::request{pieces - 1, 0, 16384}, t0, 0);
      CHECK(p.pending().close->message == "request beyond the end of piece 7");
    }
    SUBCASE("a piece we do not have") {
      peer_protocol q(cfg, true, t0);
      q.on_handshake(their_handshake(cfg), t0);
      q.on_joined({}, t0);
      q.set_choking(false, t0, 0);
      q.on_message(wire::request{3, 0, 16384}, t0, 0);
      CHECK(q.pending().close->message == "request for piece 3 that we do not have");
    }
  }
  SUBCASE("served in order; the next piece is read while this one is sent") {
    p.set_choking(false, t0, 0);
    CHECK(take_sent(p) == std::vector<std::string>{"unchoke"});
    for (std::uint32_t b = 0; b < 4; ++b) p.on_message(wire::request{0, b * 16384, 16384}, t0, 0);
    p.on_message(wire::request{1, 0, 16384}, t0, 0);
    p.on_message(wire::request{2, 0, 16384}, t0, 0);
    // Two reads in flight at most, one per piece.
    REQUIRE(p.pending().load.size() == 2);
    CHECK(p.pending().load[0].piece == 0);
    CHECK(p.pending().load[0].length == piece_len);
    CHECK(p.pending().load[1].piece == 1);
    CHECK(p.pending().send.empty());
    p.pending().clear();
    // The peer cancels its request in piece 2 before we get there.
    p.on_message(wire::cancel{2, 0, 16384}, t0, 0);
    p.on_piece_loaded(0, 0, std::vector<std::uint8_t>(piece_len, 7), t0, 0);
    CHECK(take_sent(p) == std::vector<std::string>(4, "piece"));
    CHECK(p.stats().uploaded == 4 * 16384);
    p.on_piece_loaded(1, 0, std::vector<std::uint8_t>(16384, 7), t0, 0);
    CHECK(take_sent(p) == std::vector<std::string>{"piece"});
    CHECK(p.upload_queue_size() == 0);
    CHECK(p.pending().load.empty());  // piece 2 was cancelled: not read
  }
  SUBCASE("only the requested span of a piece is read, shared by the requests of one batch, and served as it arrives") {
    p.set_choking(false, t0, 0);
    p.pending().clear();
    // One block here, one there: each read is that block, not its piece.
    p.on_message(wire::request{3, 2 * 16384, 16384}, t0, 0);
    p.on_message(wire::request{5, 16384, 16384}, t0, 0);
    // Arriving in the same batch, a neighbour joins the read of piece 3.
    p.on_message(wire::request{3, 16384, 16384}, t0, 0);
    REQUIRE(p.pending().load.size() == 2);
    CHECK(p.pending().load[0].piece == 3);
    CHECK(p.pending().load[0].begin == 16384);
    CHECK(p.pending().load[0].length == 2 * 16384);
    CHECK(p.pending().load[1].piece == 5);
    CHECK(p.pending().load[1].begin == 16384);
    CHECK(p.pending().load[1].length == 16384);
    p.pending().clear();
    // A later request in piece 3 is not in the read in flight: read on its own.
    p.on_message(wire::request{3, 0, 16384}, t0, 0);
    CHECK(p.pending().load.empty());  // two reads in flight already
    std::vector<std::uint8_t> span(2 * 16384);
    for (std::size_t i = 0; i < span.size(); ++i) span[i] = static_cast<std::uint8_t>(i / 16384 + 1);
    p.on_piece_loaded(3, 16384, span, t0, 0);
    // Both blocks the read holds go out, ahead of piece 5's older request
    // still being read: piece 3's third block (the read's second), then its
    // second.
    const auto& out = p.pending().send;
    REQUIRE(out.size() == 2 * (13 + 16384));
    auto u32 = [&](std::size_t at) {
      return std::uint32_t{out[at]} << 24 | std::uint32_t{out[at + 1]} << 16
             | std::uint32_t{out[at + 2]} << 8 | std::uint32_t{out[at + 3]};
    };
    for (std::size_t m = 0; m < 2; ++m) {
      const std::size_t at = m * (13 + 16384);
      CHECK(out[at + 4] == 7);  // PIECE
      CHECK(u32(at + 5) == 3);
      CHECK(u32(at + 9) == (m == 0 ? 2 : 1) * 16384);
      CHECK(out[at + 13] == (m == 0 ? 2 : 1));
    }
    CHECK(p.upload_queue_size() == 2);
    REQUIRE(p.pending().load.size() == 1);
    CHECK(p.pending().load[0].piece == 3);
    CHECK(p.pending().load[0].begin == 0);
    CHECK(p.pending().load[0].length == 16384);
  }
  SUBCASE("while the socket is full, reads ahead stop where they would push out reads still needed") {
    p.set_choking(false, t0, 0);
    p.pending().clear();
    // Six whole pieces asked for at once; the reads kept are four pieces.
    for (std::uint32_t piece = 0; piece < 6; ++piece)
      for (std::uint32_t b = 0; b < 4; ++b) p.on_message(wire::request{piece, b * 16384, 16384}, t0, 0);
    std::map<std::uint32_t, int> reads;
    std::size_t socket = cfg.send_high_water;  // full: nothing can be sent yet
    for (int round = 0; round < 20 && p.upload_queue_size() > 0; ++round) {
      auto loads = p.pending().load;
      p.pending().clear();
      if (loads.empty()) {
        socket = 0;  // the peer read it all
        p.on_drained(t0, socket);
        continue;
      }
      for (const auto& l : loads) {
        ++reads[l.piece];
        p.on_piece_loaded(l.piece, l.begin, std::vector<std::uint8_t>(l.length, 1), t0, socket);
      }
    }
    CHECK(p.upload_queue_size() == 0);
    CHECK(reads.size() == 6);
    for (const auto& [piece, n] : reads) CHECK_MESSAGE(n == 1, "piece " << piece << " read " << n << " times");
  }
  SUBCASE("a full socket pauses serving until it drains") {
    p.set_choking(false, t0, 0);
    p.pending().clear();
    p.on_message(wire::request{0, 0, 16384}, t0, 0);
    p.pending().clear();
    p.on_piece_loaded(0, 0, std::vector<std::uint8_t>(16384, 7), t0, cfg.send_high_water);
    CHECK(p.pending().send.empty());
    REQUIRE(p.pending().notify_drained_below);
    CHECK(*p.pending().notify_drained_below == cfg.send_high_water / 2);
    p.pending().clear();
    p.on_drained(t0, 0);
    CHECK(take_sent(p) == std::vector<std::string>{"piece"});
  }
  SUBCASE("a choke forgets the queue and the pieces read") {
    p.set_choking(false, t0, 0);
    p.on_message(wire::request{0, 0, 16384}, t0, 0);
    p.set_choking(true, t0, 0);
    CHECK(p.upload_queue_size() == 0);
    p.pending().clear();
    p.on_piece_loaded(0, 0, std::vector<std::uint8_t>(16384, 7), t0, 0);
    CHECK(p.pending().send.empty());
  }
  SUBCASE("a flood of requests is cut off") {
    p.set_choking(false, t0, 0);
    for (std::size_t i = 0; i < cfg.max_upload_queue; ++i)
      p.on_message(wire::request{static_cast<std::uint32_t>(i % 7), 0, 16384}, t0, 0);
    CHECK_FALSE(p.closing());
    p.on_message(wire::request{0, 0, 16384}, t0, 0);
    CHECK(p.pending().close->code == errc::wire_limit);
  }
}

TEST_CASE("idle peers are dropped, quiet links get keep-alives, two seeds part") {
  downloading d;
  auto& p = d.p;
  p.on_tick(t0 + 61s);
  CHECK(sent(p) == std::vector<std::string>{"keep_alive"});
  p.pending().clear();
  p.on_tick(t0 + 121s);
  CHECK(p.pending().close->message == "peer idle");

  auto cfg = config();
  peer_protocol s(cfg, false, t0);
  s.on_connected(t0);
  s.on_handshake(their_handshake(cfg), t0);
  bitfield all(pieces, true);
  s.on_joined(all.bytes(), t0);
  auto bytes = all.bytes();
  s.on_message(wire::bitfield{bytes}, t0, 0);
  CHECK(s.pending().close->message == "both sides are seeds");
  CHECK_FALSE(s.pending().bitfield);  // nothing more to ask about
}

TEST_CASE("DHT (BEP 5): the handshake bit, PORT to peers that set theirs, their PORT taken once") {
  auto cfg = config();
  cfg.dht_port = 6999;
  peer_protocol out(cfg, false, t0);
  out.on_connected(t0);
  auto hs = wire::decode_handshake(std::span<const std::uint8_t>(out.pending().send).first(wire::handshake_size));
  REQUIRE(hs.has_value());
  CHECK((hs->reserved[7] & 0x01) != 0);
  out.pending().clear();
  auto theirs = their_handshake(cfg);
  theirs.reserved[7] |= 0x01;
  out.on_handshake(theirs, t0);
  auto& bytes = out.pending().send;
  wire::decoder d({}, false);
  d.feed(bytes);
  bool port_sent = false;
  for (;;) {
    auto m = d.next();
    REQUIRE(m.has_value());
    if (!m->has_value()) break;
    if (auto* p = std::get_if<wire::port>(&std::get<wire::message>(**m))) port_sent = p->port == 6999;
  }
  CHECK(port_sent);
  out.pending().clear();
  out.on_message(wire::port{7001}, t0, 0);
  CHECK(out.pending().dht_node_port == std::optional<std::uint16_t>{7001});
  out.pending().clear();
  out.on_message(wire::port{7002}, t0, 0);  // one per connection
  CHECK_FALSE(out.pending().dht_node_port.has_value());

  // A peer without the bit gets no PORT.
  peer_protocol quiet(cfg, false, t0);
  quiet.on_connected(t0);
  quiet.pending().clear();
  quiet.on_handshake(their_handshake(cfg), t0);
  auto quiet_sent = sent(quiet);
  CHECK(std::find(quiet_sent.begin(), quiet_sent.end(), "port") == quiet_sent.end());

  // Without a DHT: no bit, no PORT, theirs ignored.
  auto plain = config();
  peer_protocol none(plain, false, t0);
  none.on_connected(t0);
  auto hs2 = wire::decode_handshake(std::span<const std::uint8_t>(none.pending().send).first(wire::handshake_size));
  REQUIRE(hs2.has_value());
  CHECK((hs2->reserved[7] & 0x01) == 0);
  none.pending().clear();
  none.on_handshake(theirs, t0);
  auto names = sent(none);
  CHECK(std::find(names.begin(), names.end(), "port") == names.end());
  none.pending().clear();
  none.on_message(wire::port{7001}, t0, 0);
  CHECK_FALSE(none.pending().dht_node_port.has_value());
}
