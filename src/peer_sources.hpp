// Where a torrent may learn of peers. A private torrent (BEP 27, `private=1`
// in the info dictionary) takes peers only from its trackers and from the
// addresses the user gives; every other source of peers, now and to come,
// asks here first.
#pragma once

namespace actorrent {

struct peer_sources {
  /// Peer exchange (BEP 11): sent, offered and followed.
  bool pex = true;
  /// The distributed hash table (BEP 5), when there is one: no lookups,
  /// no announces, and no PORT message for the torrent when false.
  bool dht = true;
  /// Local service discovery (BEP 14), likewise.
  bool local_discovery = true;
};

/// The sources a torrent may use: all of them, or, for a private torrent,
/// none besides its trackers and the user's addresses.
constexpr peer_sources allowed_peer_sources(bool is_private) noexcept {
  if (is_private) return {false, false, false};
  return {};
}

} // namespace actorrent
