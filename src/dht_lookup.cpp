#include "dht_lookup.hpp"

#include <algorithm>

namespace actorrent::dht {

lookup::lookup(kind what, node_id target, const std::vector<krpc::node_info>& start, time_point now,
               config cfg)
  : kind_(what), target_(target), cfg_(cfg), started_(now) {
  if (cfg_.alpha == 0) cfg_.alpha = 1;
  if (cfg_.k == 0) cfg_.k = 1;
  for (const auto& n : start) add(n, 1);
  check_done(now);
}

void lookup::add(const krpc::node_info& n, std::size_t depth) {
  if (cfg_.self && n.id == *cfg_.self) return;
  for (const candidate& c : candidates_)
    if (c.node.id == n.id || c.node.address == n.address) return;
  auto at = std::lower_bound(candidates_.begin(), candidates_.end(), n.id,
                             [&](const candidate& c, const node_id& id) { return closer(target_, c.node.id, id); });
  if (static_cast<std::size_t>(at - candidates_.begin()) >= cfg_.max_candidates) return;
  candidates_.insert(at, candidate{n, depth, status::fresh, time_point{}, std::nullopt});
  if (candidates_.size() > cfg_.max_candidates) {
    // Drop the farthest that is not waiting for an answer.
    for (auto it = candidates_.end(); it != candidates_.begin();) {
      --it;
      if (it->st != status::in_flight && it->st != status::slow) {
        candidates_.erase(it);
        break;
      }
    }
  }
}

lookup::candidate* lookup::find(const endpoint& from) {
  for (candidate& c : candidates_)
    if (c.node.address == from && (c.st == status::in_flight || c.st == status::slow)) return &c;
  return nullptr;
}

void lookup::expire(time_point now) {
  for (candidate& c : candidates_) {
    if (c.st == status::in_flight && now - c.sent >= cfg_.slow_after) c.st = status::slow;
    if (c.st == status::slow && now - c.sent >= cfg_.timeout) {
      c.st = status::failed;
      ++stats_.failures;
    }
  }
}

void lookup::check_done(time_point now) {
  if (done_) return;
  if (stats_.queries >= cfg_.max_queries || now - started_ >= cfg_.max_time) {
    done_ = true;
    return;
  }
  // Done when the k closest nodes still in the running have all answered.
  std::size_t seen = 0;
  for (const candidate& c : candidates_) {
    if (c.st == status::failed) continue;
    if (c.st != status::replied) return;
    if (++seen == cfg_.k) break;
  }
  done_ = true;
}

std::vector<krpc::node_info> lookup::next(time_point now) {
  std::vector<krpc::node_info> out;
  if (done_) return out;
  expire(now);
  check_done(now);
  if (done_) return out;
  std::size_t busy = 0;
  for (const candidate& c : candidates_)
    if (c.st == status::in_flight) ++busy;
  std::size_t seen = 0;
  for (candidate& c : candidates_) {
    if (busy >= cfg_.alpha || stats_.queries >= cfg_.max_queries) break;
    if (c.st == status::failed) continue;
    if (seen++ >= cfg_.k) break;
    if (c.st != status::fresh) continue;
    c.st = status::in_flight;
    c.sent = now;
    ++busy;
    ++stats_.queries;
    stats_.rounds = std::max(stats_.rounds, c.depth);
    out.push_back(c.node);
  }
  return out;
}

bool lookup::on_response(const endpoint& from, const krpc::response& r, time_point now) {
  candidate* c = find(from);
  if (c == nullptr) return false;
  c->st = status::replied;
  ++stats_.replies;
  if (r.token) c->token = r.token;
  std::size_t depth = c->depth + 1;
  // `c` may move as nodes are added.
  for (const auto& n : r.nodes) add(n, depth);
  if (kind_ == kind::get_peers)
    for (const endpoint& p : r.values) {
      if (peers_.size() >= cfg_.max_peers) break;
      if (std::find(peers_.begin(), peers_.end(), p) == peers_.end()) peers_.push_back(p);
    }
  check_done(now);
  return true;
}

bool lookup::on_failure(const endpoint& from, time_point now) {
  candidate* c = find(from);
  if (c == nullptr) return false;
  c->st = status::failed;
  ++stats_.failures;
  check_done(now);
  return true;
}

time_point lookup::wake() const noexcept {
  time_point w = started_ + cfg_.max_time;
  for (const candidate& c : candidates_) {
    if (c.st == status::in_flight) w = std::min(w, c.sent + cfg_.slow_after);
    if (c.st == status::slow) w = std::min(w, c.sent + cfg_.timeout);
  }
  return w;
}

std::vector<krpc::node_info> lookup::closest() const {
  std::vector<krpc::node_info> out;
  for (const candidate& c : candidates_)
    if (c.st == status::replied && out.size() < cfg_.k) out.push_back(c.node);
  return out;
}

std::vector<lookup::token_holder> lookup::announce_targets() const {
  std::vector<token_holder> out;
  for (const candidate& c : candidates_) {
    if (out.size() >= cfg_.k) break;
    if (c.st == status::replied && c.token) out.push_back({c.node, *c.token});
  }
  return out;
}

std::vector<krpc::node_info> lookup::failed() const {
  std::vector<krpc::node_info> out;
  for (const candidate& c : candidates_)
    if (c.st == status::failed) out.push_back(c.node);
  return out;
}

std::vector<krpc::node_info> lookup::answered() const {
  std::vector<krpc::node_info> out;
  for (const candidate& c : candidates_)
    if (c.st == status::replied) out.push_back(c.node);
  return out;
}

} // namespace actorrent::dht
