#include "magnet_actor.hpp"

#include "atomic_file.hpp"
#include "log.hpp"
#include "metadata_download.hpp"
#include "peer_actor.hpp"
#include "peer_list.hpp"
#include "tracker_actor.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <map>
#include <optional>

namespace actorrent {

namespace {

using namespace std::chrono_literals;

struct metadata_connection {
  peer_endpoint remote;
  peer_connection_actor handle;
  std::optional<std::int64_t> offered;
};

struct magnet_state {
  static inline const char* name = "actorrent.magnet";

  caf::actor_system* sys = nullptr;
  net_service* net = nullptr;
  magnet_config cfg;
  std::vector<caf::actor> listeners;
  std::string display_name;

  std::unique_ptr<peer_list> peers;
  std::unique_ptr<metadata_download> download;
  std::map<peer_key, metadata_connection> connections;
  std::map<std::string, int> strikes;  // hosts in a failed multi-peer attempt
  peer_key next_key = 1;
  tracker_actor tracker;
  caf::actor_clock::time_point started{};

  torrent_control torrent;  // once the metadata is here
  bool stopping = false;

  ~magnet_state() {
    for (auto& [k, c] : connections) caf::anon_send_exit(c.handle, caf::exit_reason::user_shutdown);
    if (tracker) caf::anon_send_exit(tracker, caf::exit_reason::user_shutdown);
  }
};

using magnet_self = magnet_actor::stateful_pointer<magnet_state>;

template <class Event>
void emit(magnet_self self, const Event& e) {
  for (auto& l : self->state.listeners) caf::anon_send(l, e);
}

torrent_status metadata_status(const magnet_state& st, caf::actor_clock::time_point now) {
  torrent_status s;
  s.info_hash = st.cfg.link.info_hash;
  s.name = st.display_name;
  s.state = st.stopping ? torrent_state::stopped : torrent_state::downloading_metadata;
  if (st.download) {
    s.progress.pieces_have = st.download->pieces_have();
    s.progress.pieces_total = st.download->pieces_total();
  }
  std::uint32_t n = 0;
  for (auto& [k, c] : st.connections) n += c.offered ? 1 : 0;
  s.peers_connected = n;
  s.peers_known = static_cast<std::uint32_t>(st.peers ? st.peers->size() : 0);
  s.peers_banned = static_cast<std::uint32_t>(st.peers ? st.peers->banned_count() : 0);
  s.elapsed = std::chrono::duration<double>(now - st.started).count();
  return s;
}

/// Ends the metadata phase: its connections and tracker go.
void close_fetching(magnet_self self) {
  auto& st = self->state;
  for (auto& [k, c] : st.connections) self->send_exit(c.handle, caf::exit_reason::user_shutdown);
  st.connections.clear();
  if (st.tracker) self->send_exit(st.tracker, caf::exit_reason::user_shutdown);
  st.tracker = nullptr;
}

void fail(magnet_self self, const std::string& why, bool gave_up) {
  auto& st = self->state;
  if (st.stopping) return;
  st.stopping = true;
  ACTORRENT_LOG(info, st.display_name << ": " << why);
  emit(self, torrent_error{st.cfg.link.info_hash, why, gave_up});
  close_fetching(self);
  self->quit();
}

/// The torrent runs: this actor stands for it and ends with it.
void start_torrent(magnet_self self, metainfo meta, bool fetched) {
  auto& st = self->state;
  // A .torrent saved on an earlier run holds that run's link's web seeds;
  // this link's serve as well.
  for (const auto& w : st.cfg.link.web_seeds)
    if (std::find(meta.url_list.begin(), meta.url_list.end(), w) == meta.url_list.end())
      meta.url_list.push_back(w);
  std::vector<peer_endpoint> known = st.cfg.peers;
  if (st.peers)
    for (auto& p : st.peers->addresses()) known.push_back(p);
  close_fetching(self);
  emit(self, metadata_received{meta.info_hash, meta.name, st.cfg.torrent_file.string(), fetched});
  auto t = st.cfg.start(meta, std::move(known));
  if (!t) {
    fail(self, "cannot start the torrent: " + t.err().message, false);
    return;
  }
  st.torrent = *t;
  st.display_name = meta.name;
  self->monitor(st.torrent);
}

void ban(magnet_self self, peer_key key, const std::string& why) {
  auto& st = self->state;
  auto it = st.connections.find(key);
  if (it == st.connections.end()) return;
  auto host = it->second.remote.host;
  ACTORRENT_LOG(info, "peer " << it->second.remote.to_string() << " banned: " << why);
  if (!st.peers->banned(host)) {
    st.peers->ban(host);
    emit(self, peer_banned{st.cfg.link.info_hash, host});
  }
  for (auto& [k, c] : st.connections)
    if (c.remote.host == host) self->send(c.handle, stop_atom_v);
}

/// Gives every connection that has room the pieces it should ask for.
void request_more(magnet_self self) {
  auto& st = self->state;
  if (!st.download || st.torrent) return;
  for (auto& [key, c] : st.connections) {
    if (!c.offered) continue;
    while (auto piece = st.download->next_request(key)) self->send(c.handle, metadata_atom_v, *piece);
  }
}

void connect_more(magnet_self self) {
  auto& st = self->state;
  if (st.stopping || st.torrent || st.connections.size() >= st.cfg.max_connections) return;
  auto room = st.cfg.max_connections - st.connections.size();
  for (auto& remote : st.peers->next_to_connect(room, self->clock().now())) {
    auto key = st.next_key++;
    auto conn = tcp_connection::create(
      st.net->io(), {.encryption = st.cfg.encryption, .info_hash = st.cfg.link.info_hash});
    auto handle = spawn_metadata_peer(*st.sys, key, conn, remote,
                                      caf::actor_cast<metadata_owner_actor>(self), st.cfg.peer);
    self->monitor(handle);
    st.connections.emplace(key, metadata_connection{remote, handle, std::nullopt});
  }
}

void on_metadata_complete(magnet_self self) {
  auto& st = self->state;
  auto out = st.download->finish();
  if (!out.metadata) {
    // Whoever sent alone is the liar; several senders each get a strike
    // and the next attempts take one peer at a time.
    bool alone = out.senders.size() == 1;
    for (auto key : out.senders) {
      auto it = st.connections.find(key);
      if (it == st.connections.end()) continue;
      if (alone || ++st.strikes[it->second.remote.host] >= 2) {
        ban(self, key, "sent metadata that does not match the info-hash");
      } else if (it->second.offered) {
        (void)st.download->on_offer(key, *it->second.offered);
      }
    }
    request_more(self);
    return;
  }
  auto bytes = torrent_file_from_metadata(*out.metadata, st.cfg.link.trackers, st.cfg.link.web_seeds);
  auto meta = parse_metainfo(bytes);
  if (!meta) {
    // The dictionary has the right hash but is no valid torrent: nobody can
    // do better, the link itself is bad.
    fail(self, "the metadata of this magnet link is not a valid torrent: " + meta.err().message,
         false);
    return;
  }
  if (auto err = write_file_atomically(st.cfg.torrent_file, bytes)) {
    fail(self, "cannot save the metadata: " + err.message, false);
    return;
  }
  ACTORRENT_LOG(info, meta->name << ": metadata received (" << out.metadata->size()
                                  << " bytes), saved as " << st.cfg.torrent_file.string());
  start_torrent(self, *meta, true);
}

void on_tick(magnet_self self) {
  auto& st = self->state;
  if (st.stopping || st.torrent) return;
  self->delayed_send(self, 1s, tick_atom_v);
  auto now = self->clock().now();
  if (now - st.started > st.cfg.stall_timeout) {
    fail(self, "no metadata after " + std::to_string(st.cfg.stall_timeout.count()) + " s ("
                 + std::to_string(st.connections.size()) + " peers connected, "
                 + std::to_string(st.peers->size()) + " known); giving up",
         true);
    return;
  }
  connect_more(self);
  request_more(self);
  if (st.cfg.status_updates) emit(self, status_update{metadata_status(st, now)});
}

void on_down(magnet_self self, caf::down_msg& dm) {
  auto& st = self->state;
  if (st.torrent && dm.source == st.torrent.address()) {
    // The torrent ended: so does what stands for it.
    self->quit(dm.reason);
    return;
  }
  for (auto it = st.connections.begin(); it != st.connections.end(); ++it) {
    if (it->second.handle.address() != dm.source) continue;
    st.peers->on_closed(it->second.remote, it->second.offered.has_value(), self->clock().now());
    if (st.download) st.download->on_peer_gone(it->first);
    ACTORRENT_LOG(debug, "metadata peer " << it->second.remote.to_string() << " gone: "
                                          << from_caf_error(dm.reason).message);
    st.connections.erase(it);
    break;
  }
  if (st.tracker && dm.source == st.tracker.address()) st.tracker = nullptr;
  request_more(self);
  connect_more(self);
}

void spawn_tracker_for(magnet_self self) {
  auto& st = self->state;
  if (st.cfg.link.trackers.empty()) return;
  tracker_config tc;
  for (const auto& t : st.cfg.link.trackers) tc.tiers.push_back({t});
  tc.info_hash = st.cfg.link.info_hash;
  tc.peer_id = st.cfg.peer_id;
  tc.port = st.cfg.listen_port;
  st.tracker = spawn_tracker(*st.sys, st.net->io(), std::move(tc),
                             caf::actor_cast<tracker_owner_actor>(self));
  self->monitor(st.tracker);
  // Nothing to check before the first announce.
  self->send(st.tracker, ready_atom_v);
}

magnet_actor::behavior_type magnet(magnet_self self, caf::actor_system* sys, net_service* net,
                                   magnet_config cfg, std::vector<caf::actor> listeners) {
  auto& st = self->state;
  st.sys = sys;
  st.net = net;
  st.cfg = std::move(cfg);
  st.listeners = std::move(listeners);
  st.started = self->clock().now();
  st.display_name = st.cfg.link.name.empty() ? st.cfg.link.info_hash.hex() : st.cfg.link.name;
  st.cfg.peer.info_hash = st.cfg.link.info_hash;
  st.cfg.peer.our_id = st.cfg.peer_id;
  st.cfg.peer.listen_port = st.cfg.listen_port;
  self->set_down_handler([self](caf::down_msg& dm) { on_down(self, dm); });

  // Fetched on an earlier run: no peer is needed for the metainfo.
  std::error_code ec;
  if (std::filesystem::exists(st.cfg.torrent_file, ec)) {
    auto saved = load_metainfo(st.cfg.torrent_file);
    if (saved && saved->info_hash == st.cfg.link.info_hash) {
      ACTORRENT_LOG(info, saved->name << ": using the metadata saved in "
                                      << st.cfg.torrent_file.string());
      start_torrent(self, *saved, false);
    } else {
      ACTORRENT_LOG(warning, st.cfg.torrent_file.string()
                               << " is not this magnet link's metainfo ("
                               << (saved ? "another info-hash" : saved.err().message)
                               << "); fetching it again");
    }
  }
  if (!st.torrent && !st.stopping) {
    emit(self, torrent_added{st.cfg.link.info_hash, st.display_name, st.cfg.download_dir.string()});
    st.peers = std::make_unique<peer_list>(peer_list_config{});
    for (auto& p : st.cfg.peers) st.peers->add(p, st.started);
    st.download = std::make_unique<metadata_download>(st.cfg.link.info_hash,
                                                      st.cfg.max_metadata_size);
    spawn_tracker_for(self);
    connect_more(self);
    self->delayed_send(self, 1s, tick_atom_v);
  }

  return {
    // -- connections that fetch metadata
    [self](metadata_atom, peer_key key, std::int64_t size) {
      auto& st = self->state;
      auto it = st.connections.find(key);
      if (it == st.connections.end() || !st.download || st.torrent) return;
      if (auto err = st.download->on_offer(key, size)) {
        ban(self, key, err.message);
        return;
      }
      it->second.offered = size;
      st.peers->on_handshake(it->second.remote);
      emit(self, peer_connected{st.cfg.link.info_hash, it->second.remote.to_string(), false});
      request_more(self);
    },
    [self](metadata_atom, peer_key key, std::uint32_t piece, std::int64_t total,
           std::vector<std::uint8_t>& data) {
      auto& st = self->state;
      if (!st.download || st.torrent || st.connections.count(key) == 0) return;
      if (auto err = st.download->on_piece(key, piece, total, data)) {
        ban(self, key, err.message);
        return;
      }
      if (st.download->complete())
        on_metadata_complete(self);
      else
        request_more(self);
    },
    [self](reject_atom, peer_key key, std::uint32_t piece) {
      auto& st = self->state;
      if (!st.download || st.torrent) return;
      st.download->on_reject(key, piece);
      // Others first; the refusing peer is asked again on the next tick.
      auto it = st.connections.find(key);
      std::optional<std::int64_t> offered;
      if (it != st.connections.end()) std::swap(offered, it->second.offered);
      request_more(self);
      if (it != st.connections.end()) it->second.offered = offered;
    },
    // -- the link's trackers
    [self](peers_atom, std::vector<peer_endpoint>& found) {
      auto& st = self->state;
      if (!st.peers || st.torrent) return;
      for (auto& p : found) st.peers->add(p, self->clock().now());
      connect_more(self);
    },
    [self](tracker_atom, const std::string& tracker, const std::string& text) {
      auto& st = self->state;
      ACTORRENT_LOG(info, st.display_name << ": tracker " << tracker << ": " << text);
      emit(self, tracker_error{st.cfg.link.info_hash, tracker, text});
    },
    [self](tracker_atom, const std::string& tracker, std::int32_t interval, std::uint32_t n,
           std::int64_t, std::int64_t) {
      emit(self, tracker_reply{self->state.cfg.link.info_hash, tracker, n, interval});
    },
    [](stats_atom) {
      // The size is unknown: anything but 0 left, so trackers count us as
      // a downloader and hand out seeds.
      transfer_stats s;
      s.left = 1;
      return s;
    },
    [self](tick_atom) { on_tick(self); },
    // -- standing for the torrent
    [self](const status_request& r) -> caf::result<torrent_status> {
      auto& st = self->state;
      if (st.torrent) return self->delegate(st.torrent, r);
      return metadata_status(st, self->clock().now());
    },
    [self](const pause_request& r) {
      if (self->state.torrent) self->send(self->state.torrent, r);
    },
    [self](const resume_request& r) {
      if (self->state.torrent) self->send(self->state.torrent, r);
    },
    [self](const recheck_request& r) {
      if (self->state.torrent) self->send(self->state.torrent, r);
    },
    // Before the metadata the files are unknown: add_torrent_params carries
    // a selection for then.
    [self](const file_priority_request& r) {
      if (self->state.torrent) self->send(self->state.torrent, r);
    },
    [self](const remove_request& r) -> caf::result<bool> {
      auto& st = self->state;
      if (st.torrent) {
        if (!r.delete_files) return self->delegate(st.torrent, r);
        // The saved metainfo goes with the files, as the resume data does.
        auto rp = self->make_response_promise<bool>();
        self->request(st.torrent, 90s, r)
          .then(
            [self, rp](bool ok) mutable {
              std::error_code ec;
              if (ok) std::filesystem::remove(self->state.cfg.torrent_file, ec);
              rp.deliver(ok);
            },
            [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
        return rp;
      }
      // Nothing is on disk but the saved metainfo, which does not exist yet.
      st.stopping = true;
      close_fetching(self);
      emit(self, torrent_removed{st.cfg.link.info_hash, false});
      self->quit();
      return true;
    },
    [self](stop_atom) -> caf::result<torrent_status> {
      auto& st = self->state;
      if (st.torrent)
        return self->delegate(caf::actor_cast<torrent_actor>(st.torrent), stop_atom_v);
      auto s = metadata_status(st, self->clock().now());
      st.stopping = true;
      close_fetching(self);
      self->quit();
      return s;
    },
  };
}

} // namespace

magnet_actor spawn_magnet(caf::actor_system& sys, net_service& net, magnet_config cfg,
                          std::vector<caf::actor> listeners) {
  return sys.spawn(magnet, &sys, &net, std::move(cfg), std::move(listeners));
}

} // namespace actorrent
