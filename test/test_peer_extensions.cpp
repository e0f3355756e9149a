// The extension protocol (BEP 10) and metadata exchange (BEP 9) in the
// per-connection protocol: fed wire messages and a fake clock, checked by
// the bytes and actions it produces.
#include "extension_handshake.hpp"
#include "metadata_message.hpp"
#include "peer_protocol.hpp"

#include "wire_decoder.hpp"
#include "wire_encoder.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

using namespace actorrent;
using namespace std::chrono_literals;

namespace {

using tp = peer_protocol::time_point;
const tp t0{std::chrono::hours(1)};
using bytes = std::vector<std::uint8_t>;

peer_config config() {
  peer_config c;
  c.info_hash = sha1(std::string_view("extension test"));
  c.our_id.fill('u');
  c.num_pieces = 4;
  c.piece_length = 16384;
  c.total_length = 4 * 16384;
  c.listen_port = 6889;
  return c;
}

wire::handshake their_handshake(const peer_config& c, bool extensions = true) {
  wire::handshake hs;
  hs.info_hash = c.info_hash;
  hs.peer_id.fill('t');
  if (extensions) hs.reserved[5] = 0x10;
  return hs;
}

// What the protocol asked to send, decoded (handshake skipped when present).
struct sent_items {
  std::optional<wire::handshake> handshake;
  std::vector<std::pair<std::uint8_t, bytes>> extended;  // id, payload
  std::vector<std::string> others;
};

sent_items take_sent(peer_protocol& p, bool with_handshake) {
  sent_items out;
  wire::decoder d({}, with_handshake);
  d.feed(p.pending().send);
  for (;;) {
    auto m = d.next();
    REQUIRE(m.has_value());
    if (!m->has_value()) break;
    if (auto* h = std::get_if<wire::handshake>(&**m)) {
      out.handshake = *h;
      continue;
    }
    const auto& msg = std::get<wire::message>(**m);
    if (auto* e = std::get_if<wire::extended>(&msg))
      out.extended.emplace_back(e->id, bytes(e->payload.begin(), e->payload.end()));
    else
      out.others.emplace_back(wire::message_name(msg));
  }
  p.pending().clear();
  return out;
}

bytes their_ext_handshake(std::uint8_t metadata_id, std::optional<std::int64_t> size,
                          std::string extra = {}) {
  std::string d = "d";
  d += extra;
  d += "1:md6:ut_pexi1e11:ut_metadatai";
  d += std::to_string(metadata_id);
  d += "ee";
  if (size) d += "13:metadata_sizei" + std::to_string(*size) + "e";
  d += "1:v9:TestPeer1e";
  return bytes(d.begin(), d.end());
}

void feed_ext(peer_protocol& p, std::uint8_t id, const bytes& payload, tp now) {
  p.on_message(wire::extended{id, payload}, now, 0);
}

std::shared_ptr<const std::string> sample_metadata(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 7 + 3);
  return std::make_shared<const std::string>(std::move(s));
}

} // namespace

TEST_CASE("our handshake sets the extension bit; an extension handshake follows theirs") {
  auto cfg = config();
  cfg.metadata = sample_metadata(40000);
  peer_protocol p(cfg, false, t0);
  p.set_remote_ip(std::string("\x7f\x00\x00\x02", 4));
  p.on_connected(t0);
  auto ours = take_sent(p, true);
  REQUIRE(ours.handshake);
  CHECK(ours.handshake->reserved[5] == 0x10);

  p.on_handshake(their_handshake(cfg), t0);
  CHECK(p.peer_extensions());
  auto after = take_sent(p, false);
  REQUIRE(after.extended.size() == 1);
  CHECK(after.extended[0].first == 0);
  auto h = parse_extension_handshake(after.extended[0].second);
  REQUIRE(h);
  CHECK(h->id_of("ut_metadata") == our_ut_metadata_id);
  CHECK(h->metadata_size == 40000);
  CHECK(h->listen_port == 6889);
  CHECK(h->yourip == std::string("\x7f\x00\x00\x02", 4));
  CHECK(h->reqq == cfg.max_upload_queue);
  CHECK(h->client.find("actorrent") == 0);
}

