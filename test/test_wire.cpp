#include <doctest/doctest.h>

#include "handshake.hpp"
#include "wire_decoder.hpp"
#include "wire_encoder.hpp"
#include "wire_message.hpp"

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

using namespace actorrent;
using namespace actorrent::wire;

namespace {

using bytes = std::vector<std::uint8_t>;

bytes B(std::initializer_list<int> v) {
  bytes out;
  for (int x : v) out.push_back(static_cast<std::uint8_t>(x));
  return out;
}

bytes concat(std::initializer_list<bytes> parts) {
  bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

bytes encode(const message& m) {
  bytes out;
  append(out, m);
  return out;
}

// A decoded item with its views copied out, so it outlives the decoder call.
struct owned {
  std::size_t kind = 0; // variant index of message, or 100 for a handshake
  std::uint64_t a = 0, b = 0, c = 0;
  bytes payload;
  friend bool operator==(const owned&, const owned&) = default;
};

owned own(const message& m) {
  owned o;
  o.kind = m.index();
  if (auto* h = std::get_if<have>(&m)) o.a = h->piece;
  if (auto* bf = std::get_if<bitfield>(&m)) o.payload.assign(bf->bits.begin(), bf->bits.end());
  if (auto* r = std::get_if<request>(&m)) { o.a = r->piece; o.b = r->begin; o.c = r->length; }
  if (auto* p = std::get_if<piece>(&m)) {
    o.a = p->piece;
    o.b = p->begin;
    o.payload.assign(p->data.begin(), p->data.end());
  }
  if (auto* cn = std::get_if<cancel>(&m)) { o.a = cn->piece; o.b = cn->begin; o.c = cn->length; }
  if (auto* pt = std::get_if<port>(&m)) o.a = pt->port;
  if (auto* u = std::get_if<unknown>(&m)) { o.a = u->id; o.b = u->length; }
  if (auto* e = std::get_if<extended>(&m)) {
    o.a = e->id;
    o.payload.assign(e->payload.begin(), e->payload.end());
  }
  return o;
}

owned own(const handshake& h) {
  owned o;
  o.kind = 100;
  append_handshake(o.payload, h);
  return o;
}

owned own_item(const item& it) {
  if (auto* h = std::get_if<handshake>(&it)) return own(*h);
  return own(std::get<message>(it));
}

// Drains every complete item; a decoder error fails the test.
void drain(decoder& d, std::vector<owned>& out) {
  for (;;) {
    auto r = d.next();
    REQUIRE_MESSAGE(r.has_value(), r.err().to_string());
    if (!*r) return;
    out.push_back(own_item(**r));
  }
}

// Feeds `data` whole and returns the first error the decoder reports.
error first_error(decoder& d, const bytes& data) {
  d.feed(data);
  for (;;) {
    auto r = d.next();
    if (!r) return r.err();
    if (!*r) return {};
  }
}

error first_error(const bytes& data, decoder_limits lim = {}) {
  decoder d(lim, false);
  return first_error(d, data);
}

handshake sample_handshake() {
  handshake h;
  h.reserved[5] = 0x10; // extension protocol (BEP 10)
  h.reserved[7] = 0x01; // DHT (BEP 5)
  h.info_hash = sha1(std::string_view("actorrent test torrent"));
  const char id[] = "-AT0001-abcdefghijkl";
  std::memcpy(h.peer_id.data(), id, 20);
  return h;
}

bytes pattern(std::size_t n, std::uint8_t seed) {
  bytes out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>(seed + i * 7 + (i >> 8));
  return out;
}

} // namespace

namespace doctest {
template <>
struct StringMaker<owned> {
  static String convert(const owned& o) {
    std::string s = "{kind " + std::to_string(o.kind) + ", " + std::to_string(o.a) + ", " +
                    std::to_string(o.b) + ", " + std::to_string(o.c) + ", " +
                    std::to_string(o.payload.size()) + " bytes}";
    return String(s.c_str());
  }
};
} // namespace doctest

TEST_CASE("handshake round trip keeps the reserved bits") {
  const handshake h = sample_handshake();
  std::array<std::uint8_t, handshake_size> buf{};
  encode_handshake(h, buf);

  CHECK(buf[0] == 19);
  CHECK(std::string_view(reinterpret_cast<const char*>(buf.data() + 1), 19) == "BitTorrent protocol");
  CHECK(buf[20 + 5] == 0x10);
  CHECK(buf[20 + 7] == 0x01);
  CHECK(std::memcmp(buf.data() + 28, h.info_hash.bytes.data(), 20) == 0);
  CHECK(std::string_view(reinterpret_cast<const char*>(buf.data() + 48), 20) == "-AT0001-abcdefghijkl");

  auto back = decode_handshake(buf);
  REQUIRE(back.has_value());
  CHECK(*back == h);
  CHECK(back->reserved[5] == 0x10);
  CHECK(back->reserved[7] == 0x01);

  bytes appended;
  append_handshake(appended, h);
  CHECK(appended == bytes(buf.begin(), buf.end()));
}

TEST_CASE("handshake with a wrong pstrlen, protocol string or size is rejected") {
  std::array<std::uint8_t, handshake_size> buf{};
  encode_handshake(sample_handshake(), buf);

  auto wrong_len = buf;
  wrong_len[0] = 18;
  auto r1 = decode_handshake(wrong_len);
  REQUIRE_FALSE(r1.has_value());
  CHECK(r1.err().code == errc::wire_protocol);

  auto wrong_proto = buf;
  wrong_proto[1] = 'b';
  auto r2 = decode_handshake(wrong_proto);
  REQUIRE_FALSE(r2.has_value());
  CHECK(r2.err().code == errc::wire_protocol);

  auto r3 = decode_handshake(std::span<const std::uint8_t>(buf.data(), 67));
  REQUIRE_FALSE(r3.has_value());
  CHECK(r3.err().code == errc::wire_protocol);

  SUBCASE("the decoder fails on the first wrong byte, before 68 arrive") {
    decoder d;
    d.feed(B({0x13, 'B', 'i', 't'}));
    auto partial = d.next();
    REQUIRE(partial.has_value());
    CHECK_FALSE(partial->has_value());
    d.feed(B({'X'}));
    auto r = d.next();
    REQUIRE_FALSE(r.has_value());
    CHECK(r.err().code == errc::wire_protocol);
  }
  SUBCASE("an encrypted or foreign stream fails on byte 0") {
    decoder d;
    d.feed(B({'G'}));
    auto r = d.next();
    REQUIRE_FALSE(r.has_value());
    CHECK(r.err().code == errc::wire_protocol);
  }
}

TEST_CASE("every message encodes to the bytes of BEP 3 and decodes back") {
  const bytes bits = B({0xa5, 0xf0});
  const bytes block = B({0xde, 0xad, 0xbe, 0xef});
  const bytes ext_payload = B({'d', 'e', 'e'});
  struct row {
    message m;
    bytes expected;
  };
  const std::vector<row> rows = {
    {keep_alive{}, B({0, 0, 0, 0})},
    {choke{}, B({0, 0, 0, 1, 0})},
    {unchoke{}, B({0, 0, 0, 1, 1})},
    {interested{}, B({0, 0, 0, 1, 2})},
    {not_interested{}, B({0, 0, 0, 1, 3})},
    {have{0x01020304}, B({0, 0, 0, 5, 4, 0x01, 0x02, 0x03, 0x04})},
    {bitfield{bits}, B({0, 0, 0, 3, 5, 0xa5, 0xf0})},
    {request{1, 0x4000, 0x4000},
     B({0, 0, 0, 13, 6, 0, 0, 0, 1, 0, 0, 0x40, 0, 0, 0, 0x40, 0})},
    {piece{2, 0x8000, block},
     B({0, 0, 0, 13, 7, 0, 0, 0, 2, 0, 0, 0x80, 0, 0xde, 0xad, 0xbe, 0xef})},
    {cancel{0x0a0b0c0d, 0x10, 0x3fff},
     B({0, 0, 0, 13, 8, 0x0a, 0x0b, 0x0c, 0x0d, 0, 0, 0, 0x10, 0, 0, 0x3f, 0xff})},
    {port{6881}, B({0, 0, 0, 3, 9, 0x1a, 0xe1})},
    {extended{3, ext_payload}, B({0, 0, 0, 5, 20, 3, 'd', 'e', 'e'})},
    {unknown{21, 3}, B({0, 0, 0, 3, 21, 0, 0})},
    {suggest_piece{0x01020304}, B({0, 0, 0, 5, 13, 0x01, 0x02, 0x03, 0x04})},
    {have_all{}, B({0, 0, 0, 1, 14})},
    {have_none{}, B({0, 0, 0, 1, 15})},
    {reject_request{3, 0x4000, 0x4000},
     B({0, 0, 0, 13, 16, 0, 0, 0, 3, 0, 0, 0x40, 0, 0, 0, 0x40, 0})},
    {allowed_fast{0x0a0b0c0d}, B({0, 0, 0, 5, 17, 0x0a, 0x0b, 0x0c, 0x0d})},
  };
  REQUIRE(rows.size() == std::variant_size_v<message>);
  for (const auto& r : rows) {
    CAPTURE(message_name(r.m));
    CHECK(encoded_size(r.m) == r.expected.size());
    CHECK(encode(r.m) == r.expected);
    bytes buf(r.expected.size() + 3, 0xee);
    CHECK(encode_to(r.m, buf) == r.expected.size());
    CHECK(buf[r.expected.size()] == 0xee); // nothing written past the end

    decoder d({}, false);
    d.feed(r.expected);
    auto got = d.next();
    REQUIRE(got.has_value());
    REQUIRE(got->has_value());
    const message& m = std::get<message>(**got);
    CHECK(m.index() == r.m.index());
    CHECK(m == r.m);
    CHECK(d.buffered() == 0);
    auto after = d.next();
    REQUIRE(after.has_value());
    CHECK_FALSE(after->has_value());
  }
}

TEST_CASE("append_piece_header writes the header of a piece message") {
  const bytes block = pattern(300, 3);
  bytes out = B({0xaa}); // appends, keeps what is there
  append_piece_header(out, 7, 0x4000, static_cast<std::uint32_t>(block.size()));
  CHECK(out == B({0xaa, 0, 0, 0x01, 0x35, 7, 0, 0, 0, 7, 0, 0, 0x40, 0}));
  out.insert(out.end(), block.begin(), block.end());
  CHECK(bytes(out.begin() + 1, out.end()) == encode(piece{7, 0x4000, block}));
}

namespace {

struct session {
  bytes stream;
  std::vector<owned> expected;
};

// A download as a peer would send it, with the items the decoder must yield
// written down independently of the decoder.
session sample_session() {
  session s;
  auto add = [&](const message& m, bytes wire) {
    s.expected.push_back(own(m));
    s.stream.insert(s.stream.end(), wire.begin(), wire.end());
  };
  const handshake h = sample_handshake();
  s.expected.push_back(own(h));
  append_handshake(s.stream, h);

  const bytes bits = B({0xff, 0x7e, 0x30}); // 20 pieces: the last 4 bits are spare
  add(bitfield{bits}, B({0, 0, 0, 4, 5, 0xff, 0x7e, 0x30}));
  add(have{19}, B({0, 0, 0, 5, 4, 0, 0, 0, 19}));
  add(unchoke{}, B({0, 0, 0, 1, 1}));
  const bytes b1 = pattern(16384, 1), b2 = pattern(1, 2), b3 = pattern(5000, 3);
  add(piece{0, 0, b1}, concat({B({0, 0, 0x40, 0x09, 7, 0, 0, 0, 0, 0, 0, 0, 0}), b1}));
  add(piece{0, 16384, b2}, concat({B({0, 0, 0, 10, 7, 0, 0, 0, 0, 0, 0, 0x40, 0}), b2}));
  add(keep_alive{}, B({0, 0, 0, 0}));
  const bytes ext = pattern(300, 4); // a BEP 10 extension message, extended id 2
  add(extended{2, ext}, concat({B({0, 0, 0x01, 0x2e, 20, 2}), ext}));
  add(unknown{30, 301}, concat({B({0, 0, 0x01, 0x2d, 30}), ext}));
  add(piece{3, 0x8000, b3}, concat({B({0, 0, 0x13, 0x91, 7, 0, 0, 0, 3, 0, 0, 0x80, 0}), b3}));
  add(cancel{2, 0x4000, 0x4000}, B({0, 0, 0, 13, 8, 0, 0, 0, 2, 0, 0, 0x40, 0, 0, 0, 0x40, 0}));
  add(port{51413}, B({0, 0, 0, 3, 9, 0xc8, 0xd5}));
  return s;
}

decoder_limits session_limits() {
  decoder_limits lim;
  lim.num_pieces = 20;
  return lim;
}

} // namespace

TEST_CASE("a mixed stream decodes identically however it is split") {
  const session s = sample_session();

  SUBCASE("one chunk") {
    decoder d(session_limits());
    std::vector<owned> got;
    d.feed(s.stream);
    drain(d, got);
    CHECK(got == s.expected);
    CHECK(d.buffered() == 0);
  }
  SUBCASE("byte by byte") {
    decoder d(session_limits());
    std::vector<owned> got;
    for (std::uint8_t byte : s.stream) {
      d.feed({&byte, 1});
      drain(d, got);
    }
    CHECK(got == s.expected);
    CHECK(d.buffered() == 0);
  }
  SUBCASE("two chunks, split at every offset") {
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i <= s.stream.size(); ++i) {
      decoder d(session_limits());
      std::vector<owned> got;
      const std::span<const std::uint8_t> all(s.stream);
      d.feed(all.first(i));
      drain(d, got);
      d.feed(all.subspan(i));
      drain(d, got);
      if (got != s.expected || d.buffered() != 0) {
        ++mismatches;
        CHECK_MESSAGE(got == s.expected, "split at " << i);
      }
    }
    CHECK(mismatches == 0);
  }
  SUBCASE("read straight into the decoder's buffer in uneven chunks") {
    decoder d(session_limits());
    std::vector<owned> got;
    std::size_t off = 0, step = 1;
    while (off < s.stream.size()) {
      const std::size_t n = std::min(step, s.stream.size() - off);
      auto room = d.prepare(n);
      REQUIRE(room.size() >= n);
      std::memcpy(room.data(), s.stream.data() + off, n);
      d.commit(n);
      off += n;
      step = step * 3 % 7919 + 1;
      drain(d, got);
    }
    CHECK(got == s.expected);
  }
}

