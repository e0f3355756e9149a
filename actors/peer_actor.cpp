#include "peer_actor.hpp"

#include "log.hpp"
#include "wire_decoder.hpp"
#include "wire_encoder.hpp"

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <deque>
#include <optional>

namespace actorrent {

namespace {

using time_point = caf::actor_clock::time_point;
using namespace std::chrono_literals;

struct outstanding_request {
  block_ref block;
  time_point sent;
};

struct peer_state {
  static inline const char* name = "actorrent.peer";

  peer_key key = 0;
  peer_config cfg;
  std::shared_ptr<tcp_connection> conn;
  peer_endpoint remote;
  piece_manager_actor pm;
  disk_writer_actor disk;
  torrent_actor torrent;
  bool incoming = false;

  wire::decoder decoder;
  bool connected = false;
  bool handshaken = false;

  // Downloading from the peer.
  bool peer_choking = true;
  bool am_interested = false;
  bool want_pending = false;
  time_point want_sent{};  // when the pending want went out
  bool starved = false;  // the PieceManager had no work for us last time
  std::deque<outstanding_request> outstanding;
  std::uint32_t pipeline = 32;
  unsigned snubs = 0;
  unsigned late_rounds = 0;  // ticks on which requests timed out one by one
  bool snubbed = false;

  // Uploading to the peer.
  bool am_choking = true;
  bool peer_interested = false;
  std::deque<block_ref> upload_queue;
  struct cached_piece {
    std::uint32_t piece;
    std::vector<std::uint8_t> data;
  };
  std::deque<cached_piece> piece_cache;  // the pieces being served
  std::vector<std::uint32_t> loading;    // piece reads in flight
  std::size_t choked_requests = 0;
  bool waiting_for_drain = false;

  bitfield ours;      // what we told the peer we have
  bitfield peer_has;  // what the peer told us it has

  time_point started{};
  time_point last_received{};
  time_point last_sent{};
  time_point last_block{};

  peer_stats stats;
  std::uint64_t down_this_tick = 0;
  std::uint64_t up_this_tick = 0;

  std::vector<std::uint8_t> out;  // messages encoded by the current handler

