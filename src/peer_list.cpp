#include "peer_list.hpp"

#include <algorithm>

namespace actorrent {

peer_list::peer_list(peer_list_config cfg) : cfg_(cfg) {}

bool peer_list::add(const peer_endpoint& p, time_point now) {
  if (banned(p.host) || known_.count(p) != 0) return false;
  if (known_.size() >= cfg_.max_known) {
    if (given_up_.empty()) return false;
    forget(known_.find(*given_up_.begin()));
  }
  entry e;
  e.due = now;
  known_.emplace(p, e);
  due_.emplace(now, p);
  return true;
}

std::vector<peer_endpoint> peer_list::next_to_connect(std::size_t n, time_point now) {
  std::vector<peer_endpoint> out;
  while (out.size() < n && !due_.empty() && due_.begin()->first <= now) {
    auto p = due_.begin()->second;
    due_.erase(due_.begin());
    auto& e = known_.at(p);
    e.connecting = true;
    ++connecting_;
    out.push_back(std::move(p));
  }
  return out;
}

void peer_list::on_handshake(const peer_endpoint& p) {
  if (auto it = known_.find(p); it != known_.end()) it->second.failures = 0;
}

void peer_list::on_closed(const peer_endpoint& p, bool handshaken, time_point now) {
  auto it = known_.find(p);
  if (it == known_.end()) return;  // banned (and forgotten) meanwhile
  auto& e = it->second;
  if (e.connecting) {
    e.connecting = false;
    --connecting_;
  }
  if (handshaken) {
    ++e.drops;
    e.due = now + cfg_.retry_delay;
  } else {
    ++e.failures;
    e.due = now + cfg_.retry_delay * (1u << std::min<std::uint32_t>(e.failures, 5));
  }
  if (e.failures >= cfg_.max_connect_failures || e.drops >= 2 * cfg_.max_connect_failures) {
    e.given_up = true;
    given_up_.insert(p);
    return;
  }
  due_.emplace(e.due, p);
}

void peer_list::on_not_dialled(const peer_endpoint& p, time_point now) {
  auto it = known_.find(p);
  if (it == known_.end() || !it->second.connecting) return;
  auto& e = it->second;
  e.connecting = false;
  --connecting_;
  e.due = now + cfg_.retry_delay;
  due_.emplace(e.due, p);
}

void peer_list::ban(const std::string& host) {
  if (!banned_.insert(host).second) return;
  // Every port of the host: they are adjacent in the ordered map.
  auto it = known_.lower_bound(peer_endpoint{host, 0});
  while (it != known_.end() && it->first.host == host) {
    auto next = std::next(it);
    forget(it);
    it = next;
  }
}

std::vector<std::string> peer_list::banned_hosts() const {
  std::vector<std::string> out(banned_.begin(), banned_.end());
  std::sort(out.begin(), out.end());
  return out;
}

void peer_list::forget(std::map<peer_endpoint, entry>::iterator it) {
  const auto& e = it->second;
  if (e.connecting) --connecting_;
  if (e.given_up)
    given_up_.erase(it->first);
  else if (!e.connecting)
    due_.erase(due_key{e.due, it->first});
  known_.erase(it);
}

std::vector<peer_endpoint> peer_list::addresses() const {
  std::vector<peer_endpoint> out;
  out.reserve(known_.size());
  for (const auto& [ep, e] : known_)
    if (!banned(ep.host)) out.push_back(ep);
  return out;
}

} // namespace actorrent
