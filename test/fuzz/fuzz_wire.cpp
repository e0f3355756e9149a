// Fuzz target for the peer wire decoder. Input layout:
//   byte 0: flags (bit 0: expect a handshake, bit 1: piece count known,
//           bit 2: small max_block, bit 3: small max_message)
//   byte 1: largest chunk size minus one; byte 2: seed for the chunk sizes
//   bytes 3-4: piece count (big-endian) when bit 1 is set
//   rest: the byte stream a peer sends.
// The stream is decoded twice, in one chunk and in chunks of varying sizes;
// both must yield the same items and the same final state, every decoded
// item must survive an encode/decode round trip, and re-encoding an item
// gives back the bytes it was decoded from. A third time it goes through a
// stream_splitter, in reads of varying room and fill, to the decoder in split
// mode: the same items and the same failure again.
#include "fuzz_check.hpp"
#include "handshake.hpp"
#include "wire_decoder.hpp"
#include "wire_encoder.hpp"
#include "wire_stream_splitter.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

using namespace actorrent;
using namespace actorrent::wire;

namespace {

using bytes = std::vector<std::uint8_t>;

// Decodes one message (no handshake) from its own encoding.
void check_round_trip(const message& m, const decoder_limits& lim) {
  bytes enc;
  append(enc, m);
  FUZZ_CHECK(enc.size() == encoded_size(m));
  decoder d(lim, false);
  d.feed(enc);
  auto r = d.next();
  FUZZ_CHECK(r.has_value() && r->has_value());
  const auto* back = std::get_if<message>(&**r);
  FUZZ_CHECK(back != nullptr && back->index() == m.index() && *back == m);
  FUZZ_CHECK(d.buffered() == 0);
}

// Items as encoded bytes, so they outlive the decoder call that produced them.
struct outcome {
  std::vector<bytes> items;
  errc failure = errc::none;
  std::size_t buffered = 0;
};

// The bytes an item was decoded from, when the whole stream was fed at once.
// Its encoding must be exactly those bytes; an unknown message only carries
// its length prefix and id, its payload having been dropped.
void check_source_bytes(std::span<const std::uint8_t> from, const bytes& enc, bool unknown_msg,
                        std::size_t stream_left) {
  if (!unknown_msg) {
    FUZZ_CHECK(std::equal(enc.begin(), enc.end(), from.begin(), from.end()));
    return;
  }
  FUZZ_CHECK(from.size() >= 5 && std::equal(enc.begin(), enc.begin() + 5, from.begin()));
  FUZZ_CHECK(from.size() == std::min(enc.size(), stream_left));
}

// Returns false once the decoder failed. `stream` is the whole input when it
// was fed at once (empty otherwise), so items can be matched to their bytes.
bool drain(decoder& d, const decoder_limits& lim, outcome& out,
           std::span<const std::uint8_t> stream = {}) {
  for (;;) {
    const std::size_t before = stream.size() - d.buffered();
    auto r = d.next();
    if (!r) {
      FUZZ_CHECK(r.err().code == errc::wire_protocol || r.err().code == errc::wire_limit);
      FUZZ_CHECK(!r.err().message.empty());
      out.failure = r.err().code;
      return false;
    }
    if (!*r) return true;
    const std::size_t after = stream.size() - d.buffered();
    bytes enc;
    bool unknown_msg = false;
    if (const auto* h = std::get_if<handshake>(&**r)) {
      append_handshake(enc, *h);
      auto back = decode_handshake(enc);
      FUZZ_CHECK(back.has_value() && *back == *h);
    } else {
      const message& m = std::get<message>(**r);
      check_round_trip(m, lim);
      append(enc, m);
      unknown_msg = std::holds_alternative<unknown>(m);
    }
    if (!stream.empty())
      check_source_bytes(stream.subspan(before, after - before), enc, unknown_msg,
                         stream.size() - before);
    if (std::holds_alternative<handshake>(**r))
      enc.insert(enc.begin(), 0xff); // tag so a handshake never equals a message
    out.items.push_back(std::move(enc));
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 5) return 0;
  const std::uint8_t flags = data[0];
  const std::size_t max_chunk = std::size_t{data[1]} + 1;
  std::uint32_t rng = 0x9e3779b9u ^ data[2];
  // xorshift32: read sizes drawn from the input, the same on every replay.
  auto next_random = [&rng] {
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
  };
  decoder_limits lim;
  if (flags & 2) lim.num_pieces = (std::uint32_t{data[3]} << 8) | data[4];
  if (flags & 4) lim.max_block = 64;
  if (flags & 8) lim.max_message = 512;
  const bool expect_handshake = (flags & 1) != 0;
  const std::span<const std::uint8_t> stream(data + 5, size - 5);

  outcome whole;
  {
    decoder d(lim, expect_handshake);
    d.feed(stream);
    drain(d, lim, whole, stream);
    whole.buffered = d.buffered();
  }

  outcome chunked;
  {
    decoder d(lim, expect_handshake);
    std::size_t off = 0;
    bool alive = true;
    while (alive && off < stream.size()) {
      next_random();
      const std::size_t n = std::min<std::size_t>(1 + rng % max_chunk, stream.size() - off);
      if (rng & 0x100) {
        auto room = d.prepare(n);
        FUZZ_CHECK(room.size() >= n);
        std::copy_n(stream.data() + off, n, room.begin());
        d.commit(n);
      } else {
        d.feed(stream.subspan(off, n));
      }
      off += n;
      alive = drain(d, lim, chunked);
      // Never more than one message's worth (plus a chunk) is held.
      FUZZ_CHECK(!alive || d.buffered() <= std::size_t{d.max_message()} + 4 + max_chunk);
    }
    if (alive) drain(d, lim, chunked);
    chunked.buffered = d.buffered();
  }

  outcome split;
  {
    decoder_limits split_lim = lim;
    split_lim.split_payloads = true;
    decoder d(split_lim, expect_handshake);
    stream_splitter splitter(lim.max_block, expect_handshake);
    std::size_t off = 0;
    bool alive = true;
    while (alive && off < stream.size()) {
      const std::size_t room = 1 + next_random() % (4 * max_chunk);
      auto slots = splitter.prepare(room);
      std::size_t offered = 0;
      for (auto s : slots) offered += s.size();
      FUZZ_CHECK(offered == room);
      const std::size_t n = std::min<std::size_t>(1 + (rng >> 16) % room, stream.size() - off);
      std::size_t done = 0;
      for (auto s : slots) {
        const auto k = std::min(s.size(), n - done);
        std::copy_n(stream.data() + off + done, k, s.data());
        done += k;
      }
      splitter.commit(n);
      off += n;
      if (!splitter.ready()) continue;
      auto out = splitter.take();
      for (const auto& p : out.payloads) FUZZ_CHECK(p.size() <= lim.max_block);
      d.feed(out.stream);
      d.add_payloads(std::move(out.payloads));
      alive = drain(d, lim, split);  // round trips decode unsplit
    }
  }

  FUZZ_CHECK(whole.items == chunked.items);
  FUZZ_CHECK(whole.items == split.items);
  FUZZ_CHECK(whole.failure == split.failure);
  FUZZ_CHECK(whole.failure == chunked.failure);
  if (whole.failure == errc::none) FUZZ_CHECK(whole.buffered == chunked.buffered);
  return 0;
}
