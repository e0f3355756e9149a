// KRPC (BEP 5): the codec against the BEP's own examples, its bounds, and
// the small pieces of a node's answering side (BEP 42 ids, tokens, the peer
// store, the per-address rate, the responder).
#include "dht_node_id.hpp"
#include "dht_peer_store.hpp"
#include "dht_responder.hpp"
#include "dht_source_limiter.hpp"
#include "dht_tokens.hpp"
#include "krpc.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace actorrent;
using namespace actorrent::dht;
using namespace std::chrono_literals;

namespace {

node_id id_of(std::string_view twenty) { return node_id::from_raw(twenty); }

const node_id abc = id_of("abcdefghij0123456789");
const node_id mno = id_of("mnopqrstuvwxyz123456");

template <class T>
T decoded_as(std::string_view bytes) {
  auto m = krpc::decode(bytes);
  REQUIRE_MESSAGE(m.has_value(), (m ? "" : m.err().to_string()));
  REQUIRE(std::holds_alternative<T>(*m));
  return std::get<T>(*m);
}

void refused(std::string_view bytes, std::string_view why = {}) {
  auto m = krpc::decode(bytes);
  REQUIRE_FALSE(m.has_value());
  if (!why.empty()) CHECK_MESSAGE(m.err().message.find(why) != std::string::npos, m.err().message);
}

endpoint ep(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d, std::uint16_t port) {
  return endpoint{{a, b, c, d}, port};
}

const time_point t0 = time_point{} + 1h;

} // namespace

TEST_CASE("the BEP 5 examples decode and encode byte for byte") {
  const std::string ping_q = "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe";
  auto q = decoded_as<krpc::query>(ping_q);
  CHECK(q.name == krpc::method::ping);
  CHECK(q.transaction_id == "aa");
  CHECK(q.sender == abc);
  CHECK(krpc::encode(q) == ping_q);

  const std::string ping_r = "d1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re";
  auto r = decoded_as<krpc::response>(ping_r);
  CHECK(r.sender == mno);
  CHECK(krpc::encode(r) == ping_r);

  const std::string find_q =
      "d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e1:q9:find_node1:t2:aa1:y1:qe";
  q = decoded_as<krpc::query>(find_q);
  CHECK(q.name == krpc::method::find_node);
  CHECK(q.target == mno);
  CHECK(krpc::encode(q) == find_q);

  const std::string get_q =
      "d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e1:q9:get_peers1:t2:aa1:y1:qe";
  q = decoded_as<krpc::query>(get_q);
  CHECK(q.name == krpc::method::get_peers);
  CHECK(krpc::encode(q) == get_q);

  const std::string get_r =
      "d1:rd2:id20:abcdefghij01234567895:token8:aoeusnth6:valuesl6:axje.u6:idhtnmee1:t2:aa1:y1:re";
  r = decoded_as<krpc::response>(get_r);
  CHECK(r.token == "aoeusnth");
  REQUIRE(r.values.size() == 2);
  CHECK(r.values[0] == endpoint{{'a', 'x', 'j', 'e'}, ('.' << 8) | 'u'});
  CHECK(krpc::encode(r) == get_r);

  const std::string ann_q =
      "d1:ad2:id20:abcdefghij012345678912:implied_porti1e9:info_hash20:mnopqrstuvwxyz1234564:porti6881e5:"
      "token8:aoeusnthe1:q13:announce_peer1:t2:aa1:y1:qe";
  q = decoded_as<krpc::query>(ann_q);
  CHECK(q.name == krpc::method::announce_peer);
  CHECK(q.implied_port);
  CHECK(q.port == 6881);
  CHECK(q.token == "aoeusnth");
  CHECK(krpc::encode(q) == ann_q);

  const std::string err = "d1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee";
  auto e = decoded_as<krpc::error_message>(err);
  CHECK(e.code == 201);
  CHECK(e.text == "A Generic Error Ocurred");
  CHECK(krpc::encode(e) == err);
}