TEST_CASE("no extension handshake to a peer without the bit; none carries metadata_size we lack") {
  auto cfg = config();
  peer_protocol plain(cfg, true, t0);
  plain.on_handshake(their_handshake(cfg, false), t0);
  auto s = take_sent(plain, true);
  CHECK(s.extended.empty());
  CHECK_FALSE(plain.peer_extensions());

  peer_protocol ext(cfg, true, t0);
  ext.on_handshake(their_handshake(cfg), t0);
  auto e = take_sent(ext, true);
  REQUIRE(e.extended.size() == 1);
  auto h = parse_extension_handshake(e.extended[0].second);
  REQUIRE(h);
  CHECK_FALSE(h->metadata_size.has_value());
}

TEST_CASE("their extension handshake: ids learned, unknown keys and extensions ignored") {
  auto cfg = config();
  peer_protocol p(cfg, true, t0);
  p.on_handshake(their_handshake(cfg), t0);
  p.pending().clear();
  feed_ext(p, 0, their_ext_handshake(7, 1234, "5:extrali1ei2ee"), t0);
  CHECK_FALSE(p.closing());
  CHECK(p.peer_metadata_id() == 7);
  CHECK(p.peer_client() == "TestPeer1");
  // A download connection does not offer the size up: it has the metadata.
  CHECK_FALSE(p.pending().metadata_offer);
  // An extension we never offered: ignored.
  feed_ext(p, 9, bytes{'x', 'y'}, t0);
  CHECK_FALSE(p.closing());
  // Sent again with ut_metadata 0: switched off.
  feed_ext(p, 0, their_ext_handshake(0, std::nullopt), t0);
  CHECK(p.peer_metadata_id() == 0);
  // Garbage where the dictionary belongs ends the connection.
  feed_ext(p, 0, bytes{'d', '1', ':'}, t0);
  REQUIRE(p.closing());
  CHECK(p.pending().close->code == errc::wire_protocol);
}

TEST_CASE("serving metadata: data for pieces we have, reject beyond, a flood ends it") {
  auto cfg = config();
  cfg.metadata = sample_metadata(40000);  // 3 pieces: 16384, 16384, 7232
  cfg.max_metadata_requests = 6;
  peer_protocol p(cfg, true, t0);
  p.on_handshake(their_handshake(cfg), t0);
  p.pending().clear();
  feed_ext(p, 0, their_ext_handshake(5, std::nullopt), t0);

  feed_ext(p, our_ut_metadata_id, encode_metadata_request(2), t0);
  auto s = take_sent(p, false);
  REQUIRE(s.extended.size() == 1);
  CHECK(s.extended[0].first == 5);  // the id they receive it under
  auto m = parse_metadata_message(s.extended[0].second);
  REQUIRE(m);
  CHECK(m->type == metadata_msg::data);
  CHECK(m->piece == 2);
  CHECK(m->total_size == 40000);
  CHECK(std::string(m->data.begin(), m->data.end()) == cfg.metadata->substr(32768));

  feed_ext(p, our_ut_metadata_id, encode_metadata_request(3), t0);
  s = take_sent(p, false);
  REQUIRE(s.extended.size() == 1);
  m = parse_metadata_message(s.extended[0].second);
  REQUIRE(m);
  CHECK(m->type == metadata_msg::reject);
  CHECK(m->piece == 3);
  CHECK(p.metadata_served() == 1);

  // An unknown msg_type is ignored (BEP 9).
  feed_ext(p, our_ut_metadata_id, bytes{'d', '8', ':', 'm', 's', 'g', '_', 't', 'y', 'p', 'e', 'i',
                                         '9', 'e', '5', ':', 'p', 'i', 'e', 'c', 'e', 'i', '0', 'e', 'e'},
           t0);
  CHECK_FALSE(p.closing());
  CHECK(take_sent(p, false).extended.empty());

  for (int i = 0; i < 4; ++i) feed_ext(p, our_ut_metadata_id, encode_metadata_request(0), t0);
  CHECK_FALSE(p.closing());  // six asked: the bound
  feed_ext(p, our_ut_metadata_id, encode_metadata_request(0), t0);
  REQUIRE(p.closing());
  CHECK(p.pending().close->code == errc::wire_limit);
}

