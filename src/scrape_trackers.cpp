#include "actorrent/scrape.hpp"

#include "net_service.hpp"
#include "printable.hpp"
#include "tracker_scrape.hpp"
#include "udp_tracker_client.hpp"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>

namespace actorrent {

std::vector<tracker_scrape> scrape_trackers(const metainfo& meta, const scrape_options& opts) {
  auto trackers = meta.trackers();
  struct outcome {
    std::mutex m;
    std::condition_variable cv;
    std::vector<std::optional<result<scrape_counts>>> results;
    std::size_t pending = 0;
  };
  auto out = std::make_shared<outcome>();
  out->results.resize(trackers.size());
  out->pending = trackers.size();
  {
    net_service net;
    udp_tracker_timing timing;
    timing.retransmit_base = std::max(opts.udp_retransmit, std::chrono::milliseconds{1});
    timing.max_retransmits = std::min(opts.udp_retries, 8u);
    udp_tracker_client udp(net.io(), timing);
    for (std::size_t i = 0; i < trackers.size(); ++i)
      scrape_tracker(net.io(), udp, trackers[i], meta.info_hash, opts.timeout, opts.user_agent,
                     [out, i](result<scrape_counts> r) {
                       std::lock_guard<std::mutex> g(out->m);
                       out->results[i].emplace(std::move(r));
                       --out->pending;
                       out->cv.notify_all();
                     });
    std::unique_lock<std::mutex> g(out->m);
    // Every exchange is bounded by opts.timeout; the margin covers a late
    // network thread, never an exchange that does not end.
    out->cv.wait_for(g, opts.timeout + std::chrono::seconds{2}, [&] { return out->pending == 0; });
  }  // the network thread stops here: no callback runs after this point

  std::vector<tracker_scrape> list;
  std::lock_guard<std::mutex> g(out->m);
  for (std::size_t i = 0; i < trackers.size(); ++i) {
    tracker_scrape s;
    s.tracker = printable(trackers[i]);
    const auto& r = out->results[i];
    if (!r) {
      s.error = error{errc::timeout, "no answer in time"};
    } else if (!*r) {
      s.error = r->err();
    } else {
      s.complete = (*r)->complete;
      s.incomplete = (*r)->incomplete;
      s.downloaded = (*r)->downloaded;
    }
    list.push_back(std::move(s));
  }
  return list;
}

} // namespace actorrent