TEST_CASE("several messages in one read come out one per call") {
  decoder d({}, false);
  d.feed(concat({encode(choke{}), encode(unchoke{}), encode(have{5}), encode(request{5, 0, 16384}),
                 B({0, 0, 0})})); // and the start of a keep-alive
  std::vector<owned> got;
  drain(d, got);
  const std::vector<owned> expected = {own(choke{}), own(unchoke{}), own(have{5}),
                                       own(request{5, 0, 16384})};
  CHECK(got == expected);
  CHECK(d.buffered() == 3);
  d.feed(B({0}));
  drain(d, got);
  REQUIRE(got.size() == 5);
  CHECK(got.back() == own(keep_alive{}));
  CHECK(d.buffered() == 0);
}

TEST_CASE("an extension message over the bound (here 600 kB) is skipped like an unknown one, unbuffered") {
  decoder d({}, false);
  const std::uint32_t payload = 600 * 1000;
  bytes stream = concat({B({0, 0x09, 0x27, 0xc1, 20}), bytes(payload, 0x5a), encode(have{9})});
  std::vector<owned> got;
  std::size_t peak = 0;
  for (std::size_t off = 0; off < stream.size(); off += 1000) {
    const std::size_t n = std::min<std::size_t>(1000, stream.size() - off);
    d.feed(std::span<const std::uint8_t>(stream).subspan(off, n));
    peak = std::max(peak, d.buffered());
    drain(d, got);
  }
  const std::vector<owned> expected = {own(unknown{20, payload + 1}), own(have{9})};
  CHECK(got == expected);
  CHECK(peak <= 1000);
}