TEST_CASE("without the metadata every request is rejected") {
  auto cfg = config();
  peer_protocol p(cfg, true, t0);
  p.on_handshake(their_handshake(cfg), t0);
  feed_ext(p, 0, their_ext_handshake(4, std::nullopt), t0);
  p.pending().clear();
  feed_ext(p, our_ut_metadata_id, encode_metadata_request(0), t0);
  auto s = take_sent(p, false);
  REQUIRE(s.extended.size() == 1);
  auto m = parse_metadata_message(s.extended[0].second);
  REQUIRE(m);
  CHECK(m->type == metadata_msg::reject);
}

TEST_CASE("fetching metadata: no join, the offer, pieces asked for and delivered") {
  auto cfg = config();
  cfg.num_pieces = 0;
  cfg.metadata_only = true;
  peer_protocol p(cfg, false, t0);
  p.on_connected(t0);
  p.on_handshake(their_handshake(cfg), t0);
  CHECK_FALSE(p.pending().joined);
  p.pending().clear();
  // Their bitfield and HAVEs mean nothing without the metadata.
  bytes bits{0xff, 0xff};
  p.on_message(wire::bitfield{bits}, t0, 0);
  p.on_message(wire::have{100}, t0, 0);
  CHECK_FALSE(p.pending().bitfield);
  CHECK(p.pending().haves.empty());

  feed_ext(p, 0, their_ext_handshake(6, 20000), t0);
  REQUIRE(p.pending().metadata_offer);
  CHECK(*p.pending().metadata_offer == 20000);
  p.pending().clear();

  p.request_metadata(0, t0);
  p.request_metadata(1, t0);
  auto s = take_sent(p, false);
  REQUIRE(s.extended.size() == 2);
  CHECK(s.extended[0].first == 6);
  auto r = parse_metadata_message(s.extended[1].second);
  REQUIRE(r);
  CHECK(r->type == metadata_msg::request);
  CHECK(r->piece == 1);
  CHECK(p.metadata_in_flight() == 2);

  bytes piece0(16384, 0x11);
  feed_ext(p, our_ut_metadata_id, encode_metadata_data(0, 20000, piece0), t0 + 1s);
  REQUIRE(p.pending().metadata_pieces.size() == 1);
  CHECK(p.pending().metadata_pieces[0].piece == 0);
  CHECK(p.pending().metadata_pieces[0].total_size == 20000);
  CHECK(p.pending().metadata_pieces[0].data == piece0);
  feed_ext(p, our_ut_metadata_id, encode_metadata_reject(1), t0 + 1s);
  CHECK(p.pending().metadata_rejects == std::vector<std::uint32_t>{1});
  p.pending().clear();
  // Data nobody asked for is not passed on.
  feed_ext(p, our_ut_metadata_id, encode_metadata_data(0, 20000, piece0), t0 + 1s);
  CHECK(p.pending().metadata_pieces.empty());
  CHECK(p.metadata_in_flight() == 0);
  CHECK_FALSE(p.closing());
}