TEST_CASE("compact node info and the requester's address round-trip") {
  krpc::response r;
  r.transaction_id = std::string("\x00\x01", 2);
  r.sender = abc;
  r.nodes = {{mno, ep(127, 0, 0, 2, 6881)}, {abc, ep(10, 1, 2, 3, 65535)}};
  r.requester = ep(192, 168, 1, 9, 51413);
  std::string bytes = krpc::encode(r);
  CHECK(bytes.find("5:nodes52:") != std::string::npos);
  CHECK(decoded_as<krpc::response>(bytes) == r);

  // A node or a peer with port 0 cannot be reached: dropped, the rest kept.
  krpc::response zero = r;
  zero.nodes[1].address.port = 0;
  zero.values = {ep(1, 2, 3, 4, 0), ep(1, 2, 3, 4, 5)};
  auto back = decoded_as<krpc::response>(krpc::encode(zero));
  CHECK(back.nodes.size() == 1);
  REQUIRE(back.values.size() == 1);
  CHECK(back.values[0].port == 5);
}

TEST_CASE("malformed and oversized messages are refused with a reason") {
  refused("", "");
  refused("le", "not a dictionary");
  refused("d1:t2:aa1:y1:xe", "message type");
  refused("d1:t0:1:y1:qe", "transaction id");
  refused("d1:t33:" + std::string(33, 'x') + "1:y1:qe", "transaction id");
  refused("d1:q4:ping1:t2:aa1:y1:qe", "without arguments");
  refused("d1:ad2:id19:abcdefghij012345678e1:q4:ping1:t2:aa1:y1:qe", "not 20");
  refused("d1:ad2:id20:abcdefghij0123456789e1:q9:find_node1:t2:aa1:y1:qe", "target");
  // Unsorted keys: not the one encoding of this message.
  refused("d1:q4:ping1:ad2:id20:abcdefghij0123456789e1:t2:aa1:y1:qe", "unsorted");
  refused("d1:rd2:id20:mnopqrstuvwxyz1234565:nodes3:abce1:t2:aa1:y1:re", "26-byte");
  refused("d1:rd2:id20:mnopqrstuvwxyz1234566:valuesl5:abcdeee1:t2:aa1:y1:re", "compact peer");
  refused("d1:rd2:id20:mnopqrstuvwxyz1234565:token0:e1:t2:aa1:y1:re", "token");
  refused("d1:eli201ee1:t2:aa1:y1:ee", "[code, message]");
  // announce_peer needs a port (unless implied) and a token.
  refused("d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz1234565:token1:xe1:q13:"
          "announce_peer1:t2:aa1:y1:qe",
          "port");
  refused("d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz1234564:porti80ee1:q13:"
          "announce_peer1:t2:aa1:y1:qe",
          "token");
  // Bounds: the datagram, the count of values, the nesting.
  refused(std::string(krpc::max_datagram + 1, 'd'), "datagram of");
  std::string many = "d1:rd2:id20:mnopqrstuvwxyz1234566:valuesl";
  for (std::size_t i = 0; i <= krpc::max_values; ++i) many += "6:abcdef";
  many += "ee1:t2:aa1:y1:re";
  refused(many, "values");
  refused("d1:ad2:idllllleeeeeee1:q4:ping1:t2:aa1:y1:qe");
}

TEST_CASE("an unknown method decodes, so it can be answered with error 204") {
  auto q = decoded_as<krpc::query>("d1:ad2:id20:abcdefghij0123456789e1:q6:vote_x1:t2:aa1:y1:qe");
  CHECK(q.name == krpc::method::unknown);
  CHECK(krpc::transaction_id_of("d1:t3:xyz1:y1:qe") == "xyz");
  CHECK_FALSE(krpc::transaction_id_of("garbage").has_value());
}

TEST_CASE("unknown keys are ignored; IPv6 peers are skipped; error text is made printable") {
  auto r = decoded_as<krpc::response>(
      "d2:ip6:abcdef1:rd2:id20:mnopqrstuvwxyz1234566:valuesl18:0123456789abcdefgh6:abcdefe2:zzi3ee"
      "1:t2:aa1:v4:LT011:y1:re");
  REQUIRE(r.values.size() == 1);
  REQUIRE(r.requester.has_value());
  auto e = decoded_as<krpc::error_message>("d1:eli202e3:a\x1b"
                                           "be1:t2:aa1:y1:ee");
  CHECK(e.text == "a\\x1bb");
}

