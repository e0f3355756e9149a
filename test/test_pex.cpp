// Peer exchange (BEP 11): the ut_pex codec, the per-connection policy
// (when to send, what to take) and the hooks in the connection protocol,
// private torrents (BEP 27) included. Driven with a fake clock.
#include "extension_handshake.hpp"
#include "peer_protocol.hpp"
#include "peer_sources.hpp"
#include "pex_exchange.hpp"
#include "pex_message.hpp"

#include "wire_decoder.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace actorrent;
using namespace std::chrono_literals;
using namespace std::string_literals;

namespace {

using tp = pex_exchange::time_point;
const tp t0{std::chrono::hours(1)};
using bytes = std::vector<std::uint8_t>;

bytes b(std::string_view s) { return bytes(s.begin(), s.end()); }

std::string compact4(std::initializer_list<std::uint8_t> ip, std::uint16_t port) {
  std::string s;
  for (auto o : ip) s.push_back(static_cast<char>(o));
  s.push_back(static_cast<char>(port >> 8));
  s.push_back(static_cast<char>(port & 0xff));
  return s;
}

std::string bstr(const std::string& s) { return std::to_string(s.size()) + ":" + s; }

/// A ut_pex payload with these IPv4 peers added.
bytes added_message(const std::vector<std::string>& entries, std::string flags = {}) {
  std::string all;
  for (auto& e : entries) all += e;
  std::string d = "d5:added" + bstr(all);
  if (!flags.empty()) d += "7:added.f" + bstr(flags);
  d += "e";
  return b(d);
}

std::vector<pex_peer> peers_in(const bytes& payload) {
  auto m = parse_pex_message(payload);
  REQUIRE(m);
  return m->added;
}

} // namespace

TEST_CASE("ut_pex: IPv4 and IPv6 peers with flags, and dropped peers, parse and encode back") {
  pex_message m;
  m.added.push_back({{"10.1.2.3", 6881}, pex_flag::seed | pex_flag::connectable});
  m.added.push_back({{"127.0.0.5", 40000}, 0});
  m.added.push_back({{"2001:db8::7", 51413}, pex_flag::connectable});
  m.dropped.push_back({"192.168.1.9", 1});
  m.dropped.push_back({"::1", 9000});
  auto payload = encode_pex_message(m);
  auto text = std::string(payload.begin(), payload.end());
  // Compact entries, the BEP's keys in byte order.
  CHECK(text.find("5:added12:") == 1);
  CHECK(text.find("7:added.f2:") != std::string::npos);
  CHECK(text.find("6:added618:") != std::string::npos);
  CHECK(text.find("8:dropped618:") != std::string::npos);
  auto back = parse_pex_message(payload);
  REQUIRE(back);
  CHECK(back->added == m.added);
  CHECK(back->dropped == m.dropped);
  CHECK(back->ignored == 0);
}

TEST_CASE("ut_pex: what another client sends parses; broken payloads are errors") {
  // As libtorrent writes it: added, added.f, dropped (empty).
  auto ok = parse_pex_message(b("d5:added6:\x7f\x00\x00\x01\x1a\xe1" "7:added.f1:\x10" "7:dropped0:e"s));
  REQUIRE(ok);
  REQUIRE(ok->added.size() == 1);
  CHECK(ok->added[0].endpoint == peer_endpoint{"127.0.0.1", 6881});
  CHECK(ok->added[0].flags == pex_flag::connectable);

  // Flags of the wrong length are ignored, not the peers.
  auto odd = parse_pex_message(added_message({compact4({1, 2, 3, 4}, 5), compact4({1, 2, 3, 5}, 6)}, "x"));
  REQUIRE(odd);
  CHECK(odd->added.size() == 2);
  CHECK(odd->added[0].flags == 0);

  // Port 0 entries are skipped.
  auto zero = parse_pex_message(added_message({compact4({1, 2, 3, 4}, 0)}));
  REQUIRE(zero);
  CHECK(zero->added.empty());

  for (std::string bad : {"", "le", "i3e", "d5:added5:abcdee", "d5:addedi3ee", "d7:dropped7:1234567e",
                          "d6:added67:1234567e", "d5:added"}) {
    auto r = parse_pex_message(b(bad));
    CHECK_MESSAGE(!r, bad);
    if (!r) CHECK(r.err().code == errc::wire_protocol);
  }
  bytes huge(max_pex_message + 1, 'x');
  auto r = parse_pex_message(huge);
  REQUIRE(!r);
  CHECK(r.err().code == errc::wire_limit);
}

