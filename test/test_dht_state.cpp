#include <doctest/doctest.h>

#include "dht_state.hpp"

#include <string>

using namespace actorrent;
using namespace actorrent::dht;

namespace {

krpc::node_info node(std::uint8_t n) {
  krpc::node_info i;
  i.id.bytes.fill(n);
  i.address.ip = {127, 0, 0, n};
  i.address.port = static_cast<std::uint16_t>(6000 + n);
  return i;
}

} // namespace

TEST_CASE("the saved id and nodes come back as they were") {
  saved_state s;
  s.id.bytes.fill(0xab);
  s.nodes = {node(1), node(2), node(3)};
  auto back = decode_state(encode_state(s));
  REQUIRE(back.has_value());
  CHECK(back->id == s.id);
  CHECK(back->nodes == s.nodes);
}

TEST_CASE("a table without nodes saves its id") {
  saved_state s;
  s.id.bytes.fill(7);
  auto back = decode_state(encode_state(s));
  REQUIRE(back.has_value());
  CHECK(back->id == s.id);
  CHECK(back->nodes.empty());
}

TEST_CASE("at most max_saved_nodes are written") {
  saved_state s;
  for (std::size_t i = 0; i < max_saved_nodes + 10; ++i) s.nodes.push_back(node(static_cast<std::uint8_t>(i % 250 + 1)));
  auto bytes = encode_state(s);
  CHECK(bytes.size() <= max_state_bytes);
  auto back = decode_state(bytes);
  REQUIRE(back.has_value());
  CHECK(back->nodes.size() == max_saved_nodes);
}

TEST_CASE("damaged files are refused, not half read") {
  saved_state s;
  s.nodes = {node(1)};
  auto good = encode_state(s);
  CHECK_FALSE(decode_state("").has_value());
  CHECK_FALSE(decode_state("garbage").has_value());
  CHECK_FALSE(decode_state(good.substr(0, good.size() - 3)).has_value());
  CHECK_FALSE(decode_state("d2:id3:abc5:nodes0:e").has_value());                     // short id
  CHECK_FALSE(decode_state("d2:id20:aaaaaaaaaaaaaaaaaaaa5:nodes5:abcdee").has_value());  // not 26-byte records
  CHECK_FALSE(decode_state("d2:id20:aaaaaaaaaaaaaaaaaaaae").has_value());               // no nodes
  CHECK_FALSE(decode_state("li1ee").has_value());
  CHECK_FALSE(decode_state(std::string(max_state_bytes + 1, 'x')).has_value());
  auto err = decode_state("garbage").err();
  CHECK(err.code == errc::invalid_argument);
}

TEST_CASE("nodes with port 0 are dropped") {
  saved_state s;
  auto zero = node(2);
  zero.address.port = 0;
  s.nodes = {node(1), zero};
  auto back = decode_state(encode_state(s));
  REQUIRE(back.has_value());
  REQUIRE(back->nodes.size() == 1);
  CHECK(back->nodes[0] == node(1));
}
