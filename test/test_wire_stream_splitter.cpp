// The stream splitter with the decoder in split mode must decode every stream
// exactly as the decoder alone does, however the stream is cut into reads,
// and read a steady stream of PIECE payloads into the buffers it hands out.
#include <doctest/doctest.h>

#include "handshake.hpp"
#include "wire_decoder.hpp"
#include "wire_encoder.hpp"
#include "wire_stream_splitter.hpp"

#include <algorithm>
#include <cstdint>
#include <set>
#include <vector>

using namespace actorrent;
using namespace actorrent::wire;

namespace {

using bytes = std::vector<std::uint8_t>;

struct outcome {
  std::vector<bytes> items;  // each item encoded again
  errc failure = errc::none;
  std::size_t payloads_in_place = 0;  // split: payloads read where prepare() said
  std::size_t payloads = 0;
  std::size_t payloads_unaligned = 0;  // split: not on a block_buffer::alignment boundary
};

bool drain(decoder& d, outcome& out) {
  for (;;) {
    auto r = d.next();
    if (!r) {
      out.failure = r.err().code;
      return false;
    }
    if (!*r) return true;
    bytes enc;
    if (const auto* h = std::get_if<handshake>(&**r)) {
      enc.push_back(0xff);
      append_handshake(enc, *h);
    } else {
      append(enc, std::get<message>(**r));
    }
    out.items.push_back(std::move(enc));
  }
}

outcome decode_whole(const bytes& stream, decoder_limits lim) {
  outcome out;
  decoder d(lim, true);
  d.feed(stream);
  drain(d, out);
  return out;
}

// Reads `stream` as a socket would deliver it: each read gets at most
// `budget(i)` bytes of room from the splitter and fills `got(i)` of it.
template <class Budget, class Got>
outcome decode_split(const bytes& stream, decoder_limits lim, Budget budget, Got got) {
  outcome out;
  lim.split_payloads = true;
  decoder d(lim, true);
  stream_splitter s(lim.max_block, true);
  std::set<const std::uint8_t*> slot_starts;
  std::size_t off = 0;
  for (std::size_t i = 0; off < stream.size(); ++i) {
    const std::size_t offered = budget(i);
    auto slots = s.prepare(offered);
    std::size_t room = 0;
    for (auto slot : slots) room += slot.size();
    REQUIRE(room == offered);
    const std::size_t n = std::min({got(i, room), room, stream.size() - off});
    std::size_t left = n;
    for (auto slot : slots) {
      if (left == 0) break;
      const auto k = std::min(slot.size(), left);
      std::copy_n(stream.data() + off + (n - left), k, slot.data());
      slot_starts.insert(slot.data());
      left -= k;
    }
    s.commit(n);
    off += n;
    if (!s.ready()) continue;
    auto split = s.take();
    for (const auto& p : split.payloads) {
      ++out.payloads;
      if (!p.empty() && slot_starts.count(p.data())) ++out.payloads_in_place;
      if (reinterpret_cast<std::uintptr_t>(p.data()) % block_buffer::alignment != 0) ++out.payloads_unaligned;
    }
    d.feed(split.stream);
    d.add_payloads(std::move(split.payloads));
    if (!drain(d, out)) break;
  }
  return out;
}

bytes handshake_bytes() {
  handshake h;
  h.reserved[5] = 0x10;
  h.info_hash.bytes.fill(0xab);
  h.peer_id.fill('p');
  bytes out;
  append_handshake(out, h);
  return out;
}

void add(bytes& out, const message& m) { append(out, m); }

bytes block(std::size_t n, std::uint8_t seed) {
  bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(seed + i * 7);
  return b;
}

// A download as a seeder sends it: handshake, bitfield, unchoke, blocks,
// with other messages between some of them and a short last block.
bytes download_stream(std::size_t blocks, std::size_t block_size) {
  bytes s = handshake_bytes();
  bytes bits{0xff, 0xf0};
  add(s, bitfield{bits});
  add(s, unchoke{});
  std::vector<bytes> payloads;
  for (std::size_t i = 0; i < blocks; ++i) payloads.push_back(block(block_size, std::uint8_t(i)));
  for (std::size_t i = 0; i < blocks; ++i) {
    add(s, piece{static_cast<std::uint32_t>(i / 4), static_cast<std::uint32_t>(i % 4 * block_size),
                 payloads[i]});
    if (i == 5) add(s, have{3});
    if (i == 9) add(s, keep_alive{});
  }
  bytes last = block(block_size / 3 + 1, 99);
  add(s, piece{11, 0, last});
  add(s, piece{11, 0, {}});  // an empty payload
  add(s, choke{});
  return s;
}

} // namespace

