#include "dht_swarm.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <queue>
#include <random>
#include <string>
#include <unordered_map>

#include "dht_lookup.hpp"
#include "dht_responder.hpp"
#include "krpc.hpp"

namespace actorrent::sim {

using namespace std::chrono_literals;
using dht::endpoint;
using dht::node_id;
using dht::time_point;

std::size_t dht_swarm_report::found() const {
  return static_cast<std::size_t>(std::count_if(finds.begin(), finds.end(), [](const auto& f) { return f.found; }));
}
std::size_t dht_swarm_report::max_rounds() const {
  std::size_t m = 0;
  for (const auto& f : finds) m = std::max(m, f.rounds);
  return m;
}
namespace {
template <class F>
double mean_of(const std::vector<dht_lookup_result>& v, F f) {
  if (v.empty()) return 0;
  double s = 0;
  for (const auto& x : v) s += f(x);
  return s / static_cast<double>(v.size());
}
} // namespace
double dht_swarm_report::mean_rounds() const {
  return mean_of(finds, [](const auto& f) { return static_cast<double>(f.rounds); });
}
double dht_swarm_report::mean_queries() const {
  return mean_of(finds, [](const auto& f) { return static_cast<double>(f.queries); });
}
double dht_swarm_report::mean_seconds() const {
  return mean_of(finds, [](const auto& f) { return f.seconds; });
}

namespace {

enum class behaviour { honest, silent, garbage, self_only };

constexpr auto query_timeout = 5s;
constexpr std::uint16_t peer_port = 51413;

struct transaction {
  krpc::node_info to;
  std::uint32_t lookup = 0;  ///< 0: a ping or an announce
};

struct active_lookup {
  dht::lookup search;
  std::function<void(const dht::lookup&)> on_done;
  time_point wake_scheduled{};
};

struct sim_node {
  krpc::node_info info;
  dht::routing_table table;
  dht::responder answers;
  behaviour how = behaviour::honest;
  std::chrono::milliseconds latency;
  std::uint16_t next_tid = 0;
  std::unordered_map<std::uint16_t, transaction> pending;
  std::map<std::uint32_t, active_lookup> lookups;

  sim_node(krpc::node_info i, std::uint64_t seed, std::chrono::milliseconds lat)
    : info(i), table(i.id), answers(seed), latency(lat) {}
};

class world {
public:
  explicit world(const dht_swarm_config& cfg) : rng_(cfg.seed), now_(time_point{} + 1h) {
    for (std::size_t i = 0; i < cfg.nodes; ++i) {
      // 10.0.0.0/8: BEP 42 exempts it, so ids can be uniform. No socket is opened.
      endpoint at = endpoint::from_number(0x0a000001u + static_cast<std::uint32_t>(i), 6881);
      auto lat = std::chrono::milliseconds(5 + static_cast<int>(rng_() % 46));
      nodes_.push_back(std::make_unique<sim_node>(krpc::node_info{dht::random_id(rng_), at}, rng_(), lat));
    }
  }

  std::size_t size() const { return nodes_.size(); }
  sim_node& node(std::size_t i) { return *nodes_[i]; }
  std::mt19937_64& rng() { return rng_; }
  std::size_t datagrams() const { return datagrams_; }
  time_point now() const { return now_; }

  void at(time_point when, std::function<void()> run) { events_.push({when, seq_++, std::move(run)}); }

  // Bounded: a run that would not settle (a message loop) stops here and
  // says so rather than running on.
  bool run_until_idle() {
    for (std::size_t budget = 200'000'000; budget > 0; --budget) {
      if (events_.empty()) return true;
      // top() is const only so the order cannot change; the element is popped next.
      event e = std::move(const_cast<event&>(events_.top()));
      events_.pop();
      now_ = std::max(now_, e.at);
      e.run();
    }
    return false;
  }

  std::uint32_t start_lookup(std::size_t n, dht::lookup::kind what, const node_id& target,
                             std::vector<krpc::node_info> start, std::function<void(const dht::lookup&)> done) {
    std::uint32_t id = next_lookup_++;
    node(n).lookups.emplace(id, active_lookup{dht::lookup(what, target, start, now_), std::move(done)});
    pump(n, id);
    return id;
  }