TEST_CASE("BEP 42: ids tied to the address, with the BEP's test vectors") {
  struct vec {
    std::array<std::uint8_t, 4> ip;
    const char* id_hex;
  };
  const vec vectors[] = {
      {{124, 31, 75, 21}, "5fbfbff10c5d6a4ec8a88e4c6ab4c28b95eee401"},
      {{21, 75, 31, 124}, "5a3ce9c14e7a08645677bbd1cfe7d8f956d53256"},
      {{65, 23, 51, 170}, "a5d43220bc8f112a3d426c84764f8c2a1150e616"},
      {{84, 124, 73, 14}, "1b0321dd1bb1fe518101ceef99462b947a01ff41"},
      {{43, 213, 53, 83}, "e56f6cbf5b7c4be0237986d5243b87aa6d51305a"},
  };
  for (const auto& v : vectors) {
    auto id = node_id::from_hex(v.id_hex);
    REQUIRE(id);
    CHECK(id_matches_address(*id, v.ip));
    auto other = *id;
    other.bytes[0] ^= 0x40;
    CHECK_FALSE(id_matches_address(other, v.ip));
  }
  std::mt19937_64 rng(7);
  for (int i = 0; i < 50; ++i) {
    std::array<std::uint8_t, 4> ip{static_cast<std::uint8_t>(rng() % 200 + 1), static_cast<std::uint8_t>(rng()),
                                   static_cast<std::uint8_t>(rng()), static_cast<std::uint8_t>(rng())};
    CHECK(id_matches_address(id_for_address(ip, rng), ip));
  }
  CHECK(exempt_from_id_rule({127, 0, 0, 1}));
  CHECK(exempt_from_id_rule({192, 168, 0, 1}));
  CHECK(exempt_from_id_rule({172, 31, 0, 1}));
  CHECK_FALSE(exempt_from_id_rule({172, 32, 0, 1}));
  CHECK(id_matches_address(random_id(rng), {10, 0, 0, 1}));
  // CRC32-C of "123456789" is the standard check value.
  const std::string check = "123456789";
  CHECK(crc32c(reinterpret_cast<const std::uint8_t*>(check.data()), check.size()) == 0xe3069283u);
}

TEST_CASE("tokens: tied to the address, good for one rotation after the next, then refused") {
  token_issuer tokens(42);
  std::array<std::uint8_t, 4> a{1, 2, 3, 4}, b{1, 2, 3, 5};
  auto tok = tokens.issue(a, t0);
  CHECK(tok.size() == token_issuer::token_size);
  CHECK(tokens.valid(tok, a, t0 + 1min));
  CHECK_FALSE(tokens.valid(tok, b, t0 + 1min));
  CHECK_FALSE(tokens.valid("12345678", a, t0 + 1min));
  CHECK(tokens.valid(tok, a, t0 + 6min));   // previous secret
  CHECK_FALSE(tokens.valid(tok, a, t0 + 12min)); // two rotations later
  auto late = tokens.issue(a, t0 + 12min);
  CHECK(late != tok);
  // After a long silence the old secret is gone, not promoted.
  CHECK_FALSE(tokens.valid(late, a, t0 + 60min));
}

TEST_CASE("peer store: bounded per torrent and in torrents, announces expire") {
  peer_store store(peer_store::config{2, 3, 30min});
  node_id h1 = abc, h2 = mno, h3 = id_of("zzzzzzzzzzzzzzzzzzzz");
  CHECK(store.announce(h1, ep(1, 1, 1, 1, 1), t0));
  CHECK(store.announce(h1, ep(1, 1, 1, 2, 1), t0));
  CHECK(store.announce(h1, ep(1, 1, 1, 1, 1), t0 + 1min)); // renewal, not a new entry
  CHECK(store.announce(h1, ep(1, 1, 1, 3, 1), t0));
  CHECK_FALSE(store.announce(h1, ep(1, 1, 1, 4, 1), t0 + 1min));
  auto got = store.peers(h1, 10, t0 + 2min);
  CHECK(got.size() == 3);
  CHECK(got[0] == ep(1, 1, 1, 3, 1));
  CHECK(store.peers(h1, 1, t0 + 2min).size() == 1);
  CHECK(store.announce(h2, ep(2, 2, 2, 2, 2), t0 + 20min));
  CHECK_FALSE(store.announce(h3, ep(3, 3, 3, 3, 3), t0 + 20min));
  // After 30 minutes h1's first announces are gone; its renewed one too at 31.
  CHECK(store.peers(h1, 10, t0 + 31min).empty());
  CHECK(store.announce(h3, ep(3, 3, 3, 3, 3), t0 + 31min));
  CHECK(store.torrent_count() == 2);
}

