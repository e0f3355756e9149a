// A web seed (BEP 19): an HTTP(S) server that has the torrent's files. It
// takes part in the download like a peer that has every piece: it asks the
// PieceManager for work and reports the blocks it fetched with Range
// requests.
#pragma once

#include "interfaces.hpp"

#include "http_client.hpp"
#include "rate_limiter.hpp"

#include <asio/io_context.hpp>
#include <caf/actor_system.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace actorrent {

struct metainfo;

struct web_seed_config {
  /// The url-list entry: a file (single-file torrent), or a directory.
  std::string url;
  std::shared_ptr<const metainfo> meta;
  peer_key key = 0;
  std::string user_agent = "actorrent/0.1";
  http_tls_options tls;
  /// Blocks asked for at once; runs of them in one piece become one range
  /// request per file they touch.
  std::uint32_t blocks_per_want = 64;
  /// Runs being fetched at once; also the requests in flight per connection.
  std::size_t max_runs = 4;
  /// Time allowed for each response, from the moment it is next in line.
  std::chrono::milliseconds timeout{20'000};
  /// Failures in a row (each followed by a pause twice as long as the last,
  /// from backoff) after which the web seed is dropped.
  std::uint32_t max_failures = 5;
  std::chrono::milliseconds backoff{500};
  /// Redirects followed per file; one more is a failure.
  int max_redirects = 5;
  /// A piece that failed its hash check after this web seed served it is
  /// left to other sources this long before it fetches it again itself.
  std::chrono::milliseconds prefer_others_for{1'000};
  /// How soon it asks again when it gave back all it was offered and has
  /// nothing in flight.
  std::chrono::milliseconds refetch_retry{100};
  /// Response bytes are read under each of these (the torrent's download
  /// buckets, shared with its peers); empty: unlimited.
  rate_limiters down_limits;
};

/// Spawns a web seed that joins `pm` (as host `cfg.url`, so strikes for bad
/// data are charged to this URL) and fetches over `io`. It leaves the
/// PieceManager when it exits: on stop, after max_failures failures in a
/// row, or when the PieceManager exits.
web_seed_actor spawn_web_seed(caf::actor_system& sys, asio::io_context& io, web_seed_config cfg,
                              piece_manager_actor pm);

} // namespace actorrent
