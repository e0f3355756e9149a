#include "dht_peer_store.hpp"

#include <algorithm>

namespace actorrent::dht {

void peer_store::expire(std::vector<announced>& list, time_point now) {
  std::erase_if(list, [&](const announced& a) { return a.expires <= now; });
}

void peer_store::expire_all(time_point now) {
  for (auto it = torrents_.begin(); it != torrents_.end();) {
    expire(it->second, now);
    it = it->second.empty() ? torrents_.erase(it) : std::next(it);
  }
}

bool peer_store::announce(const node_id& info_hash, const endpoint& peer, time_point now) {
  auto it = torrents_.find(info_hash);
  if (it == torrents_.end()) {
    if (torrents_.size() >= cfg_.max_torrents) expire_all(now);
    if (torrents_.size() >= cfg_.max_torrents) return false;
    it = torrents_.emplace(info_hash, std::vector<announced>{}).first;
  }
  auto& list = it->second;
  std::erase_if(list, [&](const announced& a) { return a.peer == peer; });
  if (list.size() >= cfg_.max_peers_per_torrent) expire(list, now);
  if (list.size() >= cfg_.max_peers_per_torrent) return false;
  list.push_back({peer, now + cfg_.lifetime});
  return true;
}

std::vector<endpoint> peer_store::peers(const node_id& info_hash, std::size_t max, time_point now) {
  std::vector<endpoint> out;
  auto it = torrents_.find(info_hash);
  if (it == torrents_.end()) return out;
  expire(it->second, now);
  for (auto a = it->second.rbegin(); a != it->second.rend() && out.size() < max; ++a)
    out.push_back(a->peer);
  if (it->second.empty()) torrents_.erase(it);
  return out;
}

} // namespace actorrent::dht
