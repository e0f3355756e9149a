// Decoding a tracker's bencoded announce reply (BEP 3, compact peers BEP 23,
// IPv6 "peers6" BEP 7).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actorrent/error.hpp"
#include "tracker_url.hpp"

namespace actorrent {

/// Bounds applied to the re-announce interval a tracker asks for: zero or
/// negative would mean a busy loop, over a day would starve the swarm. Kept
/// down to one second so local test trackers can ask for quick re-announces;
/// a caller wanting a politer floor applies it itself.
inline constexpr std::int64_t min_announce_interval = 1;
inline constexpr std::int64_t max_announce_interval = 86400;

/// Peers taken from one reply. We ask for a few dozen (numwant); a tracker
/// that sends far more is broken or hostile, and the torrent's peer list
/// could not use them anyway. The rest are counted, not kept.
inline constexpr std::size_t max_reply_peers = 1000;

struct announce_reply {
  std::string failure_reason;   ///< non-empty: the tracker refused; other fields may be absent
  std::string warning_message;
  std::int64_t interval = 1800; ///< seconds, clamped to [min_announce_interval, max_announce_interval]
  std::optional<std::int64_t> min_interval;  ///< clamped likewise
  std::optional<std::int64_t> complete, incomplete;  ///< negative counts are dropped
  std::string tracker_id;
  std::vector<peer_endpoint> peers;  ///< compact, dictionary and "peers6" entries merged
  /// Entries past max_reply_peers, left out (repeats among them included).
  std::size_t peers_ignored = 0;
};

/// The first bytes of a reply body, quoted and escaped, for messages about
/// replies that are not what a tracker sends (an HTML error page, ...).
std::string body_excerpt(std::string_view body);

/// Decodes a reply body; errc::tracker_reply on malformed input. A failure
/// reason is a successful parse with `failure_reason` set.
result<announce_reply> parse_announce_reply(std::string_view bencoded_body);

} // namespace actorrent
