// The incoming side of the Message Stream Encryption handshake.
// Byte 0 picks the case:
//  - even: the rest is what a peer sends. Properties: the same result for
//    any split of the input (done or failed, the same error, the same bytes
//    sent back, the same payload); buffered bytes stay within the spec's
//    bounds, so a handshake that neither fails nor finishes has used less
//    than the bound.
//  - odd: a real outgoing handshake talks to the incoming one, its bytes
//    XORed with the rest of the input (cycled). Properties: the same result
//    for any split; with nothing changed it completes, finds the torrent,
//    selects RC4 and the streams agree.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "fuzz_check.hpp"
#include "mse_handshake.hpp"

using namespace actorrent;
using namespace actorrent::mse;

namespace {

// Deterministic: both runs of a case must draw the same keys and pads.
random_source counter_random(std::uint32_t seed) {
  auto state = std::make_shared<std::uint32_t>(seed);
  return [state](std::span<std::uint8_t> out) {
    for (auto& b : out) {
      *state = *state * 1664525u + 1013904223u;
      b = static_cast<std::uint8_t>(*state >> 24);
    }
  };
}

const sha1_hash ours = sha1(std::string_view("the torrent we have"));

skey_lookup lookup() {
  return [](const sha1_hash& req2) -> std::optional<sha1_hash> {
    if (req2 == req2_hash(ours)) return ours;
    return std::nullopt;
  };
}

struct outcome {
  bool done = false;
  bool failed = false;
  std::string error;
  std::vector<std::uint8_t> sent;
  std::vector<std::uint8_t> payload;
  std::uint32_t selected = 0;

  friend bool operator==(const outcome&, const outcome&) = default;
};

/// Feeds `in` to a fresh incoming handshake, in pieces of the given sizes
/// (cycled; 0 means all at once).
outcome run(std::span<const std::uint8_t> in, std::uint32_t allowed,
            std::span<const std::uint8_t> splits) {
  auto b = handshake::incoming(lookup(), allowed, counter_random(7));
  outcome o;
  std::size_t at = 0;
  std::size_t k = 0;
  while (at < in.size()) {
    std::size_t n = splits.empty() ? in.size() : std::max<std::size_t>(1, splits[k++ % splits.size()]);
    n = std::min(n, in.size() - at);
    auto err = b.feed(in.subspan(at, n));
    auto out = b.take_output();
    o.sent.insert(o.sent.end(), out.begin(), out.end());
    at += n;
    if (err) {
      o.error = err.message;
      FUZZ_CHECK(err.code == errc::wire_protocol);
      break;
    }
  }
  o.done = b.done();
  o.failed = b.failed();
  FUZZ_CHECK(!(o.done && o.failed));
  if (o.done) {
    o.payload = b.take_payload();
    o.selected = b.selected();
    FUZZ_CHECK(b.info_hash() == ours);
    FUZZ_CHECK(o.selected == method_rc4 || o.selected == method_plaintext);
    FUZZ_CHECK(o.selected & allowed);
  }
  return o;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const bool real_peer = data[0] & 1;
  const std::uint32_t allowed = (data[1] & 3) == 0 ? method_rc4 : (data[1] & 3);
  std::span<const std::uint8_t> rest(data + 2, size - 2);

  std::vector<std::uint8_t> in;
  bool changed = true;
  if (!real_peer) {
    in.assign(rest.begin(), rest.end());
  } else {
    // What a well-behaved peer sends in its two messages (the answer it
    // needs comes from a handshake run beside this one), then a payload.
    auto a = handshake::outgoing(ours, method_rc4 | method_plaintext, counter_random(3));
    auto b = handshake::incoming(lookup(), allowed, counter_random(7));
    in = a.take_output();
    (void)b.feed(in);
    (void)a.feed(b.take_output());
    auto third = a.take_output();
    in.insert(in.end(), third.begin(), third.end());
    changed = false;
    if (!rest.empty())
      for (std::size_t i = 0; i < in.size(); ++i) {
        in[i] ^= rest[i % rest.size()];
        changed |= rest[i % rest.size()] != 0;
      }
  }
  auto whole = run(in, allowed, {});
  if (!changed) {
    FUZZ_CHECK(whole.done);
    FUZZ_CHECK(whole.selected == ((allowed & method_rc4) ? method_rc4 : method_plaintext));
  }
  auto pieces = run(in, allowed, rest.first(std::min<std::size_t>(rest.size(), 16)));
  FUZZ_CHECK(whole == pieces);
  if (!whole.done && !whole.failed) {
    // Still waiting: never on more than Ya, the pads, the hashes and a
    // maximal IA could need.
    FUZZ_CHECK(in.size() < key_size + max_pad + 20 + 20 + 8 + 4 + 2 + max_pad + 2 + 65535);
  }
  return 0;
}