  void send_query(std::size_t n, const krpc::node_info& to, krpc::query q, std::uint32_t lookup_id) {
    sim_node& me = node(n);
    std::uint16_t tid = me.next_tid++;
    q.transaction_id = std::string{static_cast<char>(tid >> 8), static_cast<char>(tid & 0xff)};
    q.sender = me.info.id;
    me.pending[tid] = transaction{to, lookup_id};
    send(n, to.address, krpc::encode(q));
    at(now_ + query_timeout, [this, n, tid, to] {
      sim_node& self = node(n);
      auto it = self.pending.find(tid);
      if (it == self.pending.end() || it->second.to != to) return;
      self.pending.erase(it);
      self.table.node_failed(to, now_);
    });
  }

  void join(std::size_t n, const krpc::node_info& bootstrap) {
    start_lookup(n, dht::lookup::kind::find_node, node(n).info.id, {bootstrap}, [](const dht::lookup&) {});
  }

private:
  struct event {
    time_point at;
    std::uint64_t seq;
    std::function<void()> run;
  };
  struct later {
    bool operator()(const event& a, const event& b) const {
      return a.at != b.at ? a.at > b.at : a.seq > b.seq;
    }
  };

  std::size_t index_of(const endpoint& e) const {
    std::uint32_t ip = e.ip_number();
    return ip >= 0x0a000001u && ip - 0x0a000001u < nodes_.size() ? ip - 0x0a000001u : nodes_.size();
  }

  void send(std::size_t from, const endpoint& to, std::string bytes) {
    ++datagrams_;
    std::size_t dest = index_of(to);
    if (dest >= nodes_.size()) return;
    auto delay = node(from).latency + node(dest).latency;
    endpoint src = node(from).info.address;
    at(now_ + delay, [this, dest, src, b = std::move(bytes)] { deliver(dest, src, b); });
  }

  void pump(std::size_t n, std::uint32_t id) {
    sim_node& me = node(n);
    auto it = me.lookups.find(id);
    if (it == me.lookups.end()) return;
    dht::lookup& l = it->second.search;
    auto method = l.what() == dht::lookup::kind::get_peers ? krpc::method::get_peers : krpc::method::find_node;
    for (const auto& to : l.next(now_)) {
      krpc::query q;
      q.name = method;
      q.target = l.target();
      send_query(n, to, q, id);
    }
    if (l.done()) {
      auto done = std::move(it->second.on_done);
      dht::lookup finished = std::move(l);
      me.lookups.erase(it);
      done(finished);
      return;
    }
    time_point w = l.wake();
    if (it->second.wake_scheduled != w) {
      it->second.wake_scheduled = w;
      at(w, [this, n, id] { pump(n, id); });
    }
  }

  void answer_as(std::size_t n, const endpoint& from, const krpc::query& q) {
    sim_node& me = node(n);
    switch (me.how) {
      case behaviour::silent:
        return;
      case behaviour::garbage: {
        // Half the time the asker's transaction id with a broken body, half
        // the time bytes that are not bencode at all.
        if (rng_() % 2 == 0) {
          send(n, from, "d1:t" + std::to_string(q.transaction_id.size()) + ":" + q.transaction_id + "1:y1:re");
        } else {
          std::string junk(20 + rng_() % 60, '\0');
          for (char& c : junk) c = static_cast<char>(rng_());
          send(n, from, junk);
        }
        return;
      }
      case behaviour::self_only: {
        krpc::response r;
        r.transaction_id = q.transaction_id;
        r.sender = me.info.id;
        r.nodes = {me.info};
        r.token = "self";
        send(n, from, krpc::encode(r));
        return;
      }
      case behaviour::honest:
        break;
    }
    auto out = me.answers.on_query(me.table, q, from, now_);
    if (out.reply) send(n, from, krpc::encode(*out.reply));
    if (out.ping_sender) {
      krpc::query ping;
      ping.name = krpc::method::ping;
      send_query(n, {q.sender, from}, ping, 0);
    }
  }

