// Feeds arbitrary bytes to the bencode decoder. A strict decode accepts one
// encoding per value, so whatever it accepts must re-encode to the same bytes.
// A lenient decode accepts more; decode -> encode -> decode of what it
// accepts gives the same value, and the encoding is then a fixed point.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "actorrent/bencode.hpp"
#include "fuzz_check.hpp"

namespace {

// Equal values, dictionary keys compared as sets (a lenient decode keeps
// them in input order, the encoder sorts them).
bool same_value(const actorrent::bencode::value& a, const actorrent::bencode::value& b) {
  if (a.data.index() != b.data.index()) return false;
  if (const auto* l = a.as_list()) {
    const auto& m = *b.as_list();
    if (l->size() != m.size()) return false;
    for (std::size_t i = 0; i < l->size(); ++i)
      if (!same_value((*l)[i], m[i])) return false;
    return true;
  }
  if (const auto* d = a.as_dict()) {
    if (d->size() != b.as_dict()->size()) return false;
    for (const auto& [k, v] : *d) {
      const auto* other = b.find(k);
      if (other == nullptr || !same_value(v, *other)) return false;
    }
    return true;
  }
  return a == b;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace actorrent;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  bencode::limits lim;
  lim.max_depth = 32;
  lim.max_items = 1u << 16;
  auto r = bencode::decode(in, lim);
  if (r.has_value()) {
    FUZZ_CHECK(bencode::encode(*r) == in && r->begin == 0 && r->end == size);
    auto again = bencode::decode(bencode::encode(*r), lim);
    FUZZ_CHECK(again.has_value() && *again == *r);
  } else {
    const error& e = r.err();
    FUZZ_CHECK(e.code == errc::bencode_syntax || e.code == errc::bencode_limit);
    FUZZ_CHECK(e.message.find("at byte ") != std::string::npos);
  }

  // Lenient decoding accepts a superset; its output must decode strictly.
  lim.strict = false;
  auto lenient = bencode::decode(in, lim);
  FUZZ_CHECK(!r.has_value() || lenient.has_value());
  if (r.has_value()) FUZZ_CHECK(*lenient == *r);
  if (lenient.has_value()) {
    std::string canonical = bencode::encode(*lenient);
    lim.strict = true;
    auto again = bencode::decode(canonical, lim);
    FUZZ_CHECK(again.has_value() && same_value(*again, *lenient));
    FUZZ_CHECK(bencode::encode(*again) == canonical);
  }
  return 0;
}
