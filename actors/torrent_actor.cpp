#include "torrent_actor.hpp"

#include "disk_writer_actor.hpp"
#include "log.hpp"
#include "piece_manager_actor.hpp"
#include "tracker_actor.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <functional>
#include <map>
#include <set>
#include <unordered_map>

namespace actorrent {

namespace {

using namespace std::chrono_literals;
using time_point = caf::actor_clock::time_point;

struct known_peer {
  std::uint32_t failures = 0;  // attempts that ended before a handshake
  std::uint32_t drops = 0;     // handshaken connections that ended
  time_point next_attempt{};
  bool connected = false;      // an actor exists for it
  bool banned = false;
};

struct connection {
  peer_endpoint remote;
  peer_connection_actor handle;
  bool handshaken = false;
};

struct torrent_state {
  static inline const char* name = "actorrent.torrent";

  caf::actor_system* sys = nullptr;
  net_service* net = nullptr;
  std::shared_ptr<const metainfo> meta;
  torrent_config cfg;
  caf::actor owner;

  disk_writer_actor disk;
  piece_manager_actor pm;
  tracker_actor tracker;

  std::map<peer_endpoint, known_peer> known;
  std::unordered_map<peer_key, connection> connections;
  peer_key next_key = 1;

  time_point started{};
  time_point last_progress{};
  std::uint64_t last_downloaded = 0;
  torrent_progress progress;
  double rate = 0;
  bool complete = false;
  bool stopping = false;

  // Every child actor still running. The torrent exits only after they all
  // did (or a deadline passed), so that nothing of it outlives the network
  // thread its owner may tear down next.
  std::set<caf::actor_addr> children;
  std::function<void()> after_shutdown;
  time_point shutdown_deadline{};

