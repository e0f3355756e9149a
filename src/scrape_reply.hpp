// Scraping an HTTP tracker (BEP 48): the scrape URL that goes with an
// announce URL, and a bounded decoder of the tracker's bencoded answer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "actorrent/error.hpp"
#include "actorrent/sha1_hash.hpp"

namespace actorrent {

/// What a tracker knows of one torrent.
struct scrape_counts {
  std::int64_t complete = 0;    ///< seeders
  std::int64_t incomplete = 0;  ///< leechers
  std::int64_t downloaded = 0;  ///< "completed" events it counted
  friend bool operator==(const scrape_counts&, const scrape_counts&) = default;
};

/// The scrape URL for an http(s):// announce URL (BEP 48): the last path
/// component must start with "announce", which becomes "scrape"; the rest
/// of the URL, query included, stays. Fails with errc::invalid_argument
/// when the URL has no such component: the tracker offers no scrape.
result<std::string> scrape_url(std::string_view announce_url);

/// The scrape URL with the info-hash added to its query.
std::string build_scrape_request(std::string_view scrape_url, const sha1_hash& info_hash);

/// Decodes a scrape reply and returns the counts of `info_hash`:
/// errc::tracker_failure when the tracker refused ("failure reason"),
/// errc::tracker_reply when the reply is malformed, does not mention the
/// torrent, or lacks or has a negative count.
result<scrape_counts> parse_scrape_reply(std::string_view bencoded_body, const sha1_hash& info_hash);

} // namespace actorrent
