#include "choker.hpp"

#include <algorithm>
#include <utility>

namespace actorrent {

namespace {

// Rates are measured by the caller; a NaN would break the strict weak
// ordering that std::sort relies on, and a negative rate means nothing.
double clean_rate(double r) noexcept { return r > 0 ? r : 0.0; }

std::uint64_t make_seed(std::uint64_t seed) {
  if (seed != 0) return seed;
  std::random_device rd;
  return (std::uint64_t{rd()} << 32) | rd();
}

// `v` is sorted by key.
const choker_peer* find_sorted(const std::vector<const choker_peer*>& v, peer_key k) {
  auto it = std::lower_bound(v.begin(), v.end(), k,
                             [](const choker_peer* p, peer_key key) { return p->key < key; });
  return it != v.end() && (*it)->key == k ? *it : nullptr;
}

} // namespace

choker::choker(choker_config cfg) : cfg_(cfg), rng_(make_seed(cfg.seed)) {}

choker::time_point choker::waiting_since(const peer_state& s) const noexcept {
  return std::max(s.choked_at, s.connected);
}

std::optional<peer_key> choker::choose_optimistic(const std::vector<const choker_peer*>& candidates,
                                                  time_point now) {
  if (candidates.empty()) return std::nullopt;
  auto weight = [&](const choker_peer* p) -> std::uint64_t {
    return now - p->connected < cfg_.newcomer_window ? 3 : 1;
  };
  std::uint64_t total = 0;
  for (const auto* p : candidates) total += weight(p);
  // Plain modulo rather than a distribution: the same seed then gives the
  // same choice with every standard library; the bias is negligible.
  std::uint64_t r = rng_() % total;
  for (const auto* p : candidates) {
    std::uint64_t w = weight(p);
    if (r < w) return p->key;
    r -= w;
  }
  return candidates.back()->key;
}

choke_decision choker::rechoke(const std::vector<choker_peer>& peers, bool seeding, time_point now) {
  // Working on a key-sorted copy makes the result independent of input order.
  struct entry {
    const choker_peer* in;
    peer_state* st;
  };
  std::vector<const choker_peer*> sorted;
  sorted.reserve(peers.size());
  for (const auto& p : peers) sorted.push_back(&p);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const choker_peer* a, const choker_peer* b) { return a->key < b->key; });
  sorted.erase(std::unique(sorted.begin(), sorted.end(),
                           [](const choker_peer* a, const choker_peer* b) { return a->key == b->key; }),
               sorted.end());

  std::erase_if(peers_, [&](const auto& kv) {
    bool present = find_sorted(sorted, kv.first) != nullptr;
    if (!present && optimistic_ == kv.first) optimistic_.reset();
    return !present;
  });

  std::vector<entry> all;
  all.reserve(sorted.size());
  for (const auto* p : sorted) {
    peer_state& s = peers_[p->key];
    s.connected = p->connected;
    s.next = slot::none;
    all.push_back({p, &s});
  }

  // Regular slots.
  std::vector<entry> ranked;
  if (!seeding) {
    for (const auto& e : all)
      if (e.in->interested && !e.in->snubbed) ranked.push_back(e);
    std::sort(ranked.begin(), ranked.end(), [&](const entry& a, const entry& b) {
      double ra = clean_rate(a.in->download_rate), rb = clean_rate(b.in->download_rate);
      if (ra != rb) return ra > rb;
      bool ha = a.st->held == slot::regular, hb = b.st->held == slot::regular;
      if (ha != hb) return ha;
      time_point wa = waiting_since(*a.st), wb = waiting_since(*b.st);
      if (wa != wb) return wa < wb;
      return a.in->key < b.in->key;
    });
  } else {
    std::vector<entry> keepers, waiting, served;
    for (const auto& e : all) {
      if (!e.in->interested) continue;
      if (e.st->held == slot::regular && now - e.st->slot_since < cfg_.seeding_turn)
        keepers.push_back(e);
      else if (e.st->held == slot::none)
        waiting.push_back(e);
      else
        served.push_back(e);
    }
    auto faster = [](const entry& a, const entry& b) {
      double ra = clean_rate(a.in->upload_rate), rb = clean_rate(b.in->upload_rate);
      if (ra != rb) return ra > rb;
      return a.in->key < b.in->key;
    };
    std::sort(waiting.begin(), waiting.end(), [&](const entry& a, const entry& b) {
      time_point wa = waiting_since(*a.st), wb = waiting_since(*b.st);
      if (wa != wb) return wa < wb;
      return faster(a, b);
    });
    std::sort(served.begin(), served.end(), faster);
    ranked = std::move(keepers);
    ranked.insert(ranked.end(), waiting.begin(), waiting.end());
    ranked.insert(ranked.end(), served.begin(), served.end());
  }
  if (ranked.size() > cfg_.upload_slots) ranked.resize(cfg_.upload_slots);
  for (auto& e : ranked) e.st->next = slot::regular;

  // Optimistic slot.
  bool keep = false;
  if (optimistic_) {
    peer_state& s = peers_[*optimistic_];
    const choker_peer* p = find_sorted(sorted, *optimistic_);
    keep = p != nullptr && p->interested && s.next == slot::none &&
           now - optimistic_since_ < cfg_.optimistic_interval;
    if (keep) s.next = slot::optimistic;
  }
  if (!keep) {
    std::vector<const choker_peer*> candidates, unsnubbed;
    for (const auto& e : all) {
      if (!e.in->interested || e.st->next != slot::none) continue;
      candidates.push_back(e.in);
      if (!e.in->snubbed) unsnubbed.push_back(e.in);
    }
    if (!seeding && !unsnubbed.empty()) candidates = std::move(unsnubbed);
    if (candidates.size() > 1 && optimistic_) {
      std::erase_if(candidates, [&](const choker_peer* p) { return p->key == *optimistic_; });
    }
    optimistic_ = choose_optimistic(candidates, now);
    if (optimistic_) {
      optimistic_since_ = now;
      peers_[*optimistic_].next = slot::optimistic;
    }
  }

  // Apply, reporting only changes; `all` is in key order.
  choke_decision d;
  regular_count_ = 0;
  for (auto& e : all) {
    peer_state& s = *e.st;
    bool was = s.held != slot::none;
    bool will = s.next != slot::none;
    if (!was && will) d.unchoke.push_back(e.in->key);
    if (was && !will) {
      d.choke.push_back(e.in->key);
      s.choked_at = now;
    }
    if (s.next == slot::regular &&
        (s.held != slot::regular || now - s.slot_since >= cfg_.seeding_turn))
      s.slot_since = now;
    s.held = s.next;
    s.next = slot::none;
    if (s.held == slot::regular) ++regular_count_;
  }
  return d;
}

bool choker::on_interested(peer_key key, time_point now) {
  auto [it, inserted] = peers_.try_emplace(key);
  peer_state& s = it->second;
  if (inserted) s.connected = now;
  if (s.held != slot::none) return false;
  if (regular_count_ < cfg_.upload_slots) {
    s.held = slot::regular;
    s.slot_since = now;
    ++regular_count_;
    return true;
  }
  if (!optimistic_) {
    s.held = slot::optimistic;
    optimistic_ = key;
    optimistic_since_ = now;
    return true;
  }
  return false;
}

void choker::on_peer_gone(peer_key key) {
  auto it = peers_.find(key);
  if (it == peers_.end()) return;
  if (it->second.held == slot::regular) --regular_count_;
  if (optimistic_ == key) optimistic_.reset();
  peers_.erase(it);
}

bool choker::is_unchoked(peer_key key) const {
  auto it = peers_.find(key);
  return it != peers_.end() && it->second.held != slot::none;
}

std::size_t choker::unchoked_count() const noexcept {
  return regular_count_ + (optimistic_ ? 1 : 0);
}

} // namespace actorrent
