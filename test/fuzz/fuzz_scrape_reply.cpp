// A scrape reply comes from an untrusted server: the decoder must survive
// any bytes, and what it accepts must be counts a person can trust.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "scrape_reply.hpp"

using namespace actorrent;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // The info-hash of the seed corpus: "h" twenty times.
  sha1_hash h;
  h.bytes.fill('h');
  auto r = parse_scrape_reply(in, h);
  if (r && (r->complete < 0 || r->incomplete < 0 || r->downloaded < 0)) std::abort();
  if (!r && r.err().code != errc::tracker_reply && r.err().code != errc::tracker_failure) std::abort();
  // The URL rewrite replaces one "announce" by "scrape" and keeps the rest:
  // the first byte that differs is where the two words start.
  if (auto u = scrape_url(in)) {
    std::size_t i = 0;
    while (i < u->size() && i < in.size() && (*u)[i] == in[i]) ++i;
    if (in.substr(i, 8) != "announce" || u->compare(i, 6, "scrape") != 0 ||
        u->compare(i + 6, std::string::npos, in.substr(std::min(i + 8, in.size()))) != 0)
      std::abort();
  }
  return 0;
}