  ~torrent_state() {
    // Killed without an orderly stop: still take the children along.
    for (auto& [key, c] : connections) caf::anon_send_exit(c.handle, caf::exit_reason::user_shutdown);
    if (pm) caf::anon_send_exit(pm, caf::exit_reason::user_shutdown);
    if (disk) caf::anon_send_exit(disk, caf::exit_reason::user_shutdown);
    if (tracker) caf::anon_send_exit(tracker, caf::exit_reason::user_shutdown);
  }
};

using torrent_self = torrent_actor::stateful_pointer<torrent_state>;

std::uint32_t handshaken_count(const torrent_state& st) {
  std::uint32_t n = 0;
  for (auto& [k, c] : st.connections) n += c.handshaken ? 1 : 0;
  return n;
}

torrent_status make_status(const torrent_state& st, time_point now) {
  torrent_status s;
  s.name = st.meta->name;
  s.progress = st.progress;
  s.download_rate = st.rate;
  s.peers_connected = handshaken_count(st);
  s.peers_known = static_cast<std::uint32_t>(st.known.size());
  s.elapsed = std::chrono::duration<double>(now - st.started).count();
  return s;
}

template <class Handle>
void adopt(torrent_self self, const Handle& child) {
  self->monitor(child);
  self->state.children.insert(child.address());
}

void connect_more(torrent_self self) {
  auto& st = self->state;
  if (st.stopping || st.complete) return;
  auto now = self->clock().now();
  for (auto& [remote, info] : st.known) {
    if (st.connections.size() >= st.cfg.max_connections) break;
    if (info.connected || info.banned || info.failures >= st.cfg.max_connect_failures
        || info.drops >= 2 * st.cfg.max_connect_failures || now < info.next_attempt)
      continue;
    auto key = st.next_key++;
    auto conn = tcp_connection::create(st.net->io(), {});
    auto handle = spawn_outgoing_peer(*st.sys, key, conn, remote, st.pm, self, st.cfg.peer);
    adopt(self, handle);
    info.connected = true;
    st.connections.emplace(key, connection{remote, handle, false});
    ACTORRENT_LOG(debug, "connecting to " << remote.to_string());
  }
}

void finish_shutdown(torrent_self self) {
  auto& st = self->state;
  if (!st.after_shutdown) return;
  auto then = std::move(st.after_shutdown);
  st.after_shutdown = nullptr;
  then();
  self->quit();
}

/// Stops every child, then runs `then` and exits once they are all gone (at
/// most 5 s later).
void shut_down(torrent_self self, std::function<void()> then) {
  auto& st = self->state;
  for (auto& [key, c] : st.connections) self->send_exit(c.handle, caf::exit_reason::user_shutdown);
  if (st.pm) self->send_exit(st.pm, caf::exit_reason::user_shutdown);
  if (st.disk) self->send_exit(st.disk, caf::exit_reason::user_shutdown);
  if (st.tracker) self->send_exit(st.tracker, caf::exit_reason::user_shutdown);
  st.after_shutdown = std::move(then);
  st.shutdown_deadline = self->clock().now() + 5s;
  if (st.children.empty()) finish_shutdown(self);
  else self->delayed_send(self, 5s, tick_atom_v);
}

/// Says goodbye to the trackers (bounded), then runs `then`.
template <class F>
void stop_tracker_then(torrent_self self, F then) {
  auto& st = self->state;
  if (!st.tracker) {
    then();
    return;
  }
  self->request(st.tracker, 10s, stop_atom_v)
    .then([then](bool) mutable { then(); }, [then](caf::error&) mutable { then(); });
}

void fail(torrent_self self, const std::string& why) {
  auto& st = self->state;
  if (st.stopping) return;
  st.stopping = true;
  ACTORRENT_LOG(warning, st.meta->name << ": " << why);
  caf::anon_send(st.owner, failed_atom_v, why);
  stop_tracker_then(self, [self] { shut_down(self, [] {}); });
}

void on_tick(torrent_self self) {
  auto& st = self->state;
  if (st.after_shutdown && self->clock().now() >= st.shutdown_deadline) {
    ACTORRENT_LOG(warning, st.children.size() << " actors did not stop in time");
    finish_shutdown(self);
    return;
  }
  if (st.stopping) return;
  connect_more(self);
  self->request(st.pm, 5s, status_atom_v)
    .then(
      [self](torrent_progress& p) {
        auto& st = self->state;
        auto now = self->clock().now();
        auto delta = p.downloaded - st.last_downloaded;
        st.rate = st.rate * 0.5 + static_cast<double>(delta) * 0.5;
        if (delta > 0) st.last_progress = now;
        st.last_downloaded = p.downloaded;
        st.progress = p;
        if (st.tracker)
          self->send(st.tracker, stats_atom_v, std::int64_t{0},
                     static_cast<std::int64_t>(p.downloaded), p.bytes_total - p.bytes_have);
        if (st.stopping) return;
        caf::anon_send(st.owner, status_atom_v, make_status(st, now));
        if (!st.complete && now - st.last_progress > st.cfg.stall_timeout) {
          std::ostringstream why;
          why << "no data for " << st.cfg.stall_timeout.count() << " s ("
              << handshaken_count(st) << " peers connected, " << st.known.size()
              << " known); giving up";
          fail(self, why.str());
        }
      },
      [](caf::error&) {});
  self->delayed_send(self, 1s, tick_atom_v);
}

torrent_actor::behavior_type torrent(torrent_self self, caf::actor_system* sys, net_service* net,
                                     std::shared_ptr<const metainfo> meta, torrent_config cfg,
                                     std::shared_ptr<storage> store, bitfield have,
                                     caf::actor owner) {
  auto& st = self->state;
  st.sys = sys;
  st.net = net;
  st.meta = meta;
  st.cfg = std::move(cfg);
  st.owner = std::move(owner);
  st.started = st.last_progress = self->clock().now();

  st.disk = spawn_disk_writer(*sys, std::move(store), meta->piece_hashes);
  piece_manager_config pmc;
  pmc.num_pieces = meta->piece_count();
  pmc.piece_length = meta->piece_length;
  pmc.total_length = meta->total_length;
  pmc.picker.endgame_threshold = st.cfg.endgame_threshold;
  pmc.have = std::move(have);
  st.pm = spawn_piece_manager(*sys, std::move(pmc), st.disk, self);
  adopt(self, st.disk);
  adopt(self, st.pm);

  st.cfg.peer.info_hash = meta->info_hash;
  st.cfg.peer.our_id = st.cfg.peer_id;
  st.cfg.peer.num_pieces = meta->piece_count();

  tracker_config tc;
  if (!meta->announce_list.empty())
    tc.tiers = meta->announce_list;
  else if (!meta->announce.empty())
    tc.tiers = {{meta->announce}};
  if (!tc.tiers.empty()) {
    tc.info_hash = meta->info_hash;
    tc.peer_id = st.cfg.peer_id;
    tc.port = st.cfg.listen_port;
    tc.left = meta->total_length;
    st.tracker = spawn_tracker(*sys, net->io(), std::move(tc), self);
    adopt(self, st.tracker);
  }

  for (auto& p : st.cfg.peers) st.known.emplace(p, known_peer{});

  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    st.children.erase(dm.source);
    if (st.after_shutdown && st.children.empty()) {
      finish_shutdown(self);
      return;
    }
    if (!st.stopping && (dm.source == st.pm.address() || dm.source == st.disk.address())) {
      fail(self, "internal error: a torrent actor stopped: " + from_caf_error(dm.reason).to_string());
      return;
    }
    for (auto it = st.connections.begin(); it != st.connections.end(); ++it) {
      if (it->second.handle.address() != dm.source) continue;
      auto& info = st.known[it->second.remote];
      info.connected = false;
      auto now = self->clock().now();
      if (it->second.handshaken) {
        ++info.drops;
        info.next_attempt = now + st.cfg.retry_delay;
      } else {
        ++info.failures;
        info.next_attempt = now + st.cfg.retry_delay * (1 << std::min<std::uint32_t>(info.failures, 5));
      }
      ACTORRENT_LOG(info, "peer " << it->second.remote.to_string() << " gone: "
                                  << from_caf_error(dm.reason).message);
      st.connections.erase(it);
      break;
    }
  });

