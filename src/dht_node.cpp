#include "dht_node.hpp"

#include <algorithm>

namespace actorrent::dht {

node::node(node_id id, std::uint64_t seed, config cfg)
  : cfg_(cfg), table_(id), answers_(seed, cfg.answers), rng_(seed ^ 0x9e3779b97f4a7c15ULL),
    next_tid_(static_cast<std::uint16_t>(rng_())) {}

std::vector<node::datagram> node::take_outgoing() {
  std::vector<datagram> out;
  out.swap(out_);
  return out;
}

void node::send_query(const krpc::node_info& to, bool id_known, krpc::query q, std::uint32_t lookup_id,
                      time_point now) {
  if (pending_.size() >= cfg_.max_pending) return;
  std::uint16_t tid = next_tid_++;
  while (pending_.count(tid) != 0) tid = next_tid_++;
  q.transaction_id = std::string{static_cast<char>(tid >> 8), static_cast<char>(tid & 0xff)};
  q.sender = table_.self();
  pending_[tid] = transaction{to, id_known, lookup_id, now};
  out_.push_back({to.address, krpc::encode(q)});
  ++stats_.sent;
}

void node::ping(const endpoint& to, time_point now) {
  krpc::query q;
  q.name = krpc::method::ping;
  send_query({node_id{}, to}, false, q, 0, now);
}

void node::answer(const krpc::query& q, const endpoint& from, time_point now) {
  auto out = answers_.on_query(table_, q, from, now);
  if (out.reply) {
    out_.push_back({from, krpc::encode(*out.reply)});
    ++stats_.sent;
  }
  if (out.ping_sender) {
    krpc::query p;
    p.name = krpc::method::ping;
    send_query({q.sender, from}, true, p, 0, now);
  }
}

void node::on_datagram(const endpoint& from, std::string_view bytes, time_point now) {
  ++stats_.received;
  auto m = krpc::decode(bytes);
  if (!m) {
    ++stats_.malformed;
    // Garbage under one of our transaction ids: that query failed.
    if (auto tid = krpc::transaction_id_of(bytes)) settle(from, *tid, nullptr, now);
    finish_done();
    return;
  }
  if (auto* q = std::get_if<krpc::query>(&*m)) {
    answer(*q, from, now);
  } else if (auto* r = std::get_if<krpc::response>(&*m)) {
    settle(from, r->transaction_id, r, now);
  } else {
    settle(from, std::get<krpc::error_message>(*m).transaction_id, nullptr, now);
  }
  finish_done();
}

void node::settle(const endpoint& from, const std::string& tid_bytes, const krpc::response* r, time_point now) {
  if (tid_bytes.size() != 2) {
    ++stats_.unmatched;
    return;
  }
  auto tid = static_cast<std::uint16_t>((static_cast<std::uint8_t>(tid_bytes[0]) << 8) |
                                        static_cast<std::uint8_t>(tid_bytes[1]));
  auto it = pending_.find(tid);
  if (it == pending_.end() || it->second.to.address != from) {
    ++stats_.unmatched;
    return;
  }
  transaction t = it->second;
  pending_.erase(it);
  if (r != nullptr) table_.node_replied({r->sender, from}, now);
  if (t.lookup == 0) return;
  auto l = lookups_.find(t.lookup);
  if (l == lookups_.end()) return;
  if (r != nullptr) l->second.search.on_response(from, *r, now);
  else l->second.search.on_failure(from, now);
  pump(t.lookup, now);
}

bool node::start_lookup(lookup::kind what, const node_id& target, time_point now, lookup_done done) {
  if (lookups_.size() >= cfg_.max_lookups) return false;
  std::uint32_t id = next_lookup_++;
  lookup::config lc = cfg_.lookups;
  lc.self = table_.self();
  lookups_.emplace(id, running{lookup(what, target, table_.closest(target, lc.k), now, lc), std::move(done)});
  pump(id, now);
  finish_done();
  return true;
}

void node::pump(std::uint32_t id, time_point now) {
  auto it = lookups_.find(id);
  if (it == lookups_.end()) return;
  lookup& l = it->second.search;
  auto method = l.what() == lookup::kind::get_peers ? krpc::method::get_peers : krpc::method::find_node;
  for (const auto& to : l.next(now)) {
    krpc::query q;
    q.name = method;
    q.target = l.target();
    send_query(to, true, q, id, now);
  }
  if (l.done()) {
    // Callbacks run after the caller is done with the maps: one may start a lookup.
    finished_.push_back(std::move(it->second));
    lookups_.erase(it);
  }
}

void node::finish_done() {
  while (!finished_.empty()) {
    running r = std::move(finished_.front());
    finished_.erase(finished_.begin());
    if (r.done) r.done(r.search);
  }
}

void node::announce(const lookup& finished, const node_id& info_hash, std::uint16_t port, time_point now) {
  for (const auto& t : finished.announce_targets()) {
    krpc::query q;
    q.name = krpc::method::announce_peer;
    q.target = info_hash;
    q.port = port;
    q.implied_port = port == 0;
    q.token = t.token;
    send_query(t.node, true, q, 0, now);
  }
}

void node::tick(time_point now) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (now - it->second.sent < cfg_.query_timeout) {
      ++it;
      continue;
    }
    ++stats_.timeouts;
    if (it->second.id_known) table_.node_failed(it->second.to, now);
    it = pending_.erase(it);
  }
  std::vector<std::uint32_t> ids;
  for (const auto& [id, r] : lookups_) ids.push_back(id);
  for (auto id : ids) pump(id, now);
  finish_done();
}

time_point node::wake() const {
  time_point w = time_point::max();
  for (const auto& [tid, t] : pending_) w = std::min(w, t.sent + cfg_.query_timeout);
  for (const auto& [id, r] : lookups_) w = std::min(w, r.search.wake());
  return w;
}

void node::maintain(time_point now) {
  if (table_.size() == 0) return;
  for (const auto& n : table_.to_ping(now)) {
    krpc::query q;
    q.name = krpc::method::ping;
    send_query(n, true, q, 0, now);
  }
  for (const auto& target : table_.refresh_targets(now, rng_))
    if (!start_lookup(lookup::kind::find_node, target, now, nullptr)) break;
}

} // namespace actorrent::dht