  ~peer_state() {
    if (conn) conn->close();
    // The final figures reach the torrent before the news of our exit.
    if (torrent && handshaken) caf::anon_send(torrent, peer_stats_atom_v, key, stats);
  }
};

using peer_self = peer_connection_actor::stateful_pointer<peer_state>;

void flush(peer_self self) {
  auto& st = self->state;
  if (st.out.empty() || !st.conn) return;
  st.conn->send(std::move(st.out));
  st.out = {};
  st.last_sent = self->clock().now();
}

void quit_with(peer_self self, errc code, std::string why) {
  ACTORRENT_LOG(info, "peer " << self->state.remote.to_string() << ": " << why);
  self->quit(to_caf_error(error{code, std::move(why)}));
}

bool terminated(peer_self self) { return self->getf(caf::abstract_actor::is_terminated_flag); }

void report(peer_self self) {
  auto& st = self->state;
  if (st.torrent && st.handshaken) self->send(st.torrent, peer_stats_atom_v, st.key, st.stats);
}

// -- downloading --------------------------------------------------------------

void give_back_all(peer_self self) {
  auto& st = self->state;
  if (st.outstanding.empty()) return;
  std::vector<block_ref> blocks;
  blocks.reserve(st.outstanding.size());
  for (auto& r : st.outstanding) blocks.push_back(r.block);
  st.outstanding.clear();
  self->send(st.pm, drop_atom_v, st.key, std::move(blocks));
}

void request_work(peer_self self) {
  auto& st = self->state;
  if (!st.handshaken || st.peer_choking || !st.am_interested || st.want_pending) return;
  auto room = st.pipeline > st.outstanding.size() ? st.pipeline - st.outstanding.size() : 0;
  // Ask in batches: one round trip to the PieceManager per few blocks would
  // cost more than the blocks themselves on a fast link.
  if (room == 0 || (!st.outstanding.empty() && room < std::max<std::size_t>(1, st.pipeline / 4)))
    return;
  st.want_pending = true;
  st.want_sent = self->clock().now();
  self->send(st.pm, want_atom_v, st.key, static_cast<std::uint32_t>(room));
}

/// The PieceManager's answer to a want, however late it comes.
void on_work(peer_self self, std::vector<block_ref>& blocks) {
  auto& st = self->state;
  st.want_pending = false;
  st.starved = blocks.empty();
  if (st.peer_choking || !st.am_interested) {
    // Choked (or no longer interested) while the answer was on its way: the
    // requests would be ignored by the peer, so they go straight back.
    if (!blocks.empty()) self->send(st.pm, drop_atom_v, st.key, std::move(blocks));
    return;
  }
  auto now = self->clock().now();
  if (st.outstanding.empty()) st.last_block = now;
  for (auto& b : blocks) {
    wire::append(st.out, wire::request{b.piece, b.begin, b.length});
    st.outstanding.push_back({b, now});
  }
  flush(self);
}

void set_interest(peer_self self, bool interesting) {
  auto& st = self->state;
  if (interesting == st.am_interested) return;
  st.am_interested = interesting;
  if (interesting)
    wire::append(st.out, wire::interested{});
  else
    wire::append(st.out, wire::not_interested{});
  flush(self);
  request_work(self);
}

void on_block(peer_self self, const wire::piece& p) {
  auto& st = self->state;
  auto it = std::find_if(st.outstanding.begin(), st.outstanding.end(), [&](const auto& r) {
    return r.block.piece == p.piece && r.block.begin == p.begin;
  });
  if (it == st.outstanding.end() || it->block.length != p.data.size()) {
    // Unrequested, or cancelled by us in end-game after the peer sent it.
    return;
  }
  block_ref b = it->block;
  st.outstanding.erase(it);
  st.last_block = self->clock().now();
  st.snubs = 0;
  st.snubbed = false;
  st.down_this_tick += p.data.size();
  st.stats.downloaded += p.data.size();
  self->send(st.pm, block_atom_v, st.key, b, std::vector<std::uint8_t>(p.data.begin(), p.data.end()));
}

/// Both sides have everything: the connection is of no use to either.
bool both_seeds(const peer_state& st) {
  return !st.ours.empty() && st.ours.all() && !st.peer_has.empty() && st.peer_has.all();
}

// -- uploading ----------------------------------------------------------------

void serve(peer_self self);

const std::vector<std::uint8_t>* cached(const peer_state& st, std::uint32_t piece) {
  for (auto& e : st.piece_cache)
    if (e.piece == piece) return &e.data;
  return nullptr;
}

/// Pieces kept per peer: about 1 MiB, at least one piece.
std::size_t cache_limit(const peer_state& st) {
  auto by_bytes = static_cast<std::size_t>(st.cfg.upload_cache_bytes
                                           / std::max<std::int64_t>(1, st.cfg.piece_length));
  return std::clamp<std::size_t>(by_bytes, 1, st.cfg.cached_pieces);
}

/// Reads a whole piece for the requests queued against it: one disk round
/// trip serves all its blocks, instead of one per 16 KiB.
void load_piece(peer_self self, std::uint32_t piece) {
  auto& st = self->state;
  st.loading.push_back(piece);
  auto size = std::min(st.cfg.piece_length,
                       st.cfg.total_length - static_cast<std::int64_t>(piece) * st.cfg.piece_length);
  self->request(st.disk, 60s, read_atom_v, piece, std::uint32_t{0}, static_cast<std::uint32_t>(size))
    .then(
      [self, piece](std::vector<std::uint8_t>& data) {
        auto& st = self->state;
        std::erase(st.loading, piece);
        // Cancelled or choked meanwhile: keep nothing nobody asked for.
        bool wanted = std::any_of(st.upload_queue.begin(), st.upload_queue.end(),
                                  [piece](const block_ref& r) { return r.piece == piece; });
        if (wanted) {
          st.piece_cache.push_back({piece, std::move(data)});
          if (st.piece_cache.size() > cache_limit(st)) st.piece_cache.pop_front();
        }
        serve(self);
      },
      [self, piece](caf::error& err) {
        std::erase(self->state.loading, piece);
        quit_with(self, errc::io_error, "cannot read a piece to upload: "
                                          + from_caf_error(err).to_string());
      });
}

void serve(peer_self self) {
  auto& st = self->state;
  while (!st.am_choking && !st.upload_queue.empty()) {
    if (st.conn->queued_bytes() + st.out.size() >= st.cfg.send_high_water) {
      if (!st.waiting_for_drain) {
        st.waiting_for_drain = true;
        st.conn->notify_when_drained(st.cfg.send_high_water / 2);
      }
      break;
    }
    auto r = st.upload_queue.front();
    auto* data = cached(st, r.piece);
    if (data == nullptr) break;
    st.upload_queue.pop_front();
    wire::append_piece_header(st.out, r.piece, r.begin, r.length);
    st.out.insert(st.out.end(), data->begin() + r.begin, data->begin() + r.begin + r.length);
    st.up_this_tick += r.length;
    st.stats.uploaded += r.length;
  }
  flush(self);
  // Read ahead: the next pieces asked for are loaded while this one is sent.
  if (st.am_choking) return;
  for (auto& r : st.upload_queue) {
    if (st.loading.size() >= std::min(st.cfg.piece_reads, cache_limit(st))) break;
    if (cached(st, r.piece) == nullptr
        && std::find(st.loading.begin(), st.loading.end(), r.piece) == st.loading.end())
      load_piece(self, r.piece);
  }
}

void on_request(peer_self self, const wire::request& m) {
  auto& st = self->state;
  if (m.length == 0 || m.length > std::min<std::uint32_t>(st.cfg.max_request, 128 * 1024)) {
    quit_with(self, errc::wire_protocol, "request of " + std::to_string(m.length) + " bytes");
    return;
  }
  if (m.piece >= st.cfg.num_pieces || st.ours.empty() || !st.ours.test(m.piece)) {
    quit_with(self, errc::wire_protocol, "request for piece " + std::to_string(m.piece)
                                           + " that we do not have");
    return;
  }
  auto piece_size = std::min(st.cfg.piece_length,
                             st.cfg.total_length - static_cast<std::int64_t>(m.piece) * st.cfg.piece_length);
  if (static_cast<std::int64_t>(m.begin) + m.length > piece_size) {
    quit_with(self, errc::wire_protocol, "request beyond the end of piece " + std::to_string(m.piece));
    return;
  }
  if (st.am_choking) {
    // BEP 3: requests from a choked peer are dropped. A few arrive after
    // every choke; a peer that keeps sending them is not playing fair.
    if (++st.choked_requests > st.cfg.max_choked_requests)
      quit_with(self, errc::wire_protocol, "keeps requesting while choked");
    return;
  }
  if (st.upload_queue.size() >= st.cfg.max_upload_queue) {
    quit_with(self, errc::wire_limit, "more than " + std::to_string(st.cfg.max_upload_queue)
                                        + " requests queued");
    return;
  }
  st.upload_queue.push_back({m.piece, m.begin, m.length});
  serve(self);
}

void on_cancel(peer_self self, const wire::cancel& m) {
  auto& st = self->state;
  block_ref b{m.piece, m.begin, m.length};
  auto it = std::find(st.upload_queue.begin(), st.upload_queue.end(), b);
  if (it != st.upload_queue.end()) st.upload_queue.erase(it);
}

void set_choking(peer_self self, bool choke) {
  auto& st = self->state;
  if (choke == st.am_choking || !st.handshaken) return;
  st.am_choking = choke;
  if (choke) {
    st.upload_queue.clear();
    st.piece_cache.clear();
    st.choked_requests = 0;
    wire::append(st.out, wire::choke{});
  } else {
    wire::append(st.out, wire::unchoke{});
  }
  flush(self);
}

// -- the wire -----------------------------------------------------------------

void send_handshake(peer_self self) {
  auto& st = self->state;
  wire::handshake hs;
  hs.info_hash = st.cfg.info_hash;
  hs.peer_id = st.cfg.our_id;
  wire::append_handshake(st.out, hs);
  flush(self);
}

void on_handshake(peer_self self, const wire::handshake& hs) {
  auto& st = self->state;
  if (hs.info_hash != st.cfg.info_hash) {
    quit_with(self, errc::wire_protocol, "handshake for another torrent");
    return;
  }
  if (hs.peer_id == st.cfg.our_id) {
    quit_with(self, errc::wire_protocol, "connected to ourselves");
    return;
  }
  if (st.incoming) send_handshake(self);
  st.handshaken = true;
  if (st.torrent) self->send(st.torrent, connected_atom_v, st.key);
  self->request(st.pm, 30s, join_atom_v, st.key, st.remote.host, caf::actor_cast<peer_actor>(self))
    .then(
      [self](std::vector<std::uint8_t>& ours) {
        auto& st = self->state;
        if (ours.empty() || !st.ours.assign_wire(ours, st.cfg.num_pieces)) {
          st.ours = bitfield(st.cfg.num_pieces);
          return;
        }
        wire::append(st.out, wire::bitfield{ours});
        flush(self);
      },
      [self](caf::error& err) {
        quit_with(self, errc::cancelled, "piece manager unavailable: " + from_caf_error(err).message);
      });
}

void on_message(peer_self self, const wire::message& msg) {
  auto& st = self->state;
  std::visit(
    [&](const auto& m) {
      using T = std::decay_t<decltype(m)>;
      if constexpr (std::is_same_v<T, wire::choke>) {
        st.peer_choking = true;
        // Without the fast extension a choke discards every pending request.
        give_back_all(self);
      } else if constexpr (std::is_same_v<T, wire::unchoke>) {
        st.peer_choking = false;
        st.last_block = self->clock().now();
      } else if constexpr (std::is_same_v<T, wire::interested>) {
        if (!st.peer_interested) {
          st.peer_interested = st.stats.peer_interested = true;
          report(self);
        }
      } else if constexpr (std::is_same_v<T, wire::not_interested>) {
        if (st.peer_interested) {
          st.peer_interested = st.stats.peer_interested = false;
          st.upload_queue.clear();
          report(self);
        }
      } else if constexpr (std::is_same_v<T, wire::have>) {
        // Only news counts: a repeated HAVE costs nothing, so a flood of them
        // cannot turn into work or memory here or at the PieceManager.
        if (st.peer_has.test(m.piece)) return;
        st.peer_has.set(m.piece);
        st.stats.seed = st.peer_has.all();
        if (both_seeds(st)) {
          quit_with(self, errc::cancelled, "both sides are seeds");
          return;
        }
        // At most one request per piece and peer: bounded by the piece count.
        self->request(st.pm, 30s, have_atom_v, st.key, m.piece)
          .then([self](bool interesting) { if (interesting) set_interest(self, true); },
                [](caf::error&) {});
      } else if constexpr (std::is_same_v<T, wire::bitfield>) {
        // BEP 3 says first and once, but aria2 sends it again as it
        // progresses; its cost is linear in the bytes received, so accept it.
        st.peer_has.assign_wire(m.bits, st.cfg.num_pieces);
        st.stats.seed = st.peer_has.all();
        if (both_seeds(st)) {
          quit_with(self, errc::cancelled, "both sides are seeds");
          return;
        }
        self->request(st.pm, 30s, bitfield_atom_v, st.key,
                      std::vector<std::uint8_t>(m.bits.begin(), m.bits.end()))
          .then([self](bool interesting) { set_interest(self, interesting); },
                [](caf::error&) {});
      } else if constexpr (std::is_same_v<T, wire::piece>) {
        on_block(self, m);
      } else if constexpr (std::is_same_v<T, wire::request>) {
        on_request(self, m);
      } else if constexpr (std::is_same_v<T, wire::cancel>) {
        on_cancel(self, m);
      } else {
        // keep-alive, port, unknown (extension messages): nothing to do.
      }
    },
    msg);
}

void on_data(peer_self self, std::vector<std::uint8_t>& chunk) {
  auto& st = self->state;
  st.last_received = self->clock().now();
  st.decoder.feed(chunk);
  if (st.conn) st.conn->ack();
  for (;;) {
    auto item = st.decoder.next();
    if (!item) {
      quit_with(self, item.err().code, item.err().message);
      return;
    }
    if (!item->has_value()) break;
    auto& value = **item;
    if (auto* hs = std::get_if<wire::handshake>(&value)) {
      on_handshake(self, *hs);
    } else if (st.handshaken) {
      on_message(self, std::get<wire::message>(value));
    }
    if (terminated(self)) return;
  }
  flush(self);
  request_work(self);
}

void on_tick(peer_self self) {
  auto& st = self->state;
  auto now = self->clock().now();
  // Rates smoothed over a few seconds.
  st.stats.download_rate = st.stats.download_rate * 0.5 + static_cast<double>(st.down_this_tick) * 0.5;
  st.stats.upload_rate = st.stats.upload_rate * 0.5 + static_cast<double>(st.up_this_tick) * 0.5;
  st.down_this_tick = st.up_this_tick = 0;
  // Adapt the pipeline to what this peer actually delivers: enough requests
  // for `pipeline_seconds` of data, growing at most twofold per second.
  auto wanted = static_cast<std::uint32_t>(std::min<double>(
    st.stats.download_rate * st.cfg.pipeline_seconds / st.cfg.max_block, st.cfg.max_pipeline));
  if (wanted > st.pipeline)
    st.pipeline = std::min({wanted, st.pipeline * 2, st.cfg.max_pipeline});
  else if (st.stats.download_rate > 0)
    st.pipeline = std::max(wanted, st.cfg.min_pipeline);

  if (!st.handshaken) {
    if (now - st.started > st.cfg.handshake_timeout + st.cfg.connect_timeout) {
      quit_with(self, errc::timeout, "no handshake");
      return;
    }
  } else {
    if (now - st.last_received > st.cfg.idle_timeout) {
      quit_with(self, errc::timeout, "peer idle");
      return;
    }
    // A request unanswered for long goes back to the pool even while other
    // blocks arrive: a peer must not hold pieces hostage by withholding one
    // block of each.
    if (!st.outstanding.empty() && now - st.last_block <= st.cfg.request_timeout) {
      std::vector<block_ref> late;
      for (auto it = st.outstanding.begin(); it != st.outstanding.end();) {
        if (now - it->sent > 2 * st.cfg.request_timeout) {
          late.push_back(it->block);
          wire::append(st.out, wire::cancel{it->block.piece, it->block.begin, it->block.length});
          it = st.outstanding.erase(it);
        } else {
          ++it;
        }
      }
      if (!late.empty()) {
        flush(self);
        self->send(st.pm, drop_atom_v, st.key, std::move(late));
        if (++st.late_rounds >= 3) {
          quit_with(self, errc::timeout, "peer keeps requests unanswered");
          return;
        }
      }
    }
    if (!st.outstanding.empty() && now - st.last_block > st.cfg.request_timeout) {
      // Snubbed: let other peers fetch these blocks.
      give_back_all(self);
      st.pipeline = st.cfg.min_pipeline;
      st.snubbed = true;
      if (++st.snubs >= 3) {
        quit_with(self, errc::timeout, "peer stopped sending blocks");
        return;
      }
    }
    if (now - st.last_sent > st.cfg.keepalive_interval) {
      wire::append(st.out, wire::keep_alive{});
      flush(self);
    }
  }
  // A PieceManager busy for long is no reason to drop a peer: ask again (an
  // answer to the first want that still comes is used like any other).
  if (st.want_pending && now - st.want_sent > st.cfg.want_timeout) st.want_pending = false;
  st.stats.snubbed = st.snubbed;
  report(self);
  request_work(self);
  self->delayed_send(self, 1s, tick_atom_v);
}

peer_connection_actor::behavior_type peer_behavior(peer_self self, peer_key key,
                                                   std::shared_ptr<tcp_connection> conn,
                                                   peer_endpoint remote, piece_manager_actor pm,
                                                   disk_writer_actor disk, torrent_actor torrent,
                                                   peer_config cfg,
                                                   std::vector<std::uint8_t> handshake) {
  auto& st = self->state;
  st.key = key;
  st.conn = conn;
  st.remote = remote;
  st.pm = pm;
  st.disk = disk;
  st.torrent = torrent;
  st.cfg = cfg;
  st.incoming = !handshake.empty();
  st.pipeline = cfg.initial_pipeline;
  st.ours = bitfield(cfg.num_pieces);
  st.peer_has = bitfield(cfg.num_pieces);
  wire::decoder_limits lim;
  lim.max_block = cfg.max_block;
  lim.num_pieces = cfg.num_pieces;
  st.decoder = wire::decoder(lim, true);
  st.started = st.last_received = st.last_sent = st.last_block = self->clock().now();

  // The PieceManager must hear of every exit, however it happens, so the
  // requests of this peer go back to the pool.
  self->attach_functor([pm, key](const caf::error&) { caf::anon_send(pm, leave_atom_v, key); });

  auto handle = caf::actor_cast<peer_connection_actor>(self);
  tcp_connection::callbacks cb;
  cb.on_connected = [handle] { caf::anon_send(handle, connected_atom_v); };
  cb.on_data = [handle](std::vector<std::uint8_t> chunk) {
    caf::anon_send(handle, data_atom_v, std::move(chunk));
  };
  cb.on_closed = [handle](error err) { caf::anon_send(handle, closed_atom_v, err.to_string()); };
  cb.on_drained = [handle] { caf::anon_send(handle, drained_atom_v); };
  if (st.incoming) {
    st.connected = true;
    // The handshake was read before this actor existed: it goes first into
    // the mailbox, ahead of anything the socket delivers next.
    caf::anon_send(handle, data_atom_v, std::move(handshake));
    conn->start(std::move(cb));
  } else {
    conn->connect(remote, cfg.connect_timeout, std::move(cb));
  }
  self->delayed_send(self, 1s, tick_atom_v);

  return {
    [self](connected_atom) {
      auto& st = self->state;
      st.connected = true;
      st.started = self->clock().now();
      send_handshake(self);
    },
    [self](data_atom, std::vector<std::uint8_t>& chunk) { on_data(self, chunk); },
    [self](closed_atom, const std::string& why) { quit_with(self, errc::io_error, why); },
    [self](drained_atom) {
      self->state.waiting_for_drain = false;
      serve(self);
    },
    [self](tick_atom) { on_tick(self); },
    [self](cancel_atom, block_ref b) {
      auto& st = self->state;
      auto it = std::find_if(st.outstanding.begin(), st.outstanding.end(),
                             [&](const auto& r) { return r.block == b; });
      if (it == st.outstanding.end()) return;
      st.outstanding.erase(it);
      wire::append(st.out, wire::cancel{b.piece, b.begin, b.length});
      flush(self);
    },
    [self](have_atom, std::uint32_t piece) {
      auto& st = self->state;
      if (piece >= st.cfg.num_pieces || st.ours.test(piece)) return;
      st.ours.set(piece);
      if (!st.handshaken) return;
      wire::append(st.out, wire::have{piece});
      flush(self);
      if (st.ours.all()) {
        if (st.peer_has.all()) {
          quit_with(self, errc::cancelled, "both sides are seeds");
          return;
        }
        set_interest(self, false);
      }
    },
    [self](wake_atom) {
      self->state.starved = false;
      request_work(self);
    },
    [self](work_atom, std::vector<block_ref>& blocks) { on_work(self, blocks); },
    [self](choke_atom) { set_choking(self, true); },
    [self](unchoke_atom) {
      set_choking(self, false);
      serve(self);
    },
    [self](stop_atom) { quit_with(self, errc::cancelled, "stopped"); },
  };
}

} // namespace

peer_connection_actor spawn_outgoing_peer(caf::actor_system& sys, peer_key key,
                                          std::shared_ptr<tcp_connection> conn,
                                          peer_endpoint remote, piece_manager_actor pm,
                                          disk_writer_actor disk, torrent_actor torrent,
                                          peer_config cfg) {
  return sys.spawn(peer_behavior, key, std::move(conn), std::move(remote), std::move(pm),
                   std::move(disk), std::move(torrent), std::move(cfg),
                   std::vector<std::uint8_t>{});
}

peer_connection_actor spawn_incoming_peer(caf::actor_system& sys, peer_key key,
                                          std::shared_ptr<tcp_connection> conn,
                                          peer_endpoint remote, piece_manager_actor pm,
                                          disk_writer_actor disk, torrent_actor torrent,
                                          peer_config cfg, std::vector<std::uint8_t> handshake) {
  return sys.spawn(peer_behavior, key, std::move(conn), std::move(remote), std::move(pm),
                   std::move(disk), std::move(torrent), std::move(cfg), std::move(handshake));
}

} // namespace actorrent