TEST_CASE("extension messages: returned whole up to the bound, an id byte required") {
  decoder_limits lim;
  lim.max_extended = 100;
  {
    decoder d(lim, false);
    const bytes payload = pattern(99, 5);  // 99 + the extended id byte = the bound
    d.feed(concat({B({0, 0, 0, 101, 20, 7}), payload, encode(have{1})}));
    std::vector<owned> got;
    drain(d, got);
    const std::vector<owned> expected = {own(extended{7, payload}), own(have{1})};
    CHECK(got == expected);
  }
  {
    decoder d(lim, false);
    d.feed(concat({B({0, 0, 0, 102, 20, 7}), pattern(100, 5), encode(have{1})}));
    std::vector<owned> got;
    drain(d, got);
    const std::vector<owned> expected = {own(unknown{20, 102}), own(have{1})};
    CHECK(got == expected);
  }
  {
    decoder d(lim, false);
    d.feed(B({0, 0, 0, 1, 20}));
    auto r = d.next();
    REQUIRE_FALSE(r.has_value());
    CHECK(r.err().code == errc::wire_protocol);
  }
}

TEST_CASE("a buffer fed many blocks stays bounded") {
  decoder d({}, false);
  const bytes block = pattern(16384, 9);
  bytes one = concat({B({0, 0, 0x40, 0x09, 7, 0, 0, 0, 1, 0, 0, 0, 0}), block});
  std::size_t blocks = 0;
  // 1500 bytes per read, like a TCP segment, across 200 blocks.
  bytes stream;
  for (int i = 0; i < 200; ++i) stream.insert(stream.end(), one.begin(), one.end());
  for (std::size_t off = 0; off < stream.size(); off += 1500) {
    d.feed(std::span<const std::uint8_t>(stream).subspan(off, std::min<std::size_t>(1500, stream.size() - off)));
    CHECK(d.buffered() < one.size() + 1500);
    for (;;) {
      auto r = d.next();
      REQUIRE(r.has_value());
      if (!*r) break;
      auto& p = std::get<piece>(std::get<message>(**r));
      CHECK(std::ranges::equal(p.data, block));
      ++blocks;
    }
  }
  CHECK(blocks == 200);
}

