#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <string_view>

#include "actorrent/bencode.hpp"

using namespace actorrent;
namespace be = actorrent::bencode;

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Decoding `in` must fail with `code`, with a message that ends with the
// byte offset and mentions `what`.
void check_reject(std::string_view in, errc code, std::size_t offset, std::string_view what,
                  const be::limits& lim = {}) {
  CAPTURE(in);
  auto r = be::decode(in, lim);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.err().code == code);
  std::string tail = "at byte " + std::to_string(offset);
  CAPTURE(r.err().message);
  CHECK(ends_with(r.err().message, tail));
  CHECK(r.err().message.find(what) != std::string::npos);
}

} // namespace

TEST_CASE("canonical inputs round-trip byte for byte") {
  const std::string inputs[] = {
      "i0e", "i42e", "i-7e", "i9223372036854775807e", "i-9223372036854775808e",
      "0:", "3:abc", "le", "de", "li1e3:fooe", "d1:ai1e1:bli2ei3eee",
      "d0:i0e1:ad1:xle1:yi-1eee", "lllleeee", "d4:infod6:lengthi5e4:name1:xee",
      std::string("5:\0\xff\x01:e", 7), "d1:ai1e1:\xffi2ee"};
  for (const auto& in : inputs) {
    CAPTURE(in);
    auto r = be::decode(in);
    REQUIRE(r.has_value());
    CHECK(be::encode(*r) == in);
    CHECK(r->begin == 0);
    CHECK(r->end == in.size());
  }
}

TEST_CASE("decoded values have the expected types and contents") {
  auto r = be::decode("d3:agei-12e4:listli1e1:xe4:name5:alicee");
  REQUIRE(r.has_value());
  REQUIRE(r->is_dict());
  CHECK(r->as_dict()->size() == 3);
  REQUIRE(r->find("age") != nullptr);
  REQUIRE(r->find("age")->as_int() != nullptr);
  CHECK(*r->find("age")->as_int() == -12);
  CHECK(r->find("age")->as_string() == nullptr);
  REQUIRE(r->find("name")->as_string() != nullptr);
  CHECK(*r->find("name")->as_string() == "alice");
  const be::list* l = r->find("list")->as_list();
  REQUIRE(l != nullptr);
  REQUIRE(l->size() == 2);
  CHECK((*l)[0].is_int());
  CHECK((*l)[1].is_string());
  CHECK(r->find("missing") == nullptr);
  CHECK(r->find("list")->find("x") == nullptr); // not a dict
}

TEST_CASE("values compare by contents, not by span") {
  auto r = be::decode("l1:ai7ed1:kleee");
  REQUIRE(r.has_value());
  be::value by_hand = be::list{"a", 7, be::dict{{"k", be::list{}}}};
  CHECK(*r == by_hand);
  CHECK_FALSE(*r == be::value(be::list{"a", 8, be::dict{{"k", be::list{}}}}));
  CHECK_FALSE(be::value(1) == be::value("1"));
  CHECK(be::value(std::uint32_t{5}) == be::value(std::int64_t{5}));
  CHECK(be::value(std::size_t{9}).as_int() != nullptr);
}

TEST_CASE("strings keep binary bytes") {
  std::string raw("a\0b\xff\x80", 5);
  std::string in = "5:" + raw;
  auto r = be::decode(in);
  REQUIRE(r.has_value());
  REQUIRE(r->as_string() != nullptr);
  CHECK(*r->as_string() == raw);
}

TEST_CASE("encode sorts dictionary keys as unsigned bytes") {
  be::value v = be::dict{{"zeta", 1}, {"\xff", 2}, {"alpha", be::list{"x", -3}}, {"Beta", ""}};
  std::string out = be::encode(v);
  CHECK(out == "d4:Beta0:5:alphal1:xi-3ee4:zetai1e1:\xffi2ee");
  auto back = be::decode(out);
  REQUIRE(back.has_value());
  CHECK(be::encode(*back) == out);
}