TEST_CASE("source limiter: a burst, then the sustained rate; bounded in addresses") {
  source_limiter lim(source_limiter::config{10, 5, 2});
  int allowed = 0;
  for (int i = 0; i < 20; ++i) allowed += lim.allow(1, t0) ? 1 : 0;
  CHECK(allowed == 5);
  CHECK(lim.allow(2, t0));
  CHECK_FALSE(lim.allow(3, t0)); // two addresses tracked, neither refilled
  allowed = 0;
  for (int i = 0; i < 20; ++i) allowed += lim.allow(1, t0 + 1s) ? 1 : 0;
  CHECK(allowed == 5); // refilled to the burst, not beyond
  CHECK(lim.allow(3, t0 + 2s)); // both refilled: forgotten, room for a newcomer
}

TEST_CASE("responder: find_node, get_peers with a token, announce_peer checks it") {
  routing_table table(abc);
  responder node(9);
  endpoint asker = ep(127, 0, 0, 9, 7000);
  for (std::uint8_t i = 1; i <= 20; ++i) {
    node_id id = abc;
    id.bytes[19] = static_cast<std::uint8_t>(id.bytes[19] ^ i);
    table.node_replied({id, ep(127, 0, 1, i, 6881)}, t0);
  }
  krpc::query q;
  q.transaction_id = "t1";
  q.sender = mno;
  q.name = krpc::method::find_node;
  q.target = abc;
  auto out = node.on_query(table, q, asker, t0);
  CHECK(out.ping_sender);
  auto& r = std::get<krpc::response>(*out.reply);
  CHECK(r.transaction_id == "t1");
  CHECK(r.sender == abc);
  CHECK(r.nodes.size() == 8);
  CHECK(r.requester == asker);

  q.name = krpc::method::get_peers;
  q.target = mno;
  out = node.on_query(table, q, asker, t0);
  auto gp = std::get<krpc::response>(*out.reply);
  REQUIRE(gp.token.has_value());
  CHECK(gp.values.empty());

  q.name = krpc::method::announce_peer;
  q.port = 51413;
  q.token = "wrong!!!";
  out = node.on_query(table, q, asker, t0);
  CHECK(std::get<krpc::error_message>(*out.reply).code == krpc::protocol_error);
  // Another address cannot use the asker's token.
  q.token = *gp.token;
  out = node.on_query(table, q, ep(127, 0, 0, 10, 7000), t0);
  CHECK(std::holds_alternative<krpc::error_message>(*out.reply));
  out = node.on_query(table, q, asker, t0 + 1s);
  CHECK(std::holds_alternative<krpc::response>(*out.reply));

  q.name = krpc::method::get_peers;
  out = node.on_query(table, q, ep(127, 0, 0, 11, 1), t0 + 2s);
  auto found = std::get<krpc::response>(*out.reply).values;
  REQUIRE(found.size() == 1);
  CHECK(found[0] == ep(127, 0, 0, 9, 51413));

  q.name = krpc::method::unknown;
  out = node.on_query(table, q, asker, t0 + 3s);
  CHECK(std::get<krpc::error_message>(*out.reply).code == krpc::method_unknown);

  // A flood from one address goes unanswered past its burst.
  q.name = krpc::method::ping;
  int answered = 0;
  for (int i = 0; i < 100; ++i) answered += node.on_query(table, q, ep(127, 0, 0, 12, 1), t0 + 4s).reply ? 1 : 0;
  CHECK(answered == 40);
}
