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

#include "dht_node.hpp"
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

constexpr std::uint16_t peer_port = 51413;

struct sim_node {
  krpc::node_info info;
  dht::node engine;
  behaviour how = behaviour::honest;
  std::chrono::milliseconds latency;
  time_point tick_scheduled{};

  sim_node(krpc::node_info i, std::uint64_t seed, std::chrono::milliseconds lat)
    : info(i), engine(i.id, seed), latency(lat) {}
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

  /// Runs `act` on node n's engine, then sends what it queued.
  template <class F>
  void with(std::size_t n, F act) {
    act(node(n).engine);
    flush(n);
  }

  // Joining: a ping to the first node, then a find_node for our own id once
  // it has answered (a round trip is at most 200 ms here).
  void join(std::size_t n, const endpoint& bootstrap) {
    with(n, [&](dht::node& e) { e.ping(bootstrap, now_); });
    at(now_ + 500ms, [this, n] {
      with(n, [&](dht::node& e) { e.start_lookup(dht::lookup::kind::find_node, e.id(), now_, nullptr); });
    });
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

  void flush(std::size_t n) {
    sim_node& me = node(n);
    for (auto& d : me.engine.take_outgoing()) send(n, d.to, std::move(d.bytes));
    time_point w = me.engine.wake();
    if (w == time_point::max()) return;
    if (me.tick_scheduled <= now_ || w < me.tick_scheduled) {
      me.tick_scheduled = w;
      at(w, [this, n] { with(n, [&](dht::node& e) { e.tick(now_); }); });
    }
  }

  void send(std::size_t from, const endpoint& to, std::string bytes) {
    ++datagrams_;
    std::size_t dest = index_of(to);
    if (dest >= nodes_.size()) return;
    auto delay = node(from).latency + node(dest).latency;
    endpoint src = node(from).info.address;
    at(now_ + delay, [this, dest, src, b = std::move(bytes)] { deliver(dest, src, b); });
  }

  void deliver(std::size_t n, const endpoint& from, const std::string& bytes) {
    sim_node& me = node(n);
    if (me.how == behaviour::honest) return with(n, [&](dht::node& e) { e.on_datagram(from, bytes, now_); });
    // A hostile node answers queries its way and ignores the rest.
    auto m = krpc::decode(bytes);
    if (!m || !std::holds_alternative<krpc::query>(*m)) return;
    const auto& q = std::get<krpc::query>(*m);
    switch (me.how) {
      case behaviour::silent:
      case behaviour::honest:
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
    }
  }

  std::vector<std::unique_ptr<sim_node>> nodes_;
  std::mt19937_64 rng_;
  time_point now_;
  std::priority_queue<event, std::vector<event>, later> events_;
  std::uint64_t seq_ = 0;
  std::size_t datagrams_ = 0;
};

} // namespace

dht_swarm_report run_dht_swarm(const dht_swarm_config& cfg) {
  dht_swarm_report report;
  report.nodes = cfg.nodes;
  if (cfg.nodes < 2) return report;
  world w(cfg);

  // Formation: one node after the other joins through node 0, 20 ms apart.
  const endpoint first = w.node(0).info.address;
  for (std::size_t i = 1; i < w.size(); ++i)
    w.at(w.now() + std::chrono::milliseconds(20 * i), [&w, i, first] { w.join(i, first); });
  if (!w.run_until_idle()) return report;
  // 15 minutes later every node refreshes its buckets (BEP 5): a find_node
  // for a random id in each, which fills the far buckets the join, aimed
  // at our own id, left thin.
  const time_point refresh_at = w.now() + 15min;
  for (std::size_t i = 0; i < w.size(); ++i)
    w.at(refresh_at + std::chrono::milliseconds(5 * i),
         [&w, i] { w.with(i, [&](dht::node& e) { e.maintain(w.now()); }); });
  if (!w.run_until_idle()) return report;
  report.join_messages = w.datagrams();
  double tables = 0;
  for (std::size_t i = 0; i < w.size(); ++i) tables += static_cast<double>(w.node(i).engine.table().size());
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

    w.with(announcer, [&](dht::node& e) {
      e.start_lookup(dht::lookup::kind::get_peers, info_hash, w.now(),
                     [&w, &e, info_hash](const dht::lookup& l) { e.announce(l, info_hash, peer_port, w.now()); });
    });
    if (!w.run_until_idle()) return report;

    dht_lookup_result res;
    time_point started = w.now();
    endpoint wanted{w.node(announcer).info.address.ip, peer_port};
    w.with(finder, [&](dht::node& e) {
      e.start_lookup(dht::lookup::kind::get_peers, info_hash, w.now(), [&res, &w, started, wanted](const dht::lookup& l) {
        const auto& peers = l.peers();
        res.found = std::find(peers.begin(), peers.end(), wanted) != peers.end();
        res.rounds = l.counters().rounds;
        res.queries = l.counters().queries;
        res.failures = l.counters().failures;
        res.seconds = std::chrono::duration<double>(w.now() - started).count();
      });
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
