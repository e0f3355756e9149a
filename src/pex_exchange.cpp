#include "pex_exchange.hpp"

#include <algorithm>
#include <set>

namespace actorrent {

void pex_exchange::start(time_point now) {
  if (started_) return;
  started_ = true;
  next_send_ = now + cfg_.first_delay;
}

bool pex_exchange::take_due(time_point now) noexcept {
  if (!started_ || now < next_send_) return false;
  next_send_ = now + cfg_.interval;
  return true;
}

std::optional<std::vector<std::uint8_t>> pex_exchange::make_message(
  const std::vector<pex_peer>& connected) {
  pex_message m;
  std::map<peer_endpoint, std::uint8_t> current;
  for (const auto& p : connected)
    if (pex_address_usable(p.endpoint)) current.emplace(p.endpoint, p.flags);
  for (const auto& [ep, flags] : current) {
    if (m.added.size() >= cfg_.max_added) break;
    auto it = told_.find(ep);
    if (it != told_.end() && it->second == flags) continue;
    m.added.push_back({ep, flags});
  }
  for (const auto& [ep, flags] : told_) {
    if (m.dropped.size() >= cfg_.max_dropped) break;
    if (current.find(ep) == current.end()) m.dropped.push_back(ep);
  }
  if (m.added.empty() && m.dropped.empty()) return std::nullopt;
  for (const auto& p : m.added) told_[p.endpoint] = p.flags;
  for (const auto& p : m.dropped) told_.erase(p);
  return encode_pex_message(m);
}

void pex_exchange::add_own_address(const peer_endpoint& p) {
  if (std::find(own_.begin(), own_.end(), p) == own_.end() && own_.size() < 8) own_.push_back(p);
}

result<std::vector<peer_endpoint>> pex_exchange::on_message(std::span<const std::uint8_t> payload,
                                                            time_point now) {
  std::vector<peer_endpoint> out;
  if (received_any_ && now - last_taken_ < cfg_.min_receive_interval) {
    // Sooner than the BEP allows: a flood is not worth parsing.
    ++too_soon_;
    return out;
  }
  auto m = parse_pex_message(payload);
  if (!m) return m.err();
  received_any_ = true;
  last_taken_ = now;
  std::set<peer_endpoint> seen;
  for (const auto& p : m->added) {
    if (out.size() >= cfg_.max_taken_per_message || taken_ >= cfg_.max_taken_total) break;
    if (!pex_address_usable(p.endpoint)) continue;
    if (std::find(own_.begin(), own_.end(), p.endpoint) != own_.end()) continue;
    if (!seen.insert(p.endpoint).second) continue;
    out.push_back(p.endpoint);
    ++taken_;
  }
  // Dropped peers are left to the peer list: a peer that left one swarm
  // member may still take our connection, and a dead one is given up on
  // after its failed attempts.
  return out;
}

} // namespace actorrent