TEST_CASE("ut_pex: at most max_pex_entries of a list are decoded, the rest counted") {
  std::vector<std::string> entries;
  for (int i = 0; i < 300; ++i)
    entries.push_back(compact4({10, 0, static_cast<std::uint8_t>(i / 256), static_cast<std::uint8_t>(i % 256)}, 1000));
  auto m = parse_pex_message(added_message(entries));
  REQUIRE(m);
  CHECK(m->added.size() == max_pex_entries);
  CHECK(m->ignored == 300 - max_pex_entries);
}

TEST_CASE("addresses that cannot be peers are not usable") {
  CHECK(pex_address_usable({"10.0.0.1", 6881}));
  CHECK(pex_address_usable({"127.0.0.1", 6881}));
  CHECK(pex_address_usable({"2001:db8::1", 6881}));
  CHECK(pex_address_usable({"::1", 6881}));
  CHECK_FALSE(pex_address_usable({"10.0.0.1", 0}));
  CHECK_FALSE(pex_address_usable({"0.0.0.0", 6881}));
  CHECK_FALSE(pex_address_usable({"0.1.2.3", 6881}));
  CHECK_FALSE(pex_address_usable({"224.0.0.1", 6881}));
  CHECK_FALSE(pex_address_usable({"239.255.255.250", 6881}));
  CHECK_FALSE(pex_address_usable({"255.255.255.255", 6881}));
  CHECK_FALSE(pex_address_usable({"::", 6881}));
  CHECK_FALSE(pex_address_usable({"ff02::1", 6881}));
  CHECK_FALSE(pex_address_usable({"tracker.example", 6881}));
}

TEST_CASE("pex_exchange: first message soon after the handshakes, then once a minute") {
  pex_exchange x;
  CHECK_FALSE(x.take_due(t0 + 1h));  // not started: never
  x.start(t0);
  CHECK_FALSE(x.take_due(t0 + 1s));
  CHECK(x.take_due(t0 + 3s));
  CHECK_FALSE(x.take_due(t0 + 4s));
  CHECK_FALSE(x.take_due(t0 + 62s));
  CHECK(x.take_due(t0 + 63s));
  x.start(t0 + 64s);  // a repeated extension handshake changes nothing
  CHECK_FALSE(x.take_due(t0 + 70s));
}

TEST_CASE("pex_exchange: sends what changed, at most 50 added and 50 dropped per message") {
  pex_exchange x;
  std::vector<pex_peer> now;
  for (int i = 1; i <= 70; ++i)
    now.push_back({{"10.0.0." + std::to_string(i), 6881}, pex_flag::connectable});
  auto first = x.make_message(now);
  REQUIRE(first);
  auto m1 = parse_pex_message(*first);
  REQUIRE(m1);
  CHECK(m1->added.size() == 50);
  CHECK(m1->dropped.empty());
  auto second = x.make_message(now);
  REQUIRE(second);
  CHECK(peers_in(*second).size() == 20);
  CHECK_FALSE(x.make_message(now));  // nothing new: nothing sent

  // 60 go, one becomes a seed, one comes.
  std::vector<pex_peer> later(now.begin(), now.begin() + 10);
  later[0].flags |= pex_flag::seed;
  later.push_back({{"2001:db8::5", 7000}, 0});
  later.push_back({{"0.0.0.0", 7000}, 0});  // never named
  auto third = x.make_message(later);
  REQUIRE(third);
  auto m3 = parse_pex_message(*third);
  REQUIRE(m3);
  REQUIRE(m3->added.size() == 2);
  CHECK(m3->added[0].endpoint.host == "10.0.0.1");
  CHECK(m3->added[0].flags == (pex_flag::seed | pex_flag::connectable));
  CHECK(m3->added[1].endpoint.host == "2001:db8::5");
  CHECK(m3->dropped.size() == 50);
  auto fourth = x.make_message(later);
  REQUIRE(fourth);
  auto m4 = parse_pex_message(*fourth);
  REQUIRE(m4);
  CHECK(m4->added.empty());
  CHECK(m4->dropped.size() == 10);
}