TEST_CASE("a length prefix over the limit fails before anything is buffered") {
  decoder d({}, false);
  d.feed(B({0xff, 0xff, 0xff, 0xff}));
  auto r = d.next();
  REQUIRE_FALSE(r.has_value());
  CHECK(r.err().code == errc::wire_limit);
  CHECK(r.err().message.find("4294967295") != std::string::npos);

  // The decoder stays failed and drops further input.
  d.feed(encode(choke{}));
  auto again = d.next();
  REQUIRE_FALSE(again.has_value());
  CHECK(again.err().code == errc::wire_limit);
  CHECK(d.failed());

  decoder_limits small;
  small.max_message = 100;
  CHECK(first_error(B({0, 0, 0, 101, 20}), small).code == errc::wire_limit);
  CHECK_FALSE(first_error(concat({B({0, 0, 0, 100, 20}), bytes(99, 0)}), small));
  // Derived bound: 1 MiB for skipped messages, one more is refused.
  CHECK(first_error(B({0, 0x10, 0, 0x01, 20})).code == errc::wire_limit);
  CHECK_FALSE(first_error(B({0, 0x10, 0, 0x00, 20})));
}

TEST_CASE("a piece over max_block is refused from its header alone") {
  auto e = first_error(B({0, 0, 0x40, 0x0a, 7})); // 16385 bytes of data announced
  CHECK(e.code == errc::wire_limit);
  CHECK(e.message.find("id 7") != std::string::npos);
  CHECK(e.message.find("16394") != std::string::npos);

  decoder_limits lim;
  lim.max_block = 32 * 1024;
  const bytes big = pattern(32 * 1024, 5);
  CHECK_FALSE(first_error(encode(piece{0, 0, big}), lim));
  CHECK(first_error(B({0, 0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0})).code == errc::wire_protocol);
}

