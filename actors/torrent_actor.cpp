#include "torrent_actor.hpp"

#include "disk_writer_actor.hpp"
#include "file_selection.hpp"
#include "log.hpp"
#include "peer_client.hpp"
#include "peer_list.hpp"
#include "peer_sources.hpp"
#include "pex_message.hpp"
#include "piece_manager_actor.hpp"
#include "resume_data.hpp"
#include "printable.hpp"
#include "tracker_actor.hpp"
#include "web_seed_actor.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

namespace actorrent {

namespace {

using namespace std::chrono_literals;
using time_point = caf::actor_clock::time_point;

struct connection {
  peer_endpoint remote;
  peer_actor handle;  // the torrent only chokes, unchokes and stops it
  bool handshaken = false;
  bool incoming = false;
  peer_stats stats;
  time_point since{};  // actor clock: the choker runs on simulated time too
  std::string client;  // from the remote's peer id, for people
  connection_budget::slot slot;  // in the session's budget while this lives
  std::uint16_t listen_port = 0;  // an incoming peer's, from its extension handshake
};

/// Where a connection's peer accepts connections: the address we dialled,
/// or an incoming peer's host with the port of its extension handshake.
std::optional<peer_endpoint> connectable_address(const connection& c) {
  if (!c.incoming) return c.remote;
  if (c.listen_port != 0) return peer_endpoint{c.remote.host, c.listen_port};
  return std::nullopt;
}

/// What the torrent last heard from one tracker.
struct tracker_news {
  tracker_status status;  // next_announce is derived from `due` when asked
  time_point due{};       // the next regular announce; unset while unknown
  bool due_known = false;
};

struct torrent_actor_state {
  static inline const char* name = "actorrent.torrent";

  caf::actor_system* sys = nullptr;
  net_service* net = nullptr;
  std::shared_ptr<const metainfo> meta;
  torrent_config cfg;
  std::vector<caf::actor> listeners;  // get every event
  peer_router_actor router;

  disk_writer_actor disk;
  piece_manager_actor pm;
  tracker_actor tracker;

  std::unique_ptr<peer_list> peers;
  peer_sources sources;  // where peers may come from (BEP 27: private torrents)
  std::unordered_map<peer_key, connection> connections;
  // The running web seeds (BEP 19), by their url-list entry.
  std::vector<std::pair<std::string, web_seed_actor>> web_seeds;
  peer_key next_key = 1;

  std::unique_ptr<choker> chokes;
  time_point next_rechoke{};

  time_point started{};
  time_point last_progress{};
  time_point seeding_since{};
  std::uint64_t last_downloaded = 0;
  // Totals per remote host, over all its connections so far (live ones
  // as of their last report).
  struct host_totals {
    std::uint64_t downloaded = 0, uploaded = 0, discarded = 0;
  };
  std::map<std::string, host_totals> by_host;
  // Every tracker URL of the torrent, in tier order.
  std::vector<tracker_news> trackers;
  std::uint64_t last_uploaded = 0;
  torrent_progress progress;
  double rate = 0;
  double up_rate = 0;
  bool checking = true;
  bool complete = false;
  bool complete_at_start = false;  // nothing was missing after the check
  bool stopping = false;
  bool paused = false;
  bool rechecking = false;  // the PieceManager is being replaced
  std::string check_reason;  // why the start-up check hashes what it does
  // Counts this torrent among those sharing the session's connections
  // while it downloads.
  connection_budget::member budget_member;
  std::uint32_t checked_pieces = 0, to_check = 0;

  // Every child actor still running. The torrent exits only after they all
  // did (or a deadline passed), so that nothing of it outlives the network
  // thread its owner may tear down next.
  std::set<caf::actor_addr> children;
  std::function<void()> after_shutdown;
  time_point shutdown_deadline{};

