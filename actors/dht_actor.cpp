#include "dht_actor.hpp"

#include "atomic_file.hpp"
#include "dht_node.hpp"
#include "dht_state.hpp"
#include "log.hpp"

#include <asio/ip/udp.hpp>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <fstream>
#include <map>
#include <random>

namespace actorrent {

namespace {

using namespace std::chrono_literals;
using time_point = dht::time_point;

/// How often the node's timers are looked at: queries time out after 5 s
/// and a lookup's slot frees after 1 s, so a tenth of that is precise enough.
constexpr auto tick_period = 100ms;
/// Bucket refreshes and pings of questionable nodes.
constexpr auto maintain_period = 60s;
/// The join (a find_node for our own id) waits this long for a bootstrap
/// node to answer before it starts anyway.
constexpr auto join_wait = 1s;

struct search {
  tracker_owner_actor owner;
  std::uint16_t port = 0;
  time_point due{};           ///< the next get_peers lookup
  time_point announce_due{};  ///< the next announce (with the lookup due then)
  std::chrono::steady_clock::duration retry{};
  bool running = false;
  std::uint64_t generation = 0;  ///< a lookup of an earlier owner reports nowhere
};

struct dht_state {
  static inline const char* name = "actorrent.dht";
  dht_config cfg;
  std::shared_ptr<dht::udp_socket> socket;
  std::unique_ptr<dht::node> node;
  std::mt19937_64 rng;
  std::map<sha1_hash, search> searches;
  std::uint64_t generation = 0;
  time_point started{}, next_maintain{};
  bool joined = false, join_started = false;
};

using dht_self = dht_actor::stateful_pointer<dht_state>;

void flush(dht_self self) {
  auto& st = self->state;
  if (!st.socket) return;
  for (auto& d : st.node->take_outgoing()) st.socket->send(d.to, std::move(d.bytes));
}

std::optional<dht::endpoint> v4_endpoint(const peer_endpoint& p) {
  asio::error_code ec;
  auto a = asio::ip::make_address_v4(p.host, ec);
  if (ec || p.port == 0) return std::nullopt;
  return dht::endpoint{a.to_bytes(), p.port};
}

/// Pings a node given by name or address; names are resolved on the
/// network thread and the addresses come back as join messages.
void contact(dht_self self, net_service& net, const peer_endpoint& p) {
  if (auto ep = v4_endpoint(p)) {
    self->state.node->ping(*ep, self->clock().now());
    return;
  }
  auto resolver = std::make_shared<asio::ip::udp::resolver>(net.io());
  resolver->async_resolve(asio::ip::udp::v4(), p.host, std::to_string(p.port),
                          [resolver, me = dht_actor{self}, name = p.host](
                            const asio::error_code& ec, asio::ip::udp::resolver::results_type res) {
                            if (ec) {
                              ACTORRENT_LOG(info, "DHT: cannot resolve " << name << ": " << ec.message());
                              return;
                            }
                            for (const auto& r : res)
                              caf::anon_send(me, join_atom_v,
                                             peer_endpoint{r.endpoint().address().to_string(), r.endpoint().port()});
                          });
}

void save(dht_self self) {
  auto& st = self->state;
  if (st.cfg.state_file.empty()) return;
  dht::saved_state s;
  s.id = st.node->id();
  auto now = self->clock().now();
  for (const auto& n : st.node->table().nodes()) {
    auto* e = st.node->table().find(n.id);
    if (e && st.node->table().state_of(*e, now) == dht::node_state::good) s.nodes.push_back(n);
  }
  if (auto err = write_file_atomically(st.cfg.state_file, dht::encode_state(s)))
    ACTORRENT_LOG(warning, "DHT: " << err.to_string());
  else
    ACTORRENT_LOG(info, "DHT: saved " << s.nodes.size() << " nodes to " << st.cfg.state_file.string());
}

std::optional<dht::saved_state> load(const std::filesystem::path& file) {
  if (file.empty()) return std::nullopt;
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::string bytes(dht::max_state_bytes + 1, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  auto s = dht::decode_state(bytes);
  if (!s) {
    ACTORRENT_LOG(warning, "DHT: " << file.string() << ": " << s.err().to_string() << "; starting afresh");
    return std::nullopt;
  }
  return *s;
}

void run_search(dht_self self, const sha1_hash& info_hash) {
  auto& st = self->state;
  auto it = st.searches.find(info_hash);
  if (it == st.searches.end() || it->second.running) return;
  auto now = self->clock().now();
  auto gen = it->second.generation;
  bool started = st.node->start_lookup(
    dht::lookup::kind::get_peers, info_hash, now, [self, info_hash, gen](const dht::lookup& l) {
      auto& st = self->state;
      auto now = self->clock().now();
      auto it = st.searches.find(info_hash);
      if (it == st.searches.end() || it->second.generation != gen) return;
      auto& s = it->second;
      s.running = false;
      std::vector<peer_endpoint> peers;
      for (const auto& p : l.peers()) peers.push_back(peer_endpoint{asio::ip::address_v4(p.ip).to_string(), p.port});
      ACTORRENT_LOG(info, "DHT: " << info_hash.hex() << ": " << peers.size() << " peers, "
                                  << l.announce_targets().size() << " nodes to announce to");
      bool found = !peers.empty();
      if (found) self->send(s.owner, peers_atom_v, std::move(peers));
      if (s.port != 0 && now >= s.announce_due && !l.announce_targets().empty()) {
        st.node->announce(l, info_hash, s.port, now);
        s.announce_due = now + st.cfg.announce_interval;
      }
      // A search that found nobody (a magnet link waiting for its first
      // peer, a swarm not yet announced) looks again soon, then less and
      // less often, up to the announce interval.
      s.retry = found ? std::chrono::steady_clock::duration(st.cfg.retry_interval)
                      : std::min<std::chrono::steady_clock::duration>(s.retry * 2, st.cfg.announce_interval);
      auto next = found ? std::chrono::steady_clock::duration(st.cfg.announce_interval) : s.retry;
      if (s.port != 0) next = std::min(next, s.announce_due - now);
      s.due = now + std::max<std::chrono::steady_clock::duration>(next, st.cfg.retry_interval);
    });
  // Too many lookups running: the next tick tries again.
  if (started) it->second.running = true;
}

void on_tick(dht_self self) {
  auto& st = self->state;
  auto now = self->clock().now();
  if (!st.join_started && (st.node->table().size() > 0 || now - st.started >= join_wait)) {
    st.join_started = true;
    st.node->start_lookup(dht::lookup::kind::find_node, st.node->id(), now, [self](const dht::lookup&) {
      self->state.joined = true;
      ACTORRENT_LOG(info, "DHT: joined, " << self->state.node->table().size() << " nodes in the table");
    });
  }
  st.node->tick(now);
  if (now >= st.next_maintain) {
    st.next_maintain = now + maintain_period;
    st.node->maintain(now);
  }
  if (st.joined)
    for (auto& [hash, s] : st.searches)
      if (!s.running && now >= s.due) run_search(self, hash);
  flush(self);
}

dht_actor::behavior_type dht_behavior(dht_self self, net_service* net, dht_config cfg,
                                      std::shared_ptr<dht::udp_socket> socket) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.socket = std::move(socket);
  std::random_device rd;
  st.rng.seed((std::uint64_t{rd()} << 32) | rd());
  auto saved = load(st.cfg.state_file);
  st.node = std::make_unique<dht::node>(saved ? saved->id : dht::random_id(st.rng), st.rng());
  auto now = self->clock().now();
  st.started = now;
  st.next_maintain = now + maintain_period;
  std::size_t from_state = 0;
  if (saved)
    for (const auto& n : saved->nodes) {
      st.node->ping(n.address, now);
      ++from_state;
    }
  for (const auto& b : st.cfg.bootstrap) contact(self, *net, b);
  if (st.cfg.bootstrap.empty() && from_state == 0)
    for (const auto& b : st.cfg.fallback) contact(self, *net, b);
  ACTORRENT_LOG(info, "DHT: node " << st.node->id().hex() << " on UDP port " << st.socket->port() << ", "
                                   << from_state << " saved nodes, " << st.cfg.bootstrap.size()
                                   << " bootstrap nodes");
  flush(self);
  self->delayed_send(self, tick_period, tick_atom_v);
  // An owner that exits is searched for no more.
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& searches = self->state.searches;
    for (auto it = searches.begin(); it != searches.end();)
      it = it->second.owner.address() == dm.source ? searches.erase(it) : std::next(it);
  });
  return {
    [self](peers_atom, const sha1_hash& info_hash, std::uint16_t port, tracker_owner_actor owner) {
      auto& st = self->state;
      auto& s = st.searches[info_hash];
      self->monitor(owner);
      s.owner = std::move(owner);
      s.port = port;
      s.due = s.announce_due = self->clock().now();
      s.retry = st.cfg.retry_interval / 2;
      s.running = false;
      s.generation = ++st.generation;
      if (st.joined) run_search(self, info_hash);
      flush(self);
    },
    [self](leave_atom, const sha1_hash& info_hash) { self->state.searches.erase(info_hash); },
    [self](udp_atom, std::uint32_t ip, std::uint16_t port, const std::string& bytes) {
      self->state.node->on_datagram(dht::endpoint::from_number(ip, port), bytes, self->clock().now());
      flush(self);
    },
    [self](join_atom, const peer_endpoint& p) {
      // An address, never a name: a peer's PORT must not make us resolve.
      if (auto ep = v4_endpoint(p)) {
        ACTORRENT_LOG(info, "DHT: pinging " << ep->to_string() << " (a peer's PORT)");
        self->state.node->ping(*ep, self->clock().now());
        flush(self);
      }
    },
    [self](tick_atom) {
      on_tick(self);
      self->delayed_send(self, tick_period, tick_atom_v);
    },
    [self](stop_atom) {
      save(self);
      if (self->state.socket) self->state.socket->close();
      self->state.socket = nullptr;
      self->quit();
      return true;
    },
  };
}

} // namespace

result<dht_service> spawn_dht(caf::actor_system& sys, net_service& net, const std::string& bind_address,
                              std::uint16_t port, dht_config cfg) {
  // The socket exists before the actor, so a port in use is reported to
  // the caller at once.
  auto sock = dht::udp_socket::open(net.io(), bind_address, port);
  if (!sock) return sock.err();
  auto actor = sys.spawn(dht_behavior, &net, std::move(cfg), *sock);
  (*sock)->start([actor](const dht::endpoint& from, std::string bytes) {
    caf::anon_send(actor, udp_atom_v, from.ip_number(), from.port, std::move(bytes));
  });
  dht_service out{actor, (*sock)->port()};
  return out;
}

} // namespace actorrent