TEST_CASE("request and cancel lengths must be 1 to max_block") {
  CHECK(first_error(encode(request{0, 0, 0})).code == errc::wire_limit);
  CHECK(first_error(encode(request{0, 0, 16385})).code == errc::wire_limit);
  CHECK(first_error(encode(cancel{0, 0, 0})).code == errc::wire_limit);
  CHECK(first_error(encode(cancel{0, 0, 16385})).code == errc::wire_limit);
  CHECK_FALSE(first_error(encode(request{0, 0, 16384})));
  CHECK_FALSE(first_error(encode(request{0, 0, 1})));
  CHECK(first_error(encode(reject_request{0, 0, 0})).code == errc::wire_limit);
  CHECK(first_error(encode(reject_request{0, 0, 16385})).code == errc::wire_limit);
  CHECK_FALSE(first_error(encode(reject_request{0, 0, 16384})));
}

TEST_CASE("fixed-size messages must have their exact length") {
  struct bad {
    bytes wire;
    const char* what;
  };
  const std::vector<bad> cases = {
    {B({0, 0, 0, 2, 0, 0}), "choke"},
    {B({0, 0, 0, 2, 1, 0}), "unchoke"},
    {B({0, 0, 0, 2, 2, 0}), "interested"},
    {B({0, 0, 0, 5, 3, 0, 0, 0, 0}), "not_interested"},
    {B({0, 0, 0, 4, 4, 0, 0, 0}), "have"},
    {B({0, 0, 0, 6, 4, 0, 0, 0, 0, 0}), "have"},
    {B({0, 0, 0, 12, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}), "request"},
    {B({0, 0, 0, 14, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0}), "cancel"},
    {B({0, 0, 0, 2, 9, 0}), "port"},
    {B({0, 0, 0, 4, 9, 0, 0, 0}), "port"},
    {B({0, 0, 0, 4, 13, 0, 0, 0}), "suggest_piece"},
    {B({0, 0, 0, 2, 14, 0}), "have_all"},
    {B({0, 0, 0, 2, 15, 0}), "have_none"},
    {B({0, 0, 0, 12, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}), "reject_request"},
    {B({0, 0, 0, 6, 17, 0, 0, 0, 0, 0}), "allowed_fast"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    auto e = first_error(c.wire);
    CHECK(e.code == errc::wire_protocol);
    CHECK(e.message.find(c.what) != std::string::npos);
    CHECK(e.message.find("length prefix") != std::string::npos);
  }
}

TEST_CASE("bitfield length and spare bits are checked once the piece count is known") {
  decoder_limits lim;
  lim.num_pieces = 20; // 3 bytes, low 4 bits of the last are spare
  CHECK_FALSE(first_error(B({0, 0, 0, 4, 5, 0xff, 0xff, 0xf0}), lim));
  CHECK(first_error(B({0, 0, 0, 3, 5, 0xff, 0xff}), lim).code == errc::wire_protocol);
  CHECK(first_error(B({0, 0, 0, 5, 5, 0xff, 0xff, 0xf0, 0}), lim).code == errc::wire_protocol);
  CHECK(first_error(B({0, 0, 0, 4, 5, 0xff, 0xff, 0xf8}), lim).code == errc::wire_protocol);
  CHECK(first_error(B({0, 0, 0, 4, 5, 0xff, 0xff, 0x01}), lim).code == errc::wire_protocol);

  lim.num_pieces = 16; // no spare bits
  CHECK_FALSE(first_error(B({0, 0, 0, 3, 5, 0xff, 0xff}), lim));

  // Unknown piece count: any length passes.
  CHECK_FALSE(first_error(B({0, 0, 0, 5, 5, 0xff, 0xff, 0xff, 0xff})));

  SUBCASE("set_num_pieces applies from then on") {
    decoder d({}, false);
    d.set_num_pieces(9);
    CHECK(first_error(d, B({0, 0, 0, 2, 5, 0xff})).code == errc::wire_protocol);
  }
}

TEST_CASE("piece indexes must be below the piece count") {
  decoder_limits lim;
  lim.num_pieces = 20;
  CHECK_FALSE(first_error(encode(have{19}), lim));
  auto e = first_error(encode(have{20}), lim);
  CHECK(e.code == errc::wire_protocol);
  CHECK(e.message.find("id 4") != std::string::npos);
  CHECK(first_error(encode(request{20, 0, 16384}), lim).code == errc::wire_protocol);
  CHECK(first_error(encode(cancel{0xffffffff, 0, 16384}), lim).code == errc::wire_protocol);
  const bytes block = pattern(10, 0);
  CHECK(first_error(encode(piece{20, 0, block}), lim).code == errc::wire_protocol);
  CHECK(first_error(encode(suggest_piece{20}), lim).code == errc::wire_protocol);
  CHECK(first_error(encode(allowed_fast{20}), lim).code == errc::wire_protocol);
  CHECK(first_error(encode(reject_request{20, 0, 16384}), lim).code == errc::wire_protocol);
  CHECK_FALSE(first_error(encode(allowed_fast{19}), lim));
  CHECK_FALSE(first_error(encode(have{0xffffffff}))); // piece count unknown
}

TEST_CASE("a piece's data is a view into the decoder, not a copy") {
  decoder d({}, false);
  const bytes block = pattern(1000, 6);
  auto room = d.prepare(2000);
  bytes wire = encode(piece{1, 2, block});
  std::memcpy(room.data(), wire.data(), wire.size());
  d.commit(wire.size());
  auto r = d.next();
  REQUIRE(r.has_value());
  REQUIRE(r->has_value());
  auto& p = std::get<piece>(std::get<message>(**r));
  CHECK(p.data.data() == room.data() + 13);
  CHECK(std::ranges::equal(p.data, block));
}
