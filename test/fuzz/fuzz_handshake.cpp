// The 68-byte handshake, decoded on its own and by the stream decoder.
// Properties: decode_handshake() accepts exactly the inputs of 68 bytes that
// start with pstrlen 19 and "BitTorrent protocol", and re-encodes what it
// accepts to the same bytes; the stream decoder, fed one byte at a time,
// rejects a stream at the first byte that cannot start a handshake, waits
// otherwise, and yields at byte 68 the same handshake decode_handshake() gives.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "fuzz_check.hpp"
#include "handshake.hpp"
#include "wire_decoder.hpp"

using namespace actorrent;
using namespace actorrent::wire;

namespace {

constexpr std::string_view prefix = "\x13" "BitTorrent protocol";

// Index of the first byte that no handshake can have there, or npos.
std::size_t first_bad_byte(std::span<const std::uint8_t> in) {
  const std::size_t n = std::min(in.size(), prefix.size());
  for (std::size_t i = 0; i < n; ++i)
    if (in[i] != static_cast<std::uint8_t>(prefix[i])) return i;
  return std::string_view::npos;
}

void check_decode(std::span<const std::uint8_t> in) {
  auto h = decode_handshake(in);
  const bool valid = in.size() == handshake_size && first_bad_byte(in) == std::string_view::npos;
  FUZZ_CHECK(h.has_value() == valid);
  if (!h) {
    FUZZ_CHECK(h.err().code == errc::wire_protocol);
    FUZZ_CHECK(!h.err().message.empty());
    return;
  }
  std::array<std::uint8_t, handshake_size> out{};
  encode_handshake(*h, out);
  FUZZ_CHECK(std::equal(out.begin(), out.end(), in.begin(), in.end()));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  check_decode(in);
  if (size > handshake_size) check_decode(in.first(handshake_size));

  const std::size_t bad = first_bad_byte(in);
  decoder d({}, true);
  bool got_handshake = false;
  for (std::size_t i = 0; i < size && !got_handshake; ++i) {
    d.feed(in.subspan(i, 1));
    auto r = d.next();
    if (i == bad) {
      FUZZ_CHECK(!r.has_value());
      FUZZ_CHECK(r.err().code == errc::wire_protocol);
      FUZZ_CHECK(d.failed());
      return 0;
    }
    FUZZ_CHECK(r.has_value());
    if (i + 1 < handshake_size) {
      FUZZ_CHECK(!r->has_value());
      continue;
    }
    FUZZ_CHECK(r->has_value());
    const auto* h = std::get_if<handshake>(&**r);
    FUZZ_CHECK(h != nullptr);
    auto direct = decode_handshake(in.first(handshake_size));
    FUZZ_CHECK(direct.has_value() && *direct == *h);
    FUZZ_CHECK(d.buffered() == 0);
    got_handshake = true;
  }
  FUZZ_CHECK(got_handshake == (size >= handshake_size));
  return 0;
}
