#include "ban_policy.hpp"

#include <algorithm>

namespace actorrent {

ban_policy::ban_policy(std::size_t max_pieces, unsigned web_seed_failures)
  : max_pieces_(max_pieces == 0 ? 1 : max_pieces),
    web_seed_failures_(web_seed_failures == 0 ? 1 : web_seed_failures) {}

bool ban_policy::is_web_seed(const std::string& host) noexcept {
  // Peers are named by address or host name, which never hold "://".
  return host.find("://") != std::string::npos;
}

std::vector<std::string> ban_policy::charge(std::vector<std::string> hosts) {
  std::vector<std::string> out;
  for (auto& h : hosts) {
    if (banned_.count(h) != 0) continue;
    if (is_web_seed(h)) {
      if (++web_seed_charged_[h] < web_seed_failures_) continue;
      web_seed_charged_.erase(h);
    }
    banned_.insert(h);
    out.push_back(std::move(h));
  }
  return out;
}

std::vector<std::string> ban_policy::on_piece_failed(std::uint32_t piece,
                                                     std::span<const block_origin> blocks) {
  if (blocks.empty()) return {};
  const auto& first = blocks.front().host;
  bool alone = std::all_of(blocks.begin(), blocks.end(),
                           [&](const block_origin& b) { return b.host == first; });
  if (alone) return charge({first});

  auto [it, fresh] = failed_.try_emplace(piece);
  if (fresh) {
    order_.push_back(piece);
    if (order_.size() > max_pieces_) {
      failed_.erase(order_.front());
      order_.pop_front();
    }
  }
  auto& failures = it->second;
  if (failures.size() >= failures_kept_per_piece) failures.erase(failures.begin());
  failures.emplace_back(blocks.begin(), blocks.end());
  return {};
}

std::vector<std::string> ban_policy::on_piece_passed(std::uint32_t piece,
                                                     std::span<const block_digest> good) {
  auto it = failed_.find(piece);
  if (it == failed_.end()) return {};
  std::vector<std::string> liars;
  for (const auto& failure : it->second)
    for (const auto& b : failure) {
      auto g = std::find_if(good.begin(), good.end(),
                            [&](const block_digest& x) { return x.begin == b.begin; });
      // A block cut differently from the good one cannot be judged; only
      // a block that is provably different counts against its sender.
      if (g != good.end() && g->digest != b.digest
          && std::find(liars.begin(), liars.end(), b.host) == liars.end())
        liars.push_back(b.host);
    }
  failed_.erase(it);
  order_.erase(std::find(order_.begin(), order_.end(), piece));
  return charge(std::move(liars));
}

} // namespace actorrent