  void deliver(std::size_t n, const endpoint& from, const std::string& bytes) {
    sim_node& me = node(n);
    auto m = krpc::decode(bytes);
    if (!m) {
      // Garbage under a transaction id of ours: that query failed.
      auto tid = krpc::transaction_id_of(bytes);
      if (tid && tid->size() == 2) finish(n, from, *tid, nullptr);
      return;
    }
    if (auto* q = std::get_if<krpc::query>(&*m)) return answer_as(n, from, *q);
    if (me.how != behaviour::honest) return;
    if (auto* r = std::get_if<krpc::response>(&*m)) {
      if (r->transaction_id.size() == 2) finish(n, from, r->transaction_id, r);
      return;
    }
    const auto& e = std::get<krpc::error_message>(*m);
    if (e.transaction_id.size() == 2) finish(n, from, e.transaction_id, nullptr);
  }

  // The answer to one of our queries: `r`, or nullptr for an error or garbage.
  void finish(std::size_t n, const endpoint& from, const std::string& tid_bytes, const krpc::response* r) {
    sim_node& me = node(n);
    auto tid = static_cast<std::uint16_t>((static_cast<std::uint8_t>(tid_bytes[0]) << 8) |
                                          static_cast<std::uint8_t>(tid_bytes[1]));
    auto it = me.pending.find(tid);
    if (it == me.pending.end() || it->second.to.address != from) return;
    transaction t = it->second;
    me.pending.erase(it);
    if (r != nullptr) me.table.node_replied({r->sender, from}, now_);
    if (t.lookup == 0) return;
    auto l = me.lookups.find(t.lookup);
    if (l == me.lookups.end()) return;
    if (r != nullptr) l->second.search.on_response(from, *r, now_);
    else l->second.search.on_failure(from, now_);
    pump(n, t.lookup);
  }