TEST_CASE("pex_exchange: floods are ignored, takings bounded, bad addresses and ourselves dropped") {
  pex_config cfg;
  cfg.max_taken_total = 120;
  pex_exchange x(cfg);
  x.add_own_address({"127.0.0.1", 7000});
  std::vector<std::string> entries;
  for (int i = 0; i < 80; ++i) entries.push_back(compact4({10, 1, 0, static_cast<std::uint8_t>(i + 1)}, 6881));
  entries.insert(entries.begin(), compact4({127, 0, 0, 1}, 7000));    // us
  entries.insert(entries.begin(), compact4({224, 0, 0, 1}, 6881));    // multicast
  entries.insert(entries.begin(), compact4({255, 255, 255, 255}, 1));  // broadcast
  entries.insert(entries.begin(), compact4({0, 0, 0, 0}, 6881));
  entries.insert(entries.begin(), compact4({10, 1, 0, 1}, 6881));      // twice
  auto r = x.on_message(added_message(entries), t0);
  REQUIRE(r);
  REQUIRE(r->size() == 50);
  CHECK((*r)[0] == peer_endpoint{"10.1.0.1", 6881});
  CHECK((*r)[1] == peer_endpoint{"10.1.0.2", 6881});
  for (auto& p : *r) CHECK(p.host.rfind("10.1.0.", 0) == 0);

  // Again at once, and 30 s later: sooner than the BEP allows, ignored.
  auto soon = x.on_message(added_message({compact4({10, 2, 0, 1}, 1)}), t0 + 1s);
  REQUIRE(soon);
  CHECK(soon->empty());
  CHECK(x.on_message(added_message({compact4({10, 2, 0, 1}, 1)}), t0 + 30s)->empty());
  CHECK(x.too_soon() == 2);
  // A minute later it counts; the total bound ends the taking.
  CHECK(x.on_message(added_message(entries), t0 + 60s)->size() == 50);
  CHECK(x.on_message(added_message(entries), t0 + 120s)->size() == 20);
  CHECK(x.on_message(added_message(entries), t0 + 180s)->empty());
  CHECK(x.taken() == 120);
  // Garbage is an error for the connection to judge.
  CHECK_FALSE(x.on_message(b("garbage"), t0 + 240s));
}

// -- in the connection protocol ------------------------------------------------

namespace {

peer_config config(bool pex) {
  peer_config c;
  c.info_hash = sha1(std::string_view("pex test"));
  c.our_id.fill('u');
  c.num_pieces = 4;
  c.piece_length = 16384;
  c.total_length = 4 * 16384;
  c.listen_port = 7000;
  c.pex = pex;
  return c;
}

wire::handshake their_handshake(const peer_config& c) {
  wire::handshake hs;
  hs.info_hash = c.info_hash;
  hs.peer_id.fill('t');
  hs.reserved[5] = 0x10;
  return hs;
}

/// The extended messages the protocol sent (id, payload), then cleared.
std::vector<std::pair<std::uint8_t, bytes>> extended_sent(peer_protocol& p) {
  std::vector<std::pair<std::uint8_t, bytes>> out;
  wire::decoder d({}, false);
  d.feed(p.pending().send);
  for (;;) {
    auto m = d.next();
    REQUIRE(m.has_value());
    if (!m->has_value()) break;
    const auto& msg = std::get<wire::message>(**m);
    if (auto* e = std::get_if<wire::extended>(&msg))
      out.emplace_back(e->id, bytes(e->payload.begin(), e->payload.end()));
  }
  p.pending().clear();
  return out;
}

/// A connected protocol whose remote offers ut_pex under id 9, says it
/// listens on 51000 and sees us at 127.0.0.1.
peer_protocol handshaken(const peer_config& cfg) {
  peer_protocol p(cfg, false, t0);
  p.on_connected(t0);
  p.on_handshake(their_handshake(cfg), t0);
  p.pending().clear();
  std::string hs = "d1:md6:ut_pexi9ee1:pi51000e6:yourip4:";
  hs += std::string("\x7f\x00\x00\x01", 4);
  hs += "e";
  p.on_message(wire::extended{0, b(hs)}, t0, 0);
  return p;
}

} // namespace