TEST_CASE("fetching metadata: unanswered requests come back, and three rounds of that end it") {
  auto cfg = config();
  cfg.num_pieces = 0;
  cfg.metadata_only = true;
  peer_protocol p(cfg, false, t0);
  p.on_connected(t0);
  p.on_handshake(their_handshake(cfg), t0);
  feed_ext(p, 0, their_ext_handshake(6, 20000), t0);
  p.pending().clear();
  auto t = t0;
  for (int round = 0; round < 3; ++round) {
    p.request_metadata(0, t);
    p.on_received(t + 16s);
    p.on_tick(t + 16s);
    CHECK(p.pending().metadata_rejects == std::vector<std::uint32_t>{0});
    CHECK(p.closing() == (round == 2));
    p.pending().metadata_rejects.clear();
    t += 16s;
  }
  CHECK(p.pending().close->code == errc::timeout);
}

TEST_CASE("fetching metadata from peers that cannot send it ends the connection") {
  auto cfg = config();
  cfg.num_pieces = 0;
  cfg.metadata_only = true;
  {
    peer_protocol p(cfg, false, t0);
    p.on_connected(t0);
    p.on_handshake(their_handshake(cfg, false), t0);
    REQUIRE(p.closing());
    CHECK(p.pending().close->message.find("extension protocol") != std::string::npos);
  }
  {
    peer_protocol p(cfg, false, t0);
    p.on_connected(t0);
    p.on_handshake(their_handshake(cfg), t0);
    feed_ext(p, 0, their_ext_handshake(6, std::nullopt), t0);
    REQUIRE(p.closing());
    CHECK(p.pending().close->message.find("no metadata") != std::string::npos);
  }
  {
    // Silent after the handshake: no extension handshake in time.
    peer_protocol p(cfg, false, t0);
    p.on_connected(t0);
    p.on_handshake(their_handshake(cfg), t0);
    p.on_received(t0 + 26s);
    p.on_tick(t0 + 26s);
    REQUIRE(p.closing());
    CHECK(p.pending().close->message == "no extension handshake");
  }
  {
    // A metadata piece over 16 KiB is a violation.
    peer_protocol p(cfg, false, t0);
    p.on_connected(t0);
    p.on_handshake(their_handshake(cfg), t0);
    feed_ext(p, 0, their_ext_handshake(6, 40000), t0);
    p.request_metadata(0, t0);
    feed_ext(p, our_ut_metadata_id, encode_metadata_data(0, 40000, bytes(16385, 1)), t0);
    REQUIRE(p.closing());
    CHECK(p.pending().close->code == errc::wire_limit);
  }
}

TEST_CASE("extension handshake parsing is bounded and tolerant of other clients' key order") {
  std::string unsorted = "d1:v3:abc1:md11:ut_metadatai2e6:ut_pexi1ee13:metadata_sizei99e1:pi70000ee";
  auto h = parse_extension_handshake(bytes(unsorted.begin(), unsorted.end()));
  REQUIRE(h);
  CHECK(h->id_of("ut_metadata") == 2);
  CHECK(h->id_of("ut_pex") == 1);
  CHECK(h->id_of("lt_donthave") == 0);
  CHECK(h->metadata_size == 99);
  CHECK_FALSE(h->listen_port);  // 70000 is no port
  CHECK(h->client == "abc");
  auto big = parse_extension_handshake(bytes(max_extension_handshake + 1, 'd'));
  REQUIRE_FALSE(big);
  CHECK(big.err().code == errc::wire_limit);
  std::string many = "d1:md";
  for (int i = 0; i < 70; ++i) {
    std::string name = std::to_string(100 + i);
    many += std::to_string(name.size()) + ":" + name + "i1e";
  }
  many += "ee";
  auto lots = parse_extension_handshake(bytes(many.begin(), many.end()));
  REQUIRE_FALSE(lots);
  CHECK(lots.err().code == errc::wire_limit);
  auto list = parse_extension_handshake(bytes{'l', 'e'});
  REQUIRE_FALSE(list);
  CHECK(list.err().code == errc::wire_protocol);
}
