// Asking one tracker, HTTP (BEP 48) or UDP (BEP 15), for its counts of a
// torrent: seeders, leechers, downloads.
#pragma once

#include "scrape_reply.hpp"
#include "udp_tracker_client.hpp"

#include <asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

namespace actorrent {

/// Scrapes `tracker` (its announce URL) for `info_hash`; udp:// exchanges
/// go through `udp` (which keeps their connection ids). The whole exchange
/// is bounded by `timeout`. `done` runs exactly once, on a thread running
/// `io`, never inside this call.
void scrape_tracker(asio::io_context& io, udp_tracker_client& udp, const std::string& tracker,
                    const sha1_hash& info_hash, std::chrono::milliseconds timeout,
                    std::string_view user_agent, std::function<void(result<scrape_counts>)> done);

} // namespace actorrent