TEST_CASE("peer_protocol: ut_pex offered, our peers sent on time, the remote's taken") {
  auto cfg = config(true);
  peer_protocol p(cfg, false, t0);
  p.on_connected(t0);
  p.pending().clear();
  p.on_handshake(their_handshake(cfg), t0);
  auto ours = extended_sent(p);
  REQUIRE(ours.size() == 1);
  auto h = parse_extension_handshake(ours[0].second);
  REQUIRE(h);
  CHECK(h->id_of("ut_pex") == our_ut_pex_id);

  auto q = handshaken(cfg);
  CHECK(q.peer_pex_id() == 9);
  CHECK(q.pending().remote_listen_port == 51000);
  q.pending().clear();
  q.on_tick(t0 + 1s);
  CHECK_FALSE(q.pending().pex_due);
  q.on_tick(t0 + 3s);
  CHECK(q.pending().pex_due);
  q.pending().clear();
  q.on_pex_peers({{{"10.0.0.1", 6881}, pex_flag::connectable}}, t0 + 3s);
  auto sent = extended_sent(q);
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].first == 9);
  CHECK(peers_in(sent[0].second) == std::vector<pex_peer>{{{"10.0.0.1", 6881}, pex_flag::connectable}});
  q.on_tick(t0 + 10s);
  CHECK_FALSE(q.pending().pex_due);

  // Their PEX: ourselves (as they see us) left out, the rest learned.
  q.on_message(wire::extended{our_ut_pex_id, added_message({compact4({127, 0, 0, 1}, 7000),
                                                            compact4({127, 0, 0, 9}, 7001)})},
               t0 + 4s, 0);
  CHECK_FALSE(q.closing());
  CHECK(q.pending().pex_learned == std::vector<peer_endpoint>{{"127.0.0.9", 7001}});

  // A malformed one ends the connection.
  q.pending().clear();
  q.on_message(wire::extended{our_ut_pex_id, b("d5:added5:12345e")}, t0 + 70s, 0);
  CHECK(q.closing());
}

TEST_CASE("private torrents: no ut_pex offered, none sent, none followed") {
  CHECK_FALSE(allowed_peer_sources(true).pex);
  CHECK_FALSE(allowed_peer_sources(true).dht);
  CHECK(allowed_peer_sources(false).pex);
  auto cfg = config(allowed_peer_sources(true).pex);
  peer_protocol p(cfg, false, t0);
  p.on_connected(t0);
  p.pending().clear();
  p.on_handshake(their_handshake(cfg), t0);
  auto ours = extended_sent(p);
  REQUIRE(ours.size() == 1);
  auto h = parse_extension_handshake(ours[0].second);
  REQUIRE(h);
  CHECK(h->id_of("ut_pex") == 0);

  auto q = handshaken(cfg);
  CHECK(q.peer_pex_id() == 0);
  for (int s = 1; s < 100; ++s) {
    q.on_tick(t0 + std::chrono::seconds(s));
    CHECK_FALSE(q.pending().pex_due);
  }
  q.on_pex_peers({{{"10.0.0.1", 6881}, 0}}, t0 + 100s);
  CHECK(extended_sent(q).empty());
  q.on_message(wire::extended{our_ut_pex_id, added_message({compact4({10, 0, 0, 9}, 7001)})},
               t0 + 101s, 0);
  CHECK(q.pending().pex_learned.empty());
  CHECK_FALSE(q.closing());
}