TEST_CASE("byte spans of nested values") {
  const std::string in = "d1:ald3:fooi42eee1:b3:xyze";
  auto r = be::decode(in);
  REQUIRE(r.has_value());
  CHECK(r->begin == 0);
  CHECK(r->end == in.size());
  const be::value* a = r->find("a");
  REQUIRE(a != nullptr);
  CHECK(in.substr(a->begin, a->end - a->begin) == "ld3:fooi42eee");
  const be::value& inner = (*a->as_list())[0];
  CHECK(in.substr(inner.begin, inner.end - inner.begin) == "d3:fooi42ee");
  const be::value* foo = inner.find("foo");
  REQUIRE(foo != nullptr);
  CHECK(foo->begin == 11);
  CHECK(foo->end == 15);
  const be::value* b = r->find("b");
  REQUIRE(b != nullptr);
  CHECK(in.substr(b->begin, b->end - b->begin) == "3:xyz");
  be::value by_hand = be::list{1, 2};
  CHECK(by_hand.begin == 0);
  CHECK(by_hand.end == 0);
}

TEST_CASE("integers: leading zeros, negative zero, empty and overflow are rejected") {
  check_reject("i03e", errc::bencode_syntax, 0, "leading zero");
  check_reject("li1ei007ee", errc::bencode_syntax, 4, "leading zero");
  check_reject("i-0e", errc::bencode_syntax, 0, "negative zero");
  check_reject("i-01e", errc::bencode_syntax, 0, "negative zero");
  check_reject("i-e", errc::bencode_syntax, 0, "without digits");
  check_reject("ie", errc::bencode_syntax, 0, "empty integer");
  check_reject("i9223372036854775808e", errc::bencode_syntax, 0, "overflow");
  check_reject("i-9223372036854775809e", errc::bencode_syntax, 0, "overflow");
  check_reject("l0:i99999999999999999999999999ee", errc::bencode_syntax, 3, "overflow");
  check_reject("i1x", errc::bencode_syntax, 2, "in integer");
  check_reject("i+1e", errc::bencode_syntax, 0, "without digits");
  check_reject("i12", errc::bencode_syntax, 3, "unterminated integer");
}

TEST_CASE("strings: leading zeros, missing colon and lengths past the end are rejected") {
  check_reject("03:abc", errc::bencode_syntax, 0, "leading zero");
  check_reject("l1:x03:abce", errc::bencode_syntax, 4, "leading zero");
  check_reject("00:", errc::bencode_syntax, 0, "leading zero");
  check_reject("5:abcd", errc::bencode_syntax, 0, "past end of input");
  check_reject("l2:ab9:cdee", errc::bencode_syntax, 5, "past end of input");
  check_reject("99999999999999999999999999:x", errc::bencode_syntax, 0, "past end of input");
  check_reject("1", errc::bencode_syntax, 1, "unterminated string length");
  check_reject("1x", errc::bencode_syntax, 1, "expected ':'");
}

TEST_CASE("structure: unterminated containers, trailing data, bad bytes") {
  check_reject("", errc::bencode_syntax, 0, "end of input");
  check_reject("l", errc::bencode_syntax, 1, "unterminated list");
  check_reject("li1e", errc::bencode_syntax, 4, "unterminated list");
  check_reject("d1:ai1e", errc::bencode_syntax, 7, "unterminated dictionary");
  check_reject("d1:a", errc::bencode_syntax, 4, "without a value");
  check_reject("d1:ae", errc::bencode_syntax, 4, "without a value");
  check_reject("i1ei2e", errc::bencode_syntax, 3, "trailing data");
  check_reject("0:x", errc::bencode_syntax, 2, "trailing data");
  check_reject("lee", errc::bencode_syntax, 2, "trailing data");
  check_reject("e", errc::bencode_syntax, 0, "unexpected byte 0x65");
  check_reject("lxe", errc::bencode_syntax, 1, "unexpected byte 0x78");
  check_reject("-1:a", errc::bencode_syntax, 0, "unexpected byte");
}

