#include "ban_policy.hpp"

namespace actorrent {

ban_policy::ban_policy(std::uint32_t max_strikes, std::size_t max_hosts)
  : max_strikes_(max_strikes), max_hosts_(max_hosts == 0 ? 1 : max_hosts) {}

ban_policy::record& ban_policy::entry(const std::string& host) {
  if (auto it = hosts_.find(host); it != hosts_.end()) return it->second;
  if (hosts_.size() >= max_hosts_) {
    // Full: forget a host that never sent bad data, else any host not
    // banned. Banned hosts stay; the torrent refuses them anyway.
    auto victim = hosts_.end();
    for (auto it = hosts_.begin(); it != hosts_.end(); ++it) {
      if (it->second.banned) continue;
      if (it->second.strikes == 0) {
        victim = it;
        break;
      }
      if (victim == hosts_.end()) victim = it;
    }
    if (victim != hosts_.end()) hosts_.erase(victim);
  }
  return hosts_[host];
}

void ban_policy::on_piece_passed(std::span<const std::string> contributors) {
  for (const auto& h : contributors) ++entry(h).passes;
}

std::vector<std::string> ban_policy::on_piece_failed(std::span<const std::string> contributors) {
  std::vector<std::string> out;
  const bool alone = contributors.size() == 1;
  for (const auto& h : contributors) {
    auto& r = entry(h);
    ++r.strikes;
    if (r.banned) continue;
    if (alone || (r.strikes >= max_strikes_ && r.strikes > r.passes)) {
      r.banned = true;
      out.push_back(h);
    }
  }
  return out;
}

bool ban_policy::banned(const std::string& host) const {
  auto it = hosts_.find(host);
  return it != hosts_.end() && it->second.banned;
}

std::uint32_t ban_policy::strikes(const std::string& host) const {
  auto it = hosts_.find(host);
  return it == hosts_.end() ? 0 : it->second.strikes;
}

} // namespace actorrent
