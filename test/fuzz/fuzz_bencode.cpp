// Feeds arbitrary bytes to the bencode decoder. A strict decode accepts one
// encoding per value, so whatever it accepts must re-encode to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "actorrent/bencode.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace actorrent;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  bencode::limits lim;
  lim.max_depth = 32;
  lim.max_items = 1u << 16;
  auto r = bencode::decode(in, lim);
  if (r.has_value()) {
    if (bencode::encode(*r) != in || r->begin != 0 || r->end != size) {
      std::fprintf(stderr, "strict decode accepted a non-canonical input of %zu bytes\n", size);
      std::abort();
    }
  } else {
    const error& e = r.err();
    if (e.code != errc::bencode_syntax && e.code != errc::bencode_limit) std::abort();
    if (e.message.find("at byte ") == std::string::npos) std::abort();
  }

  // Lenient decoding accepts a superset; its output must decode strictly.
  lim.strict = false;
  auto lenient = bencode::decode(in, lim);
  if (r.has_value() && !lenient.has_value()) std::abort();
  if (lenient.has_value()) {
    std::string canonical = bencode::encode(*lenient);
    auto again = bencode::decode(canonical, lim);
    if (!again.has_value() || bencode::encode(*again) != canonical) std::abort();
  }
  return 0;
}
