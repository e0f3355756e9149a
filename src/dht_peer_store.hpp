// The peers other nodes announced to us (announce_peer), to hand out to
// get_peers. Bounded in info-hashes and in peers per info-hash, and each
// announce expires unless renewed: peers announce every 15 minutes, so an
// entry lives 30 minutes.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <vector>

#include "dht_node_id.hpp"
#include "dht_routing_table.hpp" // time_point

namespace actorrent::dht {

class peer_store {
public:
  struct config {
    std::size_t max_torrents = 2000;
    std::size_t max_peers_per_torrent = 200;
    std::chrono::seconds lifetime{30 * 60};
  };

  peer_store() : peer_store(config{}) {}
  explicit peer_store(config cfg) : cfg_(cfg) {}

  /// Records (or renews) `peer` for `info_hash`. Returns false when the
  /// store is full (a new info-hash when max_torrents are held; a new peer
  /// when the info-hash has max_peers_per_torrent) even after dropping
  /// what expired.
  bool announce(const node_id& info_hash, const endpoint& peer, time_point now);

  /// Up to `max` unexpired peers of `info_hash`, the most recent announces first.
  std::vector<endpoint> peers(const node_id& info_hash, std::size_t max, time_point now);

  std::size_t torrent_count() const noexcept { return torrents_.size(); }

private:
  struct announced {
    endpoint peer;
    time_point expires;
  };
  void expire(std::vector<announced>& list, time_point now);
  void expire_all(time_point now);

  config cfg_;
  std::map<node_id, std::vector<announced>> torrents_;
};

} // namespace actorrent::dht