  connect_more(self);
  self->delayed_send(self, 1s, tick_atom_v);

  return {
    [self](peers_atom, std::vector<peer_endpoint>& peers) {
      auto& st = self->state;
      for (auto& p : peers) st.known.emplace(p, known_peer{});
      connect_more(self);
    },
    [self](tracker_atom, const std::string& text) {
      ACTORRENT_LOG(info, self->state.meta->name << ": " << text);
    },
    [self](connected_atom, peer_key key) {
      auto& st = self->state;
      auto it = st.connections.find(key);
      if (it == st.connections.end()) return;
      it->second.handshaken = true;
      st.known[it->second.remote].failures = 0;
    },
    [self](done_atom) {
      auto& st = self->state;
      if (st.complete) return;
      st.complete = true;
      auto now = self->clock().now();
      ACTORRENT_LOG(info, st.meta->name << ": download complete");
      if (st.tracker) self->send(st.tracker, completed_atom_v);
      self->request(st.pm, 5s, status_atom_v)
        .then(
          [self, now](torrent_progress& p) {
            auto& st = self->state;
            st.progress = p;
            auto status = make_status(st, now);
            if (st.cfg.seed) {
              caf::anon_send(st.owner, done_atom_v, status);
              return;
            }
            st.stopping = true;
            stop_tracker_then(self, [self, status] {
              shut_down(self, [self, status] {
                caf::anon_send(self->state.owner, done_atom_v, status);
              });
            });
          },
          [self](caf::error& err) { fail(self, from_caf_error(err).to_string()); });
    },
    [self](fatal_atom, const std::string& why) { fail(self, why); },
    [self](ban_atom, peer_key key) {
      auto& st = self->state;
      auto it = st.connections.find(key);
      if (it == st.connections.end()) return;
      st.known[it->second.remote].banned = true;
      ACTORRENT_LOG(info, "banned " << it->second.remote.to_string() << " for sending bad data");
      self->send(it->second.handle, stop_atom_v);
    },
    [self](tick_atom) { on_tick(self); },
    [self](status_atom) -> torrent_status {
      return make_status(self->state, self->clock().now());
    },
    [self](stop_atom) -> caf::result<bool> {
      auto& st = self->state;
      auto rp = self->make_response_promise<bool>();
      if (st.stopping) {
        rp.deliver(true);
        return rp;
      }
      st.stopping = true;
      stop_tracker_then(self, [self, rp]() mutable {
        shut_down(self, [rp]() mutable { rp.deliver(true); });
      });
      return rp;
    },
  };
}

} // namespace

torrent_actor spawn_torrent(caf::actor_system& sys, net_service& net,
                            std::shared_ptr<const metainfo> meta, torrent_config cfg,
                            std::shared_ptr<storage> store, bitfield have, caf::actor owner) {
  return sys.spawn(torrent, &sys, &net, std::move(meta), std::move(cfg), std::move(store),
                   std::move(have), std::move(owner));
}

} // namespace actorrent