  ~torrent_actor_state() {
    // Killed without an orderly stop: still take the children along.
    for (auto& [key, c] : connections) caf::anon_send_exit(c.handle, caf::exit_reason::user_shutdown);
    for (auto& [url, ws] : web_seeds) caf::anon_send_exit(ws, caf::exit_reason::user_shutdown);
    if (pm) caf::anon_send_exit(pm, caf::exit_reason::user_shutdown);
    if (disk) caf::anon_send_exit(disk, caf::exit_reason::user_shutdown);
    if (tracker) caf::anon_send_exit(tracker, caf::exit_reason::user_shutdown);
  }
};

using torrent_self = torrent_actor::stateful_pointer<torrent_actor_state>;

/// Tells every listener.
template <class Event>
void emit(torrent_self self, const Event& e) {
  for (auto& l : self->state.listeners) caf::anon_send(l, e);
}

std::uint32_t handshaken_count(const torrent_actor_state& st) {
  std::uint32_t n = 0;
  for (auto& [k, c] : st.connections) n += c.handshaken ? 1 : 0;
  return n;
}

std::uint64_t uploaded_total(const torrent_actor_state& st) {
  std::uint64_t total = 0;
  for (const auto& [host, t] : st.by_host) total += t.uploaded;
  return total;
}

/// What the trackers are told. While checking nothing is verified yet, so
/// the whole torrent counts as left.
transfer_stats announce_counters(const torrent_actor_state& st, const torrent_progress& p) {
  transfer_stats s;
  s.uploaded = static_cast<std::int64_t>(uploaded_total(st));
  s.downloaded = static_cast<std::int64_t>(p.downloaded);
  s.left = st.meta->total_length - (st.checking ? 0 : p.bytes_have);
  return s;
}

torrent_status make_status(const torrent_actor_state& st, time_point now) {
  torrent_status s;
  s.info_hash = st.meta->info_hash;
  s.name = st.meta->name;
  s.state = st.stopping   ? torrent_state::stopped
            : st.checking ? torrent_state::checking
            : st.paused   ? torrent_state::paused
            : st.complete ? torrent_state::seeding
                          : torrent_state::downloading;
  s.progress = st.progress;
  s.uploaded = uploaded_total(st);
  for (const auto& [host, t] : st.by_host) s.discarded += t.discarded;
  s.download_rate = st.rate;
  s.upload_rate = st.up_rate;
  s.peers_connected = handshaken_count(st);
  s.peers_known = static_cast<std::uint32_t>(st.peers->size());
  s.peers_banned = static_cast<std::uint32_t>(st.peers->banned_count());
  s.elapsed = std::chrono::duration<double>(now - st.started).count();
  s.checking = st.checking;
  s.checked_pieces = st.checked_pieces;
  s.to_check = st.to_check;
  for (const auto& t : st.trackers) {
    s.trackers.push_back(t.status);
    if (t.due_known)
      s.trackers.back().next_announce =
        std::max(0.0, std::chrono::duration<double>(t.due - now).count());
  }
  return s;
}

tracker_news* find_tracker(torrent_actor_state& st, const std::string& url) {
  for (auto& t : st.trackers)
    if (t.status.url == url) return &t;
  return nullptr;
}

std::vector<peer_connection> connection_list(const torrent_actor_state& st) {
  std::vector<peer_connection> out;
  out.reserve(st.connections.size());
  for (const auto& [key, c] : st.connections) {
    peer_connection p;
    p.address = c.remote.to_string();
    p.client = c.client;
    p.incoming = c.incoming;
    p.handshaken = c.handshaken;
    p.interested = c.stats.peer_interested;
    p.snubbed = c.stats.snubbed;
    p.seed = c.stats.seed;
    p.download_rate = c.stats.download_rate;
    p.upload_rate = c.stats.upload_rate;
    p.downloaded = c.stats.downloaded;
    p.uploaded = c.stats.uploaded;
    out.push_back(std::move(p));
  }
  return out;
}

template <class Handle>
void adopt(torrent_self self, const Handle& child) {
  self->monitor(child);
  self->state.children.insert(child.address());
}

void connect_more(torrent_self self) {
  auto& st = self->state;
  if (st.stopping || st.complete || st.checking || st.paused) {
    st.budget_member = {};
    return;
  }
  auto& budget = st.cfg.session_connections;
  if (budget && budget->limit() != 0 && !st.budget_member) st.budget_member = budget->join();
  if (st.connections.size() >= st.cfg.max_connections) return;
  auto room = st.cfg.max_connections - st.connections.size();
  if (budget && budget->limit() != 0) {
    const auto share = st.budget_member.share();
    const auto free = budget->limit() - std::min(budget->used(), budget->limit());
    const auto below_share = share > st.connections.size() ? share - st.connections.size() : 0;
    room = std::min({room, free, below_share});
    st.budget_member.set_starving(free == 0 && below_share > 0
                                  && st.peers->size() > st.connections.size());
  }
  for (auto& remote : st.peers->next_to_connect(room, self->clock().now())) {
    connection_budget::slot slot;
    if (st.cfg.session_connections) {
      slot = st.cfg.session_connections->acquire();
      // Another torrent took the last slot since `room` was counted.
      if (!slot) {
        st.peers->on_not_dialled(remote, self->clock().now());
        continue;
      }
    }
    auto key = st.next_key++;
    peer_actor handle;
    if (st.cfg.dial) {
      handle = st.cfg.dial(dial_request{st.sys, key, remote, st.pm, st.disk, self, &st.cfg.peer});
    } else {
      auto conn = tcp_connection::create(
        st.net->io(), {.encryption = st.cfg.encryption, .info_hash = st.meta->info_hash});
      conn->set_rate_limits(st.cfg.down_limits, st.cfg.up_limits);
      handle = spawn_outgoing_peer(*st.sys, key, conn, remote, st.pm, st.disk, self, st.cfg.peer);
    }
    adopt(self, handle);
    ACTORRENT_LOG(debug, "connecting to " << remote.to_string());
    st.connections.emplace(key, connection{std::move(remote), handle, false, false, {},
                                           self->clock().now(), {}, std::move(slot)});
  }
}

/// Over its share of the session's connections while another torrent
/// cannot get its own: closes the connection that gives least, one per tick.
void give_back_connection(torrent_self self) {
  auto& st = self->state;
  const auto& budget = st.cfg.session_connections;
  if (!budget || !st.budget_member || !budget->someone_starving()) return;
  const auto share = st.budget_member.share();
  if (st.connections.size() <= share) return;
  auto worst = st.connections.end();
  for (auto it = st.connections.begin(); it != st.connections.end(); ++it)
    if (worst == st.connections.end()
        || it->second.stats.download_rate < worst->second.stats.download_rate)
      worst = it;
  ACTORRENT_LOG(info, st.meta->name << ": giving back the connection to "
                        << worst->second.remote.to_string() << " (session connection limit)");
  self->send(worst->second.handle, stop_atom_v);
}

/// One web seed per url-list entry, next to the peers (none while paused
/// or complete).
void start_web_seeds(torrent_self self) {
  auto& st = self->state;
  if (!st.pm || st.paused || st.stopping || st.complete || st.complete_at_start || !st.web_seeds.empty())
    return;
  for (const auto& url : st.meta->url_list) {
    if (st.peers->banned(url)) continue;
    web_seed_config wc;
    wc.url = url;
    wc.meta = st.meta;
    wc.key = st.next_key++;
    wc.tls.ca_file = st.cfg.tracker_ca_file;
    wc.down_limits = st.cfg.down_limits;
    auto ws = spawn_web_seed(*st.sys, st.net->io(), std::move(wc), st.pm);
    adopt(self, ws);
    st.web_seeds.emplace_back(url, std::move(ws));
  }
}

void stop_web_seeds(torrent_self self) {
  auto& st = self->state;
  for (auto& [url, ws] : st.web_seeds) self->send_exit(ws, caf::exit_reason::user_shutdown);
  st.web_seeds.clear();
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
  stop_web_seeds(self);
  if (st.pm) self->send_exit(st.pm, caf::exit_reason::user_shutdown);
  if (st.disk) self->send_exit(st.disk, caf::exit_reason::user_shutdown);
  if (st.tracker) self->send_exit(st.tracker, caf::exit_reason::user_shutdown);
  st.after_shutdown = std::move(then);
  st.shutdown_deadline = self->clock().now() + 5s;
  if (st.children.empty())
    finish_shutdown(self);
  else
    self->delayed_send(self, 5s, tick_atom_v);
}

/// Saves the resume data (when there is a PieceManager), says goodbye to the
/// trackers (bounded), then runs `then`.
void wind_down(torrent_self self, bool save, std::function<void()> then) {
  auto& st = self->state;
  auto after_resume = [self, then] {
    auto& st = self->state;
    if (!st.tracker) {
      then();
      return;
    }
    self->request(st.tracker, 10s, stop_atom_v)
      .then([then](bool) { then(); }, [then](caf::error&) { then(); });
  };
  if (!save || !st.pm) {
    after_resume();
    return;
  }
  self->request(st.pm, 30s, resume_atom_v)
    .then([after_resume](bool) { after_resume(); }, [after_resume](caf::error&) { after_resume(); });
}

void fail(torrent_self self, const std::string& why, bool gave_up = false) {
  auto& st = self->state;
  if (st.stopping) return;
  st.stopping = true;
  ACTORRENT_LOG(info, st.meta->name << ": " << why);
  emit(self, torrent_error{st.meta->info_hash, why, gave_up});
  wind_down(self, false, [self] { shut_down(self, [] {}); });
}

/// Ends a completed torrent (after the download, or after seeding).
void finish(torrent_self self, bool seeded) {
  auto& st = self->state;
  if (st.stopping) return;
  st.stopping = true;
  wind_down(self, false, [self, seeded] {
    shut_down(self, [self, seeded] {
      // After every peer is gone: their last figures are in.
      auto status = make_status(self->state, self->clock().now());
      if (seeded)
        emit(self, seeding_finished{std::move(status)});
      else
        emit(self, download_finished{std::move(status)});
    });
  });
}

void rechoke(torrent_self self) {
  auto& st = self->state;
  std::vector<choker_peer> peers;
  peers.reserve(st.connections.size());
  for (auto& [key, c] : st.connections) {
    if (!c.handshaken) continue;
    choker_peer p;
    p.key = key;
    p.interested = c.stats.peer_interested;
    p.snubbed = c.stats.snubbed;
    p.download_rate = c.stats.download_rate;
    p.upload_rate = c.stats.upload_rate;
    p.connected = c.since;
    peers.push_back(p);
  }
  auto d = st.chokes->rechoke(peers, st.complete, self->clock().now());
  for (auto key : d.choke)
    if (auto it = st.connections.find(key); it != st.connections.end())
      self->send(it->second.handle, choke_atom_v);
  for (auto key : d.unchoke)
    if (auto it = st.connections.find(key); it != st.connections.end())
      self->send(it->second.handle, unchoke_atom_v);
}

void on_tick(torrent_self self) {
  auto& st = self->state;
  auto now = self->clock().now();
  if (st.after_shutdown && now >= st.shutdown_deadline) {
    ACTORRENT_LOG(warning, st.children.size() << " actors did not stop in time");
    finish_shutdown(self);
    return;
  }
  if (st.stopping) return;
  self->delayed_send(self, 1s, tick_atom_v);
  if (st.checking || !st.pm) return;
  connect_more(self);
  give_back_connection(self);
  if (now >= st.next_rechoke) {
    st.next_rechoke = now + st.cfg.choking.rechoke_interval;
    rechoke(self);
  }
  self->request(st.pm, 5s, status_atom_v)
    .then(
      [self](torrent_progress& p) {
        auto& st = self->state;
        auto now = self->clock().now();
        auto delta = p.downloaded - st.last_downloaded;
        st.rate = st.rate * 0.5 + static_cast<double>(delta) * 0.5;
        if (delta > 0) st.last_progress = now;
        st.last_downloaded = p.downloaded;
        auto up = uploaded_total(st);
        st.up_rate = st.up_rate * 0.5 + static_cast<double>(up - st.last_uploaded) * 0.5;
        st.last_uploaded = up;
        st.progress = p;
        if (st.stopping) return;
        if (st.cfg.status_updates) emit(self, status_update{make_status(st, now)});
        if (st.complete) {
          bool time_up = st.cfg.seed_time && now - st.seeding_since >= *st.cfg.seed_time;
          bool ratio_met = st.cfg.seed_ratio
                           && static_cast<double>(up)
                                >= *st.cfg.seed_ratio * static_cast<double>(p.bytes_total);
          if (time_up || ratio_met) finish(self, true);
        } else if (st.paused) {
          st.last_progress = now;  // a paused torrent is not stalled
        } else if (now - st.last_progress > st.cfg.stall_timeout) {
          std::ostringstream why;
          why << "no data for " << st.cfg.stall_timeout.count() << " s ("
              << handshaken_count(st) << " peers connected, " << st.peers->size()
              << " known); giving up";
          fail(self, why.str(), true);
        }
      },
      [](caf::error&) {});
}

/// Starts downloading (and serving) once the start-up check knows what we have.
void start(torrent_self self, bitfield have) {
  auto& st = self->state;
  piece_manager_config pmc;
  pmc.num_pieces = st.meta->piece_count();
  pmc.piece_length = st.meta->piece_length;
  pmc.total_length = st.meta->total_length;
  pmc.picker = st.cfg.picker;
  pmc.picker.endgame_threshold = st.cfg.endgame_threshold;
  pmc.have = std::move(have);
  if (!st.cfg.file_priorities.empty())
    pmc.priorities = piece_priorities(*st.meta, st.cfg.file_priorities);
  bool all_present = pmc.have.all();
  st.pm = spawn_piece_manager(*st.sys, std::move(pmc), st.disk, self);
  adopt(self, st.pm);
  st.checking = false;
  st.complete_at_start = all_present;
  st.last_progress = self->clock().now();
  if (st.tracker) self->send(st.tracker, ready_atom_v);
  if (st.router)
    self->send(st.router, register_atom_v, st.meta->info_hash, caf::actor_cast<incoming_peer_actor>(self));
  connect_more(self);
  start_web_seeds(self);
}

/// Hashes the pieces the plan names, a batch at a time so progress shows,
/// then starts.
void check_pieces(torrent_self self, std::vector<std::uint32_t> todo, std::size_t next,
                  bitfield have) {
  auto& st = self->state;
  if (st.stopping) return;
  if (next >= todo.size()) {
    emit(self, checking_finished{st.meta->info_hash, static_cast<std::uint32_t>(have.count()),
                                 static_cast<std::uint32_t>(have.size()), st.check_reason});
    start(self, std::move(have));
    return;
  }
  st.checked_pieces = static_cast<std::uint32_t>(next);
  st.to_check = static_cast<std::uint32_t>(todo.size());
  emit(self, checking_progress{st.meta->info_hash, static_cast<std::uint32_t>(next),
                                 static_cast<std::uint32_t>(todo.size()),
                                 static_cast<std::uint32_t>(have.count())});
  // About 16 MiB a batch (at least 32 pieces): enough for every core of the
  // DiskWriter's check to stay busy, few enough for progress to show.
  const auto per_batch = std::max<std::size_t>(
    32, static_cast<std::size_t>((std::int64_t{16} << 20) / std::max<std::int64_t>(st.meta->piece_length, 1)));
  auto end = std::min(todo.size(), next + per_batch);
  std::vector<std::uint32_t> batch(todo.begin() + static_cast<std::ptrdiff_t>(next),
                                   todo.begin() + static_cast<std::ptrdiff_t>(end));
  self->request(st.disk, 300s, check_atom_v, std::move(batch))
    .then(
      [self, todo = std::move(todo), end, have](std::vector<std::uint32_t>& good) mutable {
        for (auto p : good) have.set(p);
        auto& st = self->state;
        st.progress.pieces_have = static_cast<std::uint32_t>(have.count());
        check_pieces(self, std::move(todo), end, std::move(have));
      },
      [self](caf::error& err) { fail(self, "checking the files: " + from_caf_error(err).to_string()); });
}

/// A child actor ended: a connection (forget it, let the peer list back off
/// or retry), or during shutdown the last one (exit now).
void on_child_down(torrent_self self, caf::down_msg& dm) {
  auto& st = self->state;
  st.children.erase(dm.source);
  if (st.after_shutdown && st.children.empty()) {
    finish_shutdown(self);
    return;
  }
  if (st.rechecking && dm.source == st.pm.address()) return;  // replaced on purpose
  if (!st.stopping && (dm.source == st.pm.address() || dm.source == st.disk.address())) {
    fail(self, "internal error: a torrent actor stopped: " + from_caf_error(dm.reason).to_string());
    return;
  }
  std::erase_if(st.web_seeds, [&dm](const auto& w) { return w.second.address() == dm.source; });
  for (auto it = st.connections.begin(); it != st.connections.end(); ++it) {
    if (it->second.handle.address() != dm.source) continue;
    auto& c = it->second;
    st.chokes->on_peer_gone(it->first);
    if (!c.incoming) st.peers->on_closed(c.remote, c.handshaken, self->clock().now());
    auto reason = from_caf_error(dm.reason).message;
    ACTORRENT_LOG(info, "peer " << c.remote.to_string() << " gone: " << reason);
    if (c.handshaken) emit(self, peer_disconnected{st.meta->info_hash, c.remote.to_string(), reason});
    st.connections.erase(it);
    return;
  }
}

/// An accepted connection whose handshake names this torrent.
void accept_incoming(torrent_self self, connection_ptr& conn, std::vector<std::uint8_t>& handshake) {
  auto& st = self->state;
  auto remote = conn->remote();
  // A banned peer is banned by address: its port changes with every
  // connection it makes.
  if (st.stopping || st.checking || st.paused || st.connections.size() >= st.cfg.max_connections
      || st.peers->banned(remote.host)) {
    conn->close();
    return;
  }
  connection_budget::slot slot;
  if (st.cfg.session_connections) {
    slot = st.cfg.session_connections->acquire();
    if (!slot) {
      conn->close();
      return;
    }
  }
  conn->set_rate_limits(st.cfg.down_limits, st.cfg.up_limits);
  auto key = st.next_key++;
  auto handle = spawn_incoming_peer(*st.sys, key, conn, remote, st.pm, st.disk, self, st.cfg.peer,
                                    std::move(handshake));
  adopt(self, handle);
  st.connections.emplace(
    key, connection{remote, handle, false, true, {}, self->clock().now(), {}, std::move(slot)});
  ACTORRENT_LOG(debug, "incoming peer " << remote.to_string());
}

/// The peers to name in a PEX message to `asker`: every other connection
/// that completed its handshake, where it accepts connections.
caf::result<std::vector<peer_endpoint>, std::vector<std::uint8_t>> pex_peers(torrent_self self,
                                                                            peer_key asker) {
  auto& st = self->state;
  std::vector<peer_endpoint> peers;
  std::vector<std::uint8_t> flags;
  if (!st.sources.pex) return {std::move(peers), std::move(flags)};
  for (const auto& [key, c] : st.connections) {
    if (key == asker || !c.handshaken) continue;
    auto addr = connectable_address(c);
    if (!addr) continue;
    std::uint8_t f = 0;
    if (c.stats.seed) f |= pex_flag::seed;
    // We reached it, so it accepts connections.
    if (!c.incoming) f |= pex_flag::connectable;
    peers.push_back(std::move(*addr));
    flags.push_back(f);
  }
  return {std::move(peers), std::move(flags)};
}

/// Addresses a peer named in its PEX: into the peer list, unless they are
/// peers we are connected to already.
void learn_from_pex(torrent_self self, peer_key from, std::vector<peer_endpoint>& learned) {
  auto& st = self->state;
  if (!st.sources.pex || st.stopping) return;
  auto now = self->clock().now();
  std::size_t taken = 0;
  for (auto& p : learned) {
    bool connected = std::any_of(st.connections.begin(), st.connections.end(), [&](const auto& kv) {
      auto addr = connectable_address(kv.second);
      return addr && *addr == p;
    });
    if (!connected && st.peers->add(p, now)) ++taken;
  }
  if (auto it = st.connections.find(from); it != st.connections.end())
    ACTORRENT_LOG(info, "pex from " << it->second.remote.to_string() << ": " << learned.size()
                                    << " peers, " << taken << " new");
  if (taken > 0) connect_more(self);
}

/// Every piece is verified and on disk: stop, or go on seeding.
void on_download_done(torrent_self self) {
  auto& st = self->state;
  if (st.complete) return;
  st.complete = true;
  st.seeding_since = self->clock().now();
  ACTORRENT_LOG(info, st.meta->name << ": download complete");
  stop_web_seeds(self);
  self->request(st.pm, 5s, status_atom_v)
    .then(
      [self](torrent_progress& p) {
        auto& st = self->state;
        st.progress = p;
        // BEP 3: "completed" is for a download that finished while running,
        // and a file selection that left pieces out is not the torrent.
        if (st.tracker && !st.complete_at_start && p.pieces_have == p.pieces_total)
          self->send(st.tracker, completed_atom_v);
        if (!st.cfg.seed) {
          finish(self, false);
          return;
        }
        emit(self, download_finished{make_status(st, self->clock().now())});
        rechoke(self);
      },
      [self](caf::error& err) { fail(self, from_caf_error(err).to_string()); });
}

/// The PieceManager judged this host a liar: drop it everywhere, for good.
void ban_host(torrent_self self, const std::string& host) {
  auto& st = self->state;
  if (st.peers->banned(host)) return;
  st.peers->ban(host);
  ACTORRENT_LOG(info, "banned " << host << " for sending bad data");
  emit(self, peer_banned{st.meta->info_hash, host});
  // Every connection of the host, whichever port or direction.
  for (auto& [key, c] : st.connections)
    if (c.remote.host == host) self->send(c.handle, stop_atom_v);
  // A web seed's strikes are charged to its URL.
  for (auto& [url, ws] : st.web_seeds) {
    if (url != host) continue;
    ACTORRENT_LOG(warning, "web seed " << printable(url) << " dropped: it sent data that failed the hash check");
    self->send(ws, stop_atom_v);
  }
}

std::vector<peer_summary> peer_summaries(const torrent_actor_state& st) {
  std::map<std::string, peer_summary> out;
  for (const auto& [host, t] : st.by_host) out[host] = {host, t.downloaded, t.uploaded, false};
  for (const auto& host : st.peers->banned_hosts()) {
    auto& s = out[host];
    s.host = host;
    s.banned = true;
  }
  std::vector<peer_summary> v;
  v.reserve(out.size());
  for (auto& [host, s] : out) v.push_back(std::move(s));
  return v;
}

/// The counters for an announce, as they are now.
caf::result<transfer_stats> current_counters(torrent_self self) {
  auto& st = self->state;
  if (!st.pm) return announce_counters(st, st.progress);
  // The PieceManager's figures change with every block: ask it rather than
  // answer with last second's.
  auto rp = self->make_response_promise<transfer_stats>();
  self->request(st.pm, 2s, status_atom_v)
    .then([self, rp](torrent_progress& p) mutable { rp.deliver(announce_counters(self->state, p)); },
          [self, rp](caf::error&) mutable {
            rp.deliver(announce_counters(self->state, self->state.progress));
          });
  return rp;
}

/// Per-file progress: the bytes of each file that lie in verified pieces.
std::vector<file_progress> files_progress(const metainfo& meta, const bitfield& have,
                                          const std::vector<std::uint8_t>& priorities) {
  std::vector<file_progress> out;
  out.reserve(meta.files.size());
  for (const auto& f : meta.files) {
    if (f.pad) continue;
    file_progress fp;
    if (out.size() < priorities.size()) fp.priority = priorities[out.size()];
    fp.path = meta.multi_file ? meta.name + "/" + f.path_string() : meta.name;
    fp.size = f.length;
    if (f.length > 0) {
      auto first = static_cast<std::uint32_t>(f.offset / meta.piece_length);
      auto last = static_cast<std::uint32_t>((f.offset + f.length - 1) / meta.piece_length);
      for (std::uint32_t p = first; p <= last && p < have.size(); ++p) {
        if (!have.test(p)) continue;
        std::int64_t begin = std::max<std::int64_t>(f.offset, std::int64_t{p} * meta.piece_length);
        std::int64_t end = std::min<std::int64_t>(f.offset + f.length,
                                                  std::int64_t{p} * meta.piece_length + meta.piece_size(p));
        fp.bytes_have += std::max<std::int64_t>(0, end - begin);
      }
    }
    out.push_back(std::move(fp));
  }
  return out;
}

caf::result<torrent_status> status_on_request(torrent_self self, const status_request& r) {
  auto& st = self->state;
  auto s = make_status(st, self->clock().now());
  if (r.peers) {
    s.peers = peer_summaries(st);
    s.connections = connection_list(st);
  }
  if (!r.files) return s;
  if (!st.pm) {
    s.files = files_progress(*st.meta, bitfield(st.meta->piece_count()), st.cfg.file_priorities);
    return s;
  }
  auto rp = self->make_response_promise<torrent_status>();
  self->request(st.pm, 5s, have_atom_v)
    .then(
      [self, rp, s](std::vector<std::uint8_t>& bits) mutable {
        const auto& meta = *self->state.meta;
        bitfield have(meta.piece_count());
        if (!have.assign_wire(bits, meta.piece_count())) have = bitfield(meta.piece_count());
        s.files = files_progress(meta, have, self->state.cfg.file_priorities);
        rp.deliver(std::move(s));
      },
      [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

/// Closes every connection and makes no new ones until resume_torrent().
void pause_torrent(torrent_self self) {
  auto& st = self->state;
  if (st.paused || st.stopping) return;
  st.paused = true;
  ACTORRENT_LOG(info, st.meta->name << ": paused");
  for (auto& [key, c] : st.connections) self->send(c.handle, stop_atom_v);
  stop_web_seeds(self);
}

void resume_torrent(torrent_self self) {
  auto& st = self->state;
  if (!st.paused || st.stopping) return;
  st.paused = false;
  st.last_progress = self->clock().now();
  ACTORRENT_LOG(info, st.meta->name << ": resumed");
  connect_more(self);
  start_web_seeds(self);
}

/// Hashes everything on disk again: the PieceManager goes, connections
/// close, and the start-up check runs as if there were no resume data.
void recheck_torrent(torrent_self self) {
  auto& st = self->state;
  if (st.checking || st.stopping || !st.pm) return;
  st.rechecking = true;
  st.checking = true;
  for (auto& [key, c] : st.connections) self->send(c.handle, stop_atom_v);
  stop_web_seeds(self);
  self->send_exit(st.pm, caf::exit_reason::user_shutdown);
  st.pm = nullptr;
  st.complete = false;
  self->request(st.disk, 30s, plan_atom_v)
    .then(
      [self](std::vector<std::uint32_t>& todo) {
        auto& st = self->state;
        st.rechecking = false;
        st.check_reason = "recheck asked for";
        st.progress.pieces_have = 0;
        st.progress.bytes_have = 0;
        check_pieces(self, std::move(todo), 0, bitfield(st.meta->piece_count()));
      },
      [self](caf::error& err) { fail(self, "recheck: " + from_caf_error(err).to_string()); });
}

/// A new file selection: the PieceManager picks by it from now on. A
/// complete torrent that lacks a wanted piece now downloads again.
void select_files(torrent_self self, std::vector<std::uint8_t> priorities) {
  auto& st = self->state;
  if (st.stopping) return;
  st.cfg.file_priorities = std::move(priorities);
  if (!st.pm) return;  // still checking: start() takes them
  self->request(st.pm, 5s, priority_atom_v, piece_priorities(*st.meta, st.cfg.file_priorities))
    .then(
      [self](bool complete) {
        auto& st = self->state;
        if (complete || !st.complete || st.stopping) return;
        st.complete = false;
        st.complete_at_start = false;
        st.last_progress = self->clock().now();
        ACTORRENT_LOG(info, st.meta->name << ": more files wanted; downloading again");
        connect_more(self);
      },
      [](caf::error&) {});
}

/// Stops for good; with delete_files the files and the resume data go too.
caf::result<bool> remove_on_request(torrent_self self, bool delete_files) {
  auto& st = self->state;
  auto rp = self->make_response_promise<bool>();
  if (st.stopping) {
    rp.deliver(false);
    return rp;
  }
  st.stopping = true;
  // Resume data is worth saving only for files that stay.
  wind_down(self, !delete_files, [self, rp, delete_files]() mutable {
    shut_down(self, [self, rp, delete_files]() mutable {
      auto& st = self->state;
      bool deleted = false;
      if (delete_files && st.cfg.delete_files) {
        // The DiskWriter is gone: nothing holds the files any more.
        if (auto err = st.cfg.delete_files())
          ACTORRENT_LOG(warning, st.meta->name << ": removing its files: " << err.to_string());
        else
          deleted = true;
      }
      emit(self, torrent_removed{st.meta->info_hash, deleted});
      rp.deliver(true);
    });
  });
  return rp;
}

/// The owner asked us to stop: save resume data, say goodbye, close all.
caf::result<torrent_status> stop_on_request(torrent_self self) {
  auto& st = self->state;
  auto rp = self->make_response_promise<torrent_status>();
  if (st.stopping) {
    rp.deliver(make_status(st, self->clock().now()));
    return rp;
  }
  st.stopping = true;
  wind_down(self, true, [self, rp]() mutable {
    shut_down(self, [self, rp]() mutable { rp.deliver(make_status(self->state, self->clock().now())); });
  });
  return rp;
}

/// Spawns the DiskWriter and, when the torrent has trackers, the tracker.
void spawn_helpers(torrent_self self, std::shared_ptr<storage> store) {
  auto& st = self->state;
  const auto& meta = *st.meta;
  disk_options dopts;
  dopts.resume_file = st.cfg.resume_file;
  dopts.info_hash = meta.info_hash;
  dopts.own_thread = st.cfg.disk_thread;
  st.disk = spawn_disk_writer(*st.sys, std::move(store), meta.piece_hashes, dopts);
  adopt(self, st.disk);

  tracker_config tc;
  if (!meta.announce_list.empty())
    tc.tiers = meta.announce_list;
  else if (!meta.announce.empty())
    tc.tiers = {{meta.announce}};
  if (tc.tiers.empty()) return;
  tc.info_hash = meta.info_hash;
  tc.peer_id = st.cfg.peer_id;
  tc.port = st.cfg.listen_port;
  tc.ca_file = st.cfg.tracker_ca_file;
  tc.udp = st.cfg.udp_tracker;
  st.tracker = spawn_tracker(*st.sys, st.net->io(), std::move(tc), self);
  adopt(self, st.tracker);
}

/// Starts at once with what the resume data vouches for, or hashes the rest
/// first.
void begin_check(torrent_self self, const recheck_plan& plan) {
  auto& st = self->state;
  bitfield have = plan.have;
  std::vector<std::uint32_t> todo;
  for (std::uint32_t i = 0; i < plan.check.size(); ++i)
    if (plan.check.test(i)) todo.push_back(i);
  st.check_reason = plan.reason;
  if (todo.empty()) {
    if (have.count() > 0)
      emit(self, checking_finished{st.meta->info_hash, static_cast<std::uint32_t>(have.count()),
                                   static_cast<std::uint32_t>(have.size()), plan.reason});
    start(self, std::move(have));
    return;
  }
  check_pieces(self, std::move(todo), 0, std::move(have));
}

torrent_actor::behavior_type torrent(torrent_self self, caf::actor_system* sys, net_service* net,
                                     std::shared_ptr<const metainfo> meta, torrent_config cfg,
                                     std::shared_ptr<storage> store,
                                     std::vector<caf::actor> listeners, peer_router_actor router) {
  auto& st = self->state;
  st.sys = sys;
  st.net = net;
  st.meta = meta;
  for (auto& url : meta->trackers()) {
    tracker_news t;
    t.status.url = url;
    st.trackers.push_back(std::move(t));
  }
  st.cfg = std::move(cfg);
  st.listeners = std::move(listeners);
  st.router = std::move(router);
  st.started = st.last_progress = self->clock().now();
  st.chokes = std::make_unique<choker>(st.cfg.choking);
  st.progress.pieces_total = meta->piece_count();
  st.progress.bytes_total = meta->total_length;

  st.cfg.peer.info_hash = meta->info_hash;
  st.cfg.peer.our_id = st.cfg.peer_id;
  st.cfg.peer.num_pieces = meta->piece_count();
  st.cfg.peer.piece_length = meta->piece_length;
  st.cfg.peer.total_length = meta->total_length;
  st.cfg.peer.listen_port = st.cfg.listen_port;
  // Peers that come from a magnet link fetch the info dictionary from us
  // (BEP 9). A private torrent's metainfo goes only where its owner sends it.
  if (!meta->is_private) st.cfg.peer.metadata = std::make_shared<const std::string>(meta->raw_info);
  st.sources = allowed_peer_sources(meta->is_private);
  st.cfg.peer.pex = st.cfg.peer.pex && st.sources.pex;

  peer_list_config plc;
  plc.max_connect_failures = st.cfg.max_connect_failures;
  plc.retry_delay = st.cfg.retry_delay;
  st.peers = std::make_unique<peer_list>(plc);
  for (auto& p : st.cfg.peers) st.peers->add(p, self->clock().now());

  // What is on disk already: the resume data says, where it still matches
  // the files; the rest is hashed.
  result<resume_data> resume = error{errc::io_error, "no resume file"};
  if (!st.cfg.resume_file.empty()) resume = read_resume_file(st.cfg.resume_file);
  auto plan = plan_recheck(resume, meta->info_hash, store->layout(), store->stat_files());
  ACTORRENT_LOG(info, meta->name << ": " << plan.reason);

  spawn_helpers(self, std::move(store));
  self->set_down_handler([self](caf::down_msg& dm) { on_child_down(self, dm); });
  emit(self, torrent_added{meta->info_hash, meta->name, st.cfg.download_dir.string()});
  begin_check(self, plan);
  self->delayed_send(self, 1s, tick_atom_v);

  return {
    [self](peers_atom, std::vector<peer_endpoint>& peers) {
      auto& st = self->state;
      auto now = self->clock().now();
      for (auto& p : peers) st.peers->add(p, now);
      connect_more(self);
    },
    [self](tracker_atom, const std::string& tracker, const std::string& text) {
      ACTORRENT_LOG(info, self->state.meta->name << ": tracker " << tracker << ": " << text);
      // A warning comes with an accepted announce; anything else is a
      // failed one, retried on the tier walk's backoff.
      bool warning = text.rfind("warning: ", 0) == 0;
      for (auto& t : self->state.trackers) {
        if (!tracker.empty() && t.status.url != tracker) continue;
        t.status.message = text;
        if (!warning) {
          t.status.last_result = "error";
          t.due_known = false;
        }
      }
      emit(self, tracker_error{self->state.meta->info_hash, tracker, text});
    },
    [self](tracker_atom, const std::string& tracker, std::int32_t interval, std::uint32_t peers,
           std::int64_t seeders, std::int64_t leechers) {
      if (auto* t = find_tracker(self->state, tracker)) {
        t->status.last_result = "ok";
        t->status.message.clear();
        t->status.peers = peers;
        t->status.seeders = seeders;
        t->status.leechers = leechers;
        t->due = self->clock().now() + std::chrono::seconds(interval);
        t->due_known = true;
      }
      emit(self, tracker_reply{self->state.meta->info_hash, tracker, peers, interval});
    },
    [self](piece_atom, std::uint32_t piece, bool passed) {
      const auto& ih = self->state.meta->info_hash;
      if (passed)
        emit(self, piece_verified{ih, piece});
      else
        emit(self, hash_failed{ih, piece});
    },
    [self](stats_atom) { return current_counters(self); },
    [self](connected_atom, peer_key key, const std::string& peer_id) {
      auto& st = self->state;
      auto it = st.connections.find(key);
      if (it == st.connections.end()) return;
      it->second.handshaken = true;
      it->second.client = client_from_peer_id(peer_id);
      if (!it->second.incoming) st.peers->on_handshake(it->second.remote);
      emit(self, peer_connected{st.meta->info_hash, it->second.remote.to_string(),
                                it->second.incoming});
    },
    [self](peer_stats_atom, peer_key key, const peer_stats& stats) {
      auto& st = self->state;
      auto it = st.connections.find(key);
      if (it == st.connections.end()) return;
      bool became_interested = stats.peer_interested && !it->second.stats.peer_interested;
      auto& totals = st.by_host[it->second.remote.host];
      totals.downloaded += stats.downloaded - it->second.stats.downloaded;
      totals.uploaded += stats.uploaded - it->second.stats.uploaded;
      totals.discarded += stats.discarded - it->second.stats.discarded;
      it->second.stats = stats;
      if (became_interested && !st.stopping && st.chokes->on_interested(key, self->clock().now()))
        self->send(it->second.handle, unchoke_atom_v);
    },
    [self](pex_atom, peer_key key) { return pex_peers(self, key); },
    [self](pex_atom, peer_key key, std::vector<peer_endpoint>& learned) {
      learn_from_pex(self, key, learned);
    },
    [self](pex_atom, peer_key key, std::uint16_t port) {
      auto& st = self->state;
      auto it = st.connections.find(key);
      if (it == st.connections.end() || !it->second.incoming) return;
      it->second.listen_port = port;
    },
    [self](incoming_atom, connection_ptr& conn, std::vector<std::uint8_t>& handshake) {
      accept_incoming(self, conn, handshake);
    },
    [self](done_atom) { on_download_done(self); },
    [self](fatal_atom, const std::string& why) { fail(self, why); },
    [self](ban_atom, const std::string& host) { ban_host(self, host); },
    [self](tick_atom) { on_tick(self); },
    [self](const status_request& r) { return status_on_request(self, r); },
    [self](const pause_request&) { pause_torrent(self); },
    [self](const resume_request&) { resume_torrent(self); },
    [self](const recheck_request&) { recheck_torrent(self); },
    [self](file_priority_request& r) { select_files(self, std::move(r.priorities)); },
    [self](const remove_request& r) { return remove_on_request(self, r.delete_files); },
    [self](stop_atom) { return stop_on_request(self); },
  };
}

} // namespace

torrent_actor spawn_torrent(caf::actor_system& sys, net_service& net,
                            std::shared_ptr<const metainfo> meta, torrent_config cfg,
                            std::shared_ptr<storage> store, std::vector<caf::actor> listeners,
                            peer_router_actor router) {
  return sys.spawn(torrent, &sys, &net, std::move(meta), std::move(cfg), std::move(store),
                   std::move(listeners), std::move(router));
}

} // namespace actorrent
