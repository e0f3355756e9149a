// Tracker replies come from untrusted servers: the HTTP parser and the
// announce decoder must survive any bytes, and feeding the same bytes in
// pieces must give exactly what feeding them at once gives.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "announce_reply.hpp"
#include "fuzz_check.hpp"
#include "http_response.hpp"
#include "tracker_url.hpp"

using namespace actorrent;

namespace {

// Bounds kept small so a mutated Content-Length or chunk size exercises the
// limit paths quickly.
constexpr std::size_t fuzz_max_size = 64u << 10;

void check_incremental(std::string_view in, const result<http_response>& whole) {
  http_response_parser p(fuzz_max_size);
  // Piece sizes come from the input itself so every run is reproducible.
  std::size_t pos = 0, i = 0;
  auto st = http_response_parser::state::need_more;
  while (pos < in.size() && st == http_response_parser::state::need_more) {
    std::size_t step = 1 + static_cast<unsigned char>(in[i++ % in.size()]) % 17;
    st = p.feed(in.substr(pos, step));
    pos += step;
  }
  if (st == http_response_parser::state::need_more) st = p.finish();
  bool done = st == http_response_parser::state::done;
  FUZZ_CHECK(done == whole.has_value());
  if (done)
    FUZZ_CHECK(p.response().body == whole->body && p.response().status == whole->status &&
               p.response().headers == whole->headers);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  http_response_parser one_shot(fuzz_max_size);
  if (one_shot.feed(in) == http_response_parser::state::need_more) one_shot.finish();
  result<http_response> whole = one_shot.current() == http_response_parser::state::done
                                    ? result<http_response>(one_shot.response())
                                    : result<http_response>(one_shot.failure());
  check_incremental(in, whole);

  (void)parse_http_response(in);
  (void)parse_announce_reply(in);
  if (whole) {
    auto reply = parse_announce_reply(whole->body);
    if (reply) {
      if (reply->peers.size() > max_reply_peers) std::abort();
      for (const auto& p : reply->peers)
        FUZZ_CHECK(p.port != 0 && !p.host.empty());
    }
    // A redirect's target is the server's word too.
    if (const auto* location = whole->header("Location")) {
      static const url base = *parse_url("http://tracker.example:6969/announce");
      auto next = resolve_location(base, *location);
      if (next && (next->host.empty() || next->port == 0 || next->target.empty() ||
                   (next->scheme != "http" && next->scheme != "https")))
        std::abort();
    }
  }
  return 0;
}