  std::vector<std::unique_ptr<sim_node>> nodes_;
  std::mt19937_64 rng_;
  time_point now_;
  std::priority_queue<event, std::vector<event>, later> events_;
  std::uint64_t seq_ = 0;
  std::uint32_t next_lookup_ = 1;
  std::size_t datagrams_ = 0;
};

} // namespace

dht_swarm_report run_dht_swarm(const dht_swarm_config& cfg) {
  dht_swarm_report report;
  report.nodes = cfg.nodes;
  if (cfg.nodes < 2) return report;
  world w(cfg);

  // Formation: one node after the other joins through node 0, 20 ms apart.
  const krpc::node_info first = w.node(0).info;
  for (std::size_t i = 1; i < w.size(); ++i)
    w.at(w.now() + std::chrono::milliseconds(20 * i), [&w, i, first] { w.join(i, first); });
  if (!w.run_until_idle()) return report;
  // 15 minutes later every node refreshes its buckets (BEP 5): a find_node
  // for a random id in each, which fills the far buckets the join, aimed
  // at our own id, left thin.
  const time_point refresh_at = w.now() + 15min;
  for (std::size_t i = 0; i < w.size(); ++i)
    w.at(refresh_at + std::chrono::milliseconds(5 * i), [&w, i] {
      sim_node& n = w.node(i);
      for (const auto& target : n.table.refresh_targets(w.now(), w.rng()))
        w.start_lookup(i, dht::lookup::kind::find_node, target, n.table.closest(target, 8),
                       [](const dht::lookup&) {});
    });
  if (!w.run_until_idle()) return report;
  report.join_messages = w.datagrams();
  double tables = 0;
  for (std::size_t i = 0; i < w.size(); ++i) tables += static_cast<double>(w.node(i).table.size());
  report.mean_table_size = tables / static_cast<double>(w.size());

  // Some nodes turn hostile; they keep their places in the others' tables.
  std::vector<std::size_t> honest;
  for (std::size_t i = 0; i < w.size(); ++i) {
    double x = std::uniform_real_distribution<double>(0, 1)(w.rng());
    sim_node& n = w.node(i);
    if (x < cfg.silent) n.how = behaviour::silent;
    else if (x < cfg.silent + cfg.garbage) n.how = behaviour::garbage;
    else if (x < cfg.silent + cfg.garbage + cfg.self_only) n.how = behaviour::self_only;
    if (n.how == behaviour::honest) honest.push_back(i);
    else ++report.hostile;
  }
  if (honest.size() < 2) return report;

  for (std::size_t k = 0; k < cfg.lookups; ++k) {
    std::size_t announcer = honest[w.rng()() % honest.size()];
    std::size_t finder = honest[w.rng()() % honest.size()];
    while (finder == announcer) finder = honest[w.rng()() % honest.size()];
    node_id info_hash = dht::random_id(w.rng());

    w.start_lookup(announcer, dht::lookup::kind::get_peers, info_hash,
                   w.node(announcer).table.closest(info_hash, 8), [&w, announcer, info_hash](const dht::lookup& l) {
                     for (const auto& t : l.announce_targets()) {
                       krpc::query q;
                       q.name = krpc::method::announce_peer;
                       q.target = info_hash;
                       q.port = peer_port;
                       q.token = t.token;
                       w.send_query(announcer, t.node, q, 0);
                     }
                   });
    if (!w.run_until_idle()) return report;

    dht_lookup_result res;
    time_point started = w.now();
    endpoint wanted{w.node(announcer).info.address.ip, peer_port};
    w.start_lookup(finder, dht::lookup::kind::get_peers, info_hash, w.node(finder).table.closest(info_hash, 8),
                   [&res, &w, started, wanted](const dht::lookup& l) {
                     const auto& peers = l.peers();
                     res.found = std::find(peers.begin(), peers.end(), wanted) != peers.end();
                     res.rounds = l.counters().rounds;
                     res.queries = l.counters().queries;
                     res.failures = l.counters().failures;
                     res.seconds = std::chrono::duration<double>(w.now() - started).count();
                   });
    if (!w.run_until_idle()) return report;
    report.finds.push_back(res);
  }
  return report;
}

void write_dht_summary(std::ostream& out, const dht_swarm_config& cfg, const dht_swarm_report& r) {
  out << "dht: " << r.nodes << " nodes (" << r.hostile << " hostile), log2 n = "
      << std::log2(static_cast<double>(std::max<std::size_t>(r.nodes, 1))) << ", mean table " << r.mean_table_size
      << " nodes, " << r.join_messages << " datagrams to form\n"
      << "  " << r.found() << "/" << r.finds.size() << " lookups found the peer; rounds mean "
      << r.mean_rounds() << " max " << r.max_rounds() << "; queries mean " << r.mean_queries()
      << "; simulated seconds mean " << r.mean_seconds() << " (seed " << cfg.seed << ")\n";
}

void write_dht_json(std::ostream& out, const dht_swarm_config& cfg, const dht_swarm_report& r) {
  out << "{\"nodes\":" << r.nodes << ",\"seed\":" << cfg.seed << ",\"hostile\":" << r.hostile
      << ",\"mean_table_size\":" << r.mean_table_size << ",\"join_messages\":" << r.join_messages
      << ",\"lookups\":" << r.finds.size() << ",\"found\":" << r.found() << ",\"max_rounds\":" << r.max_rounds()
      << ",\"mean_rounds\":" << r.mean_rounds() << ",\"mean_queries\":" << r.mean_queries()
      << ",\"mean_seconds\":" << r.mean_seconds() << ",\"finds\":[";
  for (std::size_t i = 0; i < r.finds.size(); ++i) {
    const auto& f = r.finds[i];
    out << (i ? "," : "") << "{\"found\":" << (f.found ? "true" : "false") << ",\"rounds\":" << f.rounds
        << ",\"queries\":" << f.queries << ",\"failures\":" << f.failures << ",\"seconds\":" << f.seconds << "}";
  }
  out << "]}\n";
}

} // namespace actorrent::sim