TEST_CASE("every way of cutting a download into reads decodes as the whole stream does") {
  decoder_limits lim;
  lim.max_block = 1024;
  lim.num_pieces = 12;
  const bytes stream = download_stream(16, 1024);
  const auto whole = decode_whole(stream, lim);
  REQUIRE(whole.failure == errc::none);
  REQUIRE(whole.items.size() == 16 + 2 + 6);

  // Reads of every fixed size, with room to match.
  for (std::size_t size = 1; size <= stream.size(); size += (size < 300 ? 1 : 97)) {
    auto split = decode_split(stream, lim, [&](std::size_t) { return size; },
                              [](std::size_t, std::size_t room) { return room; });
    CAPTURE(size);
    CHECK(split.failure == errc::none);
    CHECK(split.items == whole.items);
  }
  // Short reads: the socket has less than the room offered.
  for (std::size_t seed = 1; seed < 200; ++seed) {
    std::uint32_t rng = static_cast<std::uint32_t>(seed) * 2654435761u;
    auto next = [&] {
      rng ^= rng << 13;
      rng ^= rng >> 17;
      rng ^= rng << 5;
      return rng;
    };
    auto split = decode_split(stream, lim, [&](std::size_t) { return 1 + next() % 8192; },
                              [&](std::size_t, std::size_t room) { return 1 + next() % room; });
    CAPTURE(seed);
    CHECK(split.items == whole.items);
  }
}

TEST_CASE("a steady stream of PIECE messages lands in the buffers handed out, uncopied") {
  decoder_limits lim;
  lim.max_block = 16 * 1024;
  const bytes stream = download_stream(64, 16 * 1024);
  const auto whole = decode_whole(stream, lim);
  auto split = decode_split(stream, lim, [](std::size_t) { return std::size_t{64 * 1024}; },
                            [](std::size_t, std::size_t room) { return room; });
  CHECK(split.items == whole.items);
  REQUIRE(split.payloads == 66);
  // A message other than PIECE (the bitfield and UNCHOKE, the HAVE, the
  // keep-alive) upsets the guess for the rest of its read: at most the four
  // blocks of a 64 KiB read are copied after each. The empty one is not counted.
  CHECK(split.payloads_in_place >= 65 - 3 * 4);
  CHECK(split.payloads_in_place < 65);
  // Read in place or copied, every payload can go to an O_DIRECT write as it is.
  CHECK(split.payloads_unaligned == 0);
}

TEST_CASE("a stream without PIECE messages is read into the scratch area only") {
  stream_splitter s(16 * 1024, true);
  bytes stream = handshake_bytes();
  for (int i = 0; i < 100; ++i) add(stream, have{static_cast<std::uint32_t>(i)});
  std::size_t off = 0;
  while (off < stream.size()) {
    auto slots = s.prepare(64 * 1024);
    // One contiguous run of room: nothing is set aside for blocks.
    for (std::size_t i = 1; i < slots.size(); ++i)
      REQUIRE(slots[i].data() == slots[i - 1].data() + slots[i - 1].size());
    std::size_t room = 0;
    for (auto slot : slots) room += slot.size();
    const auto n = std::min(room, stream.size() - off);
    std::copy_n(stream.data() + off, n, slots[0].data());
    s.commit(n);
    off += n;
  }
  auto out = s.take();
  CHECK(out.stream == stream);
  CHECK(out.payloads.empty());
}

TEST_CASE("the splitter never allocates by a length prefix it is sent") {
  decoder_limits lim;
  lim.max_block = 16 * 1024;
  bytes stream = handshake_bytes();
  // A PIECE over the block limit and a huge unknown message pass as bytes;
  // the decoder refuses the first.
  bytes big{0x00, 0x00, 0x40, 0x0a, 7, 0, 0, 0, 0, 0, 0, 0, 0};  // 16 KiB + 1 payload
  stream.insert(stream.end(), big.begin(), big.end());
  stream.resize(stream.size() + 16 * 1024 + 1, 0x5a);
  const auto whole = decode_whole(stream, lim);
  REQUIRE(whole.failure == errc::wire_limit);
  auto split = decode_split(stream, lim, [](std::size_t) { return std::size_t{4096}; },
                            [](std::size_t, std::size_t room) { return room; });
  CHECK(split.failure == errc::wire_limit);
  CHECK(split.items == whole.items);
  CHECK(split.payloads == 0);

  stream_splitter s(16 * 1024, false);
  bytes huge{0xff, 0xff, 0xff, 0xff, 42};
  s.feed(huge);
  auto out = s.take();
  CHECK(out.stream == huge);
  CHECK(out.payloads.empty());
  // Only its bytes pass through, as they come.
  auto slots = s.prepare(1000);
  std::size_t room = 0;
  for (auto slot : slots) room += slot.size();
  CHECK(room == 1000);
}

TEST_CASE("a payload that does not match its PIECE header fails the decoder") {
  decoder_limits lim;
  lim.split_payloads = true;
  decoder d(lim, false);
  bytes header{0, 0, 0, 13, 7, 0, 0, 0, 0, 0, 0, 0, 0};  // a 4-byte payload
  d.feed(header);
  CHECK(d.next()->has_value() == false);  // its payload has not come yet
  d.add_payloads({block_buffer::copy_of(bytes(3))});
  auto r = d.next();
  REQUIRE(!r);
  CHECK(r.err().code == errc::wire_protocol);
}
