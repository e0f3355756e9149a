// Asking a torrent's trackers what they know of it (BEP 48 for HTTP
// trackers, the scrape action of BEP 15 for UDP ones): seeders, leechers
// and completed downloads. Needs no session: it runs its own network
// thread for the duration of the call.
#pragma once

#include "actorrent/error.hpp"
#include "actorrent/metainfo.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace actorrent {

/// What one tracker said.
struct tracker_scrape {
  std::string tracker;           ///< the announce URL, control bytes escaped
  actorrent::error error;        ///< set when the tracker gave no counts
  std::int64_t complete = 0;     ///< seeders
  std::int64_t incomplete = 0;   ///< leechers
  std::int64_t downloaded = 0;   ///< completed downloads it counted
};

struct scrape_options {
  /// Bound on each tracker's exchange; all trackers are asked at once.
  std::chrono::milliseconds timeout{5'000};
  /// udp:// trackers: the first wait for a reply, doubled at each retry.
  std::chrono::milliseconds udp_retransmit{15'000};
  unsigned udp_retries = 3;
  std::string user_agent = "actorrent/0.1";
};

/// Scrapes every tracker of `meta` (announce-list order, deduplicated) and
/// returns one entry per tracker in that order. Blocks for at most about
/// opts.timeout. An HTTP tracker whose announce URL's last path component
/// does not start with "announce" has no scrape URL (an error entry).
std::vector<tracker_scrape> scrape_trackers(const metainfo& meta, const scrape_options& opts = {});

} // namespace actorrent
