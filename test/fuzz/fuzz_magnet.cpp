// Fuzz target for magnet link parsing: any bytes either parse into a link
// whose parts respect the limits, or fail with invalid_argument and a message.
#include "actorrent/magnet_link.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace actorrent;

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  magnet_limits lim;
  lim.max_trackers = 8;
  lim.max_peers = 8;
  auto m = parse_magnet(text, lim);
  if (!m) {
    check(m.err().code == errc::invalid_argument);
    check(!m.err().message.empty());
    return 0;
  }
  check(looks_like_magnet(text));
  check(m->trackers.size() <= lim.max_trackers);
  check(m->peers.size() <= lim.max_peers);
  check(m->name.size() <= size);
  for (const auto& p : m->peers) check(!p.empty() && p.find(':') != std::string::npos);
  // A link made of what was parsed names the same hash.
  auto again = parse_magnet("magnet:?xt=urn:btih:" + m->info_hash.hex());
  check(again && again->info_hash == m->info_hash);
  return 0;
}