TEST_CASE("dictionaries: keys must be strings, sorted and unique") {
  check_reject("di1ei2ee", errc::bencode_syntax, 1, "key is not a string");
  check_reject("dlei2ee", errc::bencode_syntax, 1, "key is not a string");
  check_reject("d1:bi1e1:ai2ee", errc::bencode_syntax, 7, "unsorted dictionary key");
  check_reject("d1:ai1e1:ai2ee", errc::bencode_syntax, 7, "duplicate dictionary key");
  // Unsigned byte order: 0xff sorts after 'a'.
  check_reject("d1:\xffi1e1:ai2ee", errc::bencode_syntax, 7, "unsorted dictionary key");
  // Prefix sorts first.
  check_reject("d2:abi1e1:ai2ee", errc::bencode_syntax, 8, "unsorted dictionary key");
  // Offset of the bad key deep inside.
  check_reject("d1:xd1:ai1e1:ci1e1:bi1eee", errc::bencode_syntax, 17, "unsorted dictionary key");
}

TEST_CASE("lenient mode accepts unsorted keys but not duplicates") {
  be::limits lim;
  lim.strict = false;
  auto r = be::decode("d1:bi1e1:ai2ee", lim);
  REQUIRE(r.has_value());
  REQUIRE(r->as_dict()->size() == 2);
  CHECK(r->as_dict()->front().first == "b"); // input order kept
  CHECK(*r->find("a")->as_int() == 2);
  CHECK(be::encode(*r) == "d1:ai2e1:bi1ee");
  check_reject("d1:bi1e1:ai1e1:bi2ee", errc::bencode_syntax, 0, "duplicate dictionary key", lim);
  check_reject("d1:ai1e1:ai2ee", errc::bencode_syntax, 7, "duplicate dictionary key", lim);
}

TEST_CASE("nesting depth is bounded") {
  auto nested = [](std::size_t depth) {
    return std::string(depth, 'l') + std::string(depth, 'e');
  };
  CHECK(be::decode(nested(64)).has_value());
  check_reject(nested(65), errc::bencode_limit, 64, "nesting deeper than 64");
  be::limits lim;
  lim.max_depth = 3;
  CHECK(be::decode("ld1:ali1eeee", lim).has_value());
  check_reject("ld1:alli1eeeee", errc::bencode_limit, 6, "nesting", lim);
  // Far deeper than any call stack could take if the decoder recursed.
  check_reject(std::string(1000000, 'l'), errc::bencode_limit, 64, "nesting");
}

TEST_CASE("input size and item count are bounded") {
  be::limits lim;
  lim.max_input = 10;
  CHECK(be::decode("10:abcdefgh", lim).has_value() == false);
  CHECK(be::decode("7:abcdefg", lim).has_value());
  check_reject("9:abcdefghi", errc::bencode_limit, 10, "exceeds the limit", lim);

  be::limits items;
  items.max_items = 3;
  CHECK(be::decode("li1ei2ee", items).has_value());
  check_reject("li1ei2ei3ee", errc::bencode_limit, 7, "more than 3 values", items);
}

TEST_CASE("large inputs decode in linear time") {
  // 200k list items and a 50k-key dictionary: quadratic work would time out.
  std::string big = "l";
  for (int i = 0; i < 200000; ++i) {
    big += 'i';
    big += std::to_string(i);
    big += 'e';
  }
  big += "e";
  auto r = be::decode(big);
  REQUIRE(r.has_value());
  CHECK(r->as_list()->size() == 200000);
  CHECK(be::encode(*r) == big);

  be::dict d;
  for (int i = 0; i < 50000; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "k%07d", i);
    d.emplace_back(key, i);
  }
  std::string enc = be::encode(be::value(std::move(d)));
  auto rd = be::decode(enc);
  REQUIRE(rd.has_value());
  CHECK(rd->as_dict()->size() == 50000);
  CHECK(be::encode(*rd) == enc);
}
