// The info-hashes an incoming encrypted handshake may ask for. An MSE peer
// names its torrent only as HASH('req2', info-hash), so the network thread
// looks it up here while the handshake runs; the peer router adds and
// removes torrents as they register and exit. A mutex guards the map: the
// lookup is a single find, and an actor round trip in the middle of a
// handshake would cost more than it protects.
#pragma once

#include "mse_handshake.hpp"

#include <map>
#include <mutex>
#include <optional>

namespace actorrent {

class encryption_keys {
public:
  void add(const sha1_hash& info_hash);
  void remove(const sha1_hash& info_hash);
  /// The info-hash whose HASH('req2', info-hash) is `req2`, if registered.
  std::optional<sha1_hash> find(const sha1_hash& req2) const;

private:
  mutable std::mutex mutex_;
  std::map<sha1_hash, sha1_hash> by_req2_;
};

} // namespace actorrent
