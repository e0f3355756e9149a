#include "peer_actor.hpp"

#include "log.hpp"
#include "wire_decoder.hpp"
#include "wire_encoder.hpp"

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <algorithm>
#include <deque>

namespace actorrent {

namespace {

using clock_type = caf::actor_clock::clock_type;
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
  torrent_actor torrent;

  wire::decoder decoder;
  bool connected = false;
  bool handshaken = false;
  bool peer_choking = true;
  bool am_interested = false;
  bool peer_interested = false;
  bool want_pending = false;
  bool starved = false;  // the PieceManager had no work for us last time

  std::deque<outstanding_request> outstanding;
  std::uint32_t pipeline = 32;
  unsigned snubs = 0;

  time_point started{};
  time_point last_received{};
  time_point last_sent{};
  time_point last_block{};

  std::uint64_t bytes_this_tick = 0;
  double rate = 0;  // payload bytes per second, smoothed

  std::vector<std::uint8_t> out;  // messages encoded by the current handler

  ~peer_state() {
    if (conn) conn->close();
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
  self->request(st.pm, 30s, want_atom_v, st.key, static_cast<std::uint32_t>(room))
    .then(
      [self](std::vector<block_ref>& blocks) {
        auto& st = self->state;
        st.want_pending = false;
        st.starved = blocks.empty();
        if (st.peer_choking) {
          // Choked while the answer was on its way: the requests would be
          // ignored by the peer, so they go straight back.
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
      },
      [self](caf::error&) { self->state.want_pending = false; });
}

void update_interest(peer_self self, bool interesting) {
  auto& st = self->state;
  if (interesting && !st.am_interested) {
    st.am_interested = true;
    wire::append(st.out, wire::interested{});
    flush(self);
  }
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
  st.handshaken = true;
  if (st.torrent) self->send(st.torrent, connected_atom_v, st.key);
  self->request(st.pm, 30s, join_atom_v, st.key, caf::actor_cast<peer_actor>(self))
    .then(
      [self](std::vector<std::uint8_t>& ours) {
        auto& st = self->state;
        if (ours.empty()) return;
        bitfield bits;
        if (!bits.assign_wire(ours, st.cfg.num_pieces)) return;
        wire::append(st.out, wire::bitfield{ours});
        flush(self);
      },
      [self](caf::error& err) {
        quit_with(self, errc::cancelled, "piece manager unavailable: " + from_caf_error(err).message);
      });
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
  auto now = self->clock().now();
  st.last_block = now;
  st.snubs = 0;
  st.bytes_this_tick += p.data.size();
  self->send(st.pm, block_atom_v, st.key, b, std::vector<std::uint8_t>(p.data.begin(), p.data.end()));
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
        st.peer_interested = true;
      } else if constexpr (std::is_same_v<T, wire::not_interested>) {
        st.peer_interested = false;
      } else if constexpr (std::is_same_v<T, wire::have>) {
        self->request(st.pm, 30s, have_atom_v, st.key, m.piece)
          .then([self](bool interesting) { update_interest(self, interesting); },
                [](caf::error&) {});
      } else if constexpr (std::is_same_v<T, wire::bitfield>) {
        self->request(st.pm, 30s, bitfield_atom_v, st.key,
                      std::vector<std::uint8_t>(m.bits.begin(), m.bits.end()))
          .then([self](bool interesting) { update_interest(self, interesting); },
                [](caf::error&) {});
      } else if constexpr (std::is_same_v<T, wire::piece>) {
        on_block(self, m);
      } else {
        // keep-alive, request, cancel, port, unknown: nothing to do while we
        // do not upload (requests from a choked peer are ignored per BEP 3).
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
    if (self->getf(caf::abstract_actor::is_terminated_flag)) return;
  }
  flush(self);
  request_work(self);
}

void on_tick(peer_self self) {
  auto& st = self->state;
  auto now = self->clock().now();
  // Adapt the pipeline to what this peer actually delivers: enough requests
  // for `pipeline_seconds` of data, growing at most twofold per second.
  st.rate = st.rate * 0.5 + static_cast<double>(st.bytes_this_tick) * 0.5;
  st.bytes_this_tick = 0;
  auto wanted = static_cast<std::uint32_t>(std::min<double>(
    st.rate * st.cfg.pipeline_seconds / st.cfg.max_block, st.cfg.max_pipeline));
  if (wanted > st.pipeline)
    st.pipeline = std::min({wanted, st.pipeline * 2, st.cfg.max_pipeline});
  else if (st.rate > 0)
    st.pipeline = std::max(wanted, st.cfg.min_pipeline);

  if (!st.handshaken) {
    if (st.connected && now - st.started > st.cfg.handshake_timeout + st.cfg.connect_timeout) {
      quit_with(self, errc::timeout, "no handshake");
      return;
    }
  } else {
    if (now - st.last_received > st.cfg.idle_timeout) {
      quit_with(self, errc::timeout, "peer idle");
      return;
    }
    if (!st.outstanding.empty() && now - st.last_block > st.cfg.request_timeout) {
      // Snubbed: let other peers fetch these blocks.
      give_back_all(self);
      st.pipeline = st.cfg.min_pipeline;
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
  request_work(self);
  self->delayed_send(self, 1s, tick_atom_v);
}

peer_connection_actor::behavior_type peer_behavior(peer_self self, peer_key key,
                                                   std::shared_ptr<tcp_connection> conn,
                                                   peer_endpoint remote, piece_manager_actor pm,
                                                   torrent_actor torrent, peer_config cfg) {
  auto& st = self->state;
  st.key = key;
  st.conn = conn;
  st.remote = remote;
  st.pm = pm;
  st.torrent = torrent;
  st.cfg = cfg;
  st.pipeline = cfg.initial_pipeline;
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
  conn->connect(remote, cfg.connect_timeout, std::move(cb));
  self->delayed_send(self, 1s, tick_atom_v);

  return {
    [self](connected_atom) {
      auto& st = self->state;
      st.connected = true;
      st.started = self->clock().now();
      wire::handshake hs;
      hs.info_hash = st.cfg.info_hash;
      hs.peer_id = st.cfg.our_id;
      wire::append_handshake(st.out, hs);
      flush(self);
    },
    [self](data_atom, std::vector<std::uint8_t>& chunk) { on_data(self, chunk); },
    [self](closed_atom, const std::string& why) { quit_with(self, errc::io_error, why); },
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
      if (!st.handshaken) return;
      wire::append(st.out, wire::have{piece});
      flush(self);
    },
    [self](wake_atom) {
      self->state.starved = false;
      request_work(self);
    },
    [self](stop_atom) { quit_with(self, errc::cancelled, "stopped"); },
  };
}

} // namespace

peer_connection_actor spawn_outgoing_peer(caf::actor_system& sys, peer_key key,
                                          std::shared_ptr<tcp_connection> conn,
                                          peer_endpoint remote, piece_manager_actor pm,
                                          torrent_actor torrent, peer_config cfg) {
  return sys.spawn(peer_behavior, key, std::move(conn), std::move(remote), std::move(pm),
                   std::move(torrent), std::move(cfg));
}

} // namespace actorrent
