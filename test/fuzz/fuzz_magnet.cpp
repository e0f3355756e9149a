// Fuzz target for magnet link parsing: any bytes either parse into a link
// whose parts respect the limits (web seeds: http(s) URLs within the length
// bound), or fail with invalid_argument and a message.
#include "actorrent/magnet_link.hpp"
#include "tracker_url.hpp"

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
  lim.max_web_seeds = 4;
  lim.max_web_seed_length = 64;
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
  check(m->web_seeds.size() <= lim.max_web_seeds);
  for (const auto& w : m->web_seeds) {
    check(w.size() <= lim.max_web_seed_length);
    auto u = parse_url(w);
    check(u && (u->scheme == "http" || u->scheme == "https"));
  }
  // A link made of what was parsed names the same hash.
  auto again = parse_magnet("magnet:?xt=urn:btih:" + m->info_hash.hex());
  check(again && again->info_hash == m->info_hash);
  return 0;
}
