#include "tracker_scrape.hpp"

#include "http_client.hpp"

#include <asio/post.hpp>

#include <vector>

namespace actorrent {

namespace {

// A scrape reply for one torrent is tiny; this is far above any real one.
constexpr std::size_t max_scrape_reply = 64u << 10;

void fail_later(asio::io_context& io, std::function<void(result<scrape_counts>)> done, error e) {
  asio::post(io, [done = std::move(done), e = std::move(e)] { done(e); });
}

} // namespace

void scrape_tracker(asio::io_context& io, udp_tracker_client& udp, const std::string& tracker,
                    const sha1_hash& info_hash, std::chrono::milliseconds timeout,
                    std::string_view user_agent, std::function<void(result<scrape_counts>)> done) {
  auto u = parse_url(tracker);
  if (!u) return fail_later(io, std::move(done), u.err());
  if (u->scheme == "udp") {
    udp.run(*u, std::vector<sha1_hash>{info_hash}, timeout,
            [done = std::move(done)](result<udp_tracker_answer> r) {
              if (!r) return done(r.err());
              const auto& s = std::get<udp_tracker::scrape_reply>(*r);
              const auto& e = s.entries.at(0);  // the decoder checked: one entry per hash
              if (e.seeders < 0 || e.leechers < 0 || e.completed < 0)
                return done(error{errc::tracker_reply, "UDP scrape reply: negative count"});
              done(scrape_counts{e.seeders, e.leechers, e.completed});
            });
    return;
  }
  auto s = scrape_url(tracker);
  if (!s) return fail_later(io, std::move(done), s.err());
  auto target = parse_url(build_scrape_request(*s, info_hash));
  if (!target) return fail_later(io, std::move(done), target.err());
  http_get(io, *target, user_agent, timeout, max_scrape_reply,
           [done = std::move(done), info_hash](result<http_response> r) {
             if (!r) return done(r.err());
             if (r->status < 200 || r->status > 299)
               return done(error{errc::tracker_http, "HTTP status " + std::to_string(r->status)});
             done(parse_scrape_reply(r->body, info_hash));
           });
}

} // namespace actorrent
