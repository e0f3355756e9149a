#include "dht_routing_table.hpp"

#include <algorithm>

namespace actorrent::dht {

routing_table::routing_table(node_id self, config cfg) : self_(self), cfg_(cfg) {
  if (cfg_.k == 0) cfg_.k = 1;
  buckets_.emplace_back();
}

std::size_t routing_table::index_of(const node_id& id) const noexcept {
  auto cpl = static_cast<std::size_t>(common_prefix_bits(self_, id));
  return std::min(cpl, buckets_.size() - 1);
}

node_state routing_table::state_of(const entry& e, time_point now) const noexcept {
  if (e.failures >= cfg_.bad_after_failures) return node_state::bad;
  if (e.last_reply == time_point{}) return node_state::questionable;
  if (now - e.last_reply < cfg_.good_for) return node_state::good;
  if (e.last_query != time_point{} && now - e.last_query < cfg_.good_for) return node_state::good;
  return node_state::questionable;
}

void routing_table::split_last() {
  std::size_t old_index = buckets_.size() - 1;
  buckets_.emplace_back();
  bucket& old_b = buckets_[old_index];
  bucket& new_b = buckets_.back();
  new_b.touched = old_b.touched;
  auto moves = [&](const node_id& id) {
    return static_cast<std::size_t>(common_prefix_bits(self_, id)) > old_index;
  };
  auto split_at = std::stable_partition(old_b.live.begin(), old_b.live.end(),
                                        [&](const entry& e) { return !moves(e.node.id); });
  new_b.live.assign(split_at, old_b.live.end());
  old_b.live.erase(split_at, old_b.live.end());
  auto wsplit = std::stable_partition(old_b.waiting.begin(), old_b.waiting.end(),
                                      [&](const krpc::node_info& n) { return !moves(n.id); });
  new_b.waiting.assign(wsplit, old_b.waiting.end());
  old_b.waiting.erase(wsplit, old_b.waiting.end());
}

void routing_table::add_waiting(bucket& b, const krpc::node_info& node) {
  std::erase_if(b.waiting, [&](const krpc::node_info& n) { return n.id == node.id; });
  if (b.waiting.size() >= cfg_.replacements) b.waiting.erase(b.waiting.begin());
  b.waiting.push_back(node);
}

bool routing_table::node_replied(const krpc::node_info& node, time_point now) {
  if (node.id == self_) return false;
  for (;;) {
    std::size_t i = index_of(node.id);
    bucket& b = buckets_[i];
    auto it = std::find_if(b.live.begin(), b.live.end(),
                           [&](const entry& e) { return e.node.id == node.id; });
    if (it != b.live.end()) {
      // Same id from another address: keep the address that earned its place.
      if (it->node.address != node.address) return true;
      it->last_reply = now;
      it->failures = 0;
      b.touched = now;
      return true;
    }
    // One slot per address: a host cannot fill a bucket by changing ids.
    if (std::any_of(b.live.begin(), b.live.end(),
                    [&](const entry& e) { return e.node.address == node.address; }))
      return false;
    entry fresh{node, now, time_point{}, 0};
    if (b.live.size() < cfg_.k) {
      b.live.push_back(fresh);
      b.touched = now;
      std::erase_if(b.waiting, [&](const krpc::node_info& n) { return n.id == node.id; });
      return true;
    }
    auto worst = std::find_if(b.live.begin(), b.live.end(),
                              [&](const entry& e) { return state_of(e, now) == node_state::bad; });
    if (worst != b.live.end()) {
      *worst = fresh;
      b.touched = now;
      return true;
    }
    if (i == buckets_.size() - 1 && buckets_.size() < 160) {
      split_last();
      continue;
    }
    add_waiting(b, node);
    return false;
  }
}

bool routing_table::has_room_for(const krpc::node_info& node, time_point now) const {
  if (node.id == self_) return false;
  std::size_t i = index_of(node.id);
  const bucket& b = buckets_[i];
  for (const entry& e : b.live)
    if (e.node.id == node.id || e.node.address == node.address) return false;
  if (b.live.size() < cfg_.k) return true;
  if (i == buckets_.size() - 1 && buckets_.size() < 160) return true;
  return std::any_of(b.live.begin(), b.live.end(),
                     [&](const entry& e) { return state_of(e, now) == node_state::bad; });
}

bool routing_table::node_queried(const krpc::node_info& node, time_point now) {
  bucket& b = buckets_[index_of(node.id)];
  for (entry& e : b.live)
    if (e.node == node) {
      e.last_query = now;
      return true;
    }
  return false;
}

void routing_table::node_failed(const krpc::node_info& node, time_point now) {
  bucket& b = buckets_[index_of(node.id)];
  for (entry& e : b.live) {
    if (e.node != node) continue;
    ++e.failures;
    if (state_of(e, now) == node_state::bad && !b.waiting.empty()) {
      // The replacement answered a query once; it starts questionable until
      // it answers again.
      e = entry{b.waiting.back(), time_point{}, time_point{}, 0};
      b.waiting.pop_back();
    }
    return;
  }
  std::erase_if(b.waiting, [&](const krpc::node_info& n) { return n == node; });
}

std::vector<krpc::node_info> routing_table::closest(const node_id& target, std::size_t count) const {
  std::vector<const entry*> all;
  all.reserve(size());
  for (const bucket& b : buckets_)
    for (const entry& e : b.live)
      if (e.failures < cfg_.bad_after_failures) all.push_back(&e);
  auto n = std::min(count, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(),
                    [&](const entry* a, const entry* b) { return closer(target, a->node.id, b->node.id); });
  std::vector<krpc::node_info> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.push_back(all[i]->node);
  return out;
}

std::vector<krpc::node_info> routing_table::to_ping(time_point now) {
  std::vector<krpc::node_info> out;
  for (bucket& b : buckets_) {
    if (b.waiting.empty()) continue;
    if (b.pinged != time_point{} && now - b.pinged < cfg_.good_for) continue;
    bool any = false;
    for (const entry& e : b.live)
      if (state_of(e, now) == node_state::questionable) {
        out.push_back(e.node);
        any = true;
      }
    if (any) b.pinged = now;
  }
  return out;
}

std::vector<node_id> routing_table::refresh_targets(time_point now, std::mt19937_64& rng) {
  std::vector<node_id> out;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    bucket& b = buckets_[i];
    if (b.touched != time_point{} && now - b.touched < cfg_.refresh_after) continue;
    b.touched = now;
    out.push_back(random_id_with_prefix(self_, static_cast<int>(i), rng));
  }
  return out;
}

std::size_t routing_table::size() const noexcept {
  std::size_t n = 0;
  for (const bucket& b : buckets_) n += b.live.size();
  return n;
}

std::vector<krpc::node_info> routing_table::nodes() const {
  std::vector<krpc::node_info> out;
  for (const bucket& b : buckets_)
    for (const entry& e : b.live) out.push_back(e.node);
  return out;
}

const routing_table::entry* routing_table::find(const node_id& id) const noexcept {
  const bucket& b = buckets_[index_of(id)];
  for (const entry& e : b.live)
    if (e.node.id == id) return &e;
  return nullptr;
}

} // namespace actorrent::dht
