#include "peer_actor.hpp"

#include "log.hpp"
#include "peer_client.hpp"
#include "peer_protocol.hpp"
#include "wire_decoder.hpp"

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <functional>
#include <optional>

namespace actorrent {

namespace {

using namespace std::chrono_literals;

/// Where the connection's bytes go: a TCP socket, or a mock peer of the
/// simulation harness (an actor, maybe in another process).
class peer_link {
public:
  virtual ~peer_link() = default;
  virtual void send(std::vector<std::uint8_t> bytes) = 0;
  /// A chunk of received bytes was decoded (flow control); its buffer may
  /// be read into again.
  virtual void ack(std::vector<std::uint8_t> spent) = 0;
  virtual std::size_t queued_bytes() const = 0;
  /// Sends drained_atom to the actor when the queue is below `below`.
  virtual void notify_when_drained(std::size_t below) = 0;
  virtual void close() = 0;
};

class tcp_link final : public peer_link {
public:
  explicit tcp_link(std::shared_ptr<tcp_connection> conn) : conn_(std::move(conn)) {}
  void send(std::vector<std::uint8_t> bytes) override { conn_->send(std::move(bytes)); }
  void ack(std::vector<std::uint8_t> spent) override { conn_->ack(std::move(spent)); }
  std::size_t queued_bytes() const override { return conn_->queued_bytes(); }
  void notify_when_drained(std::size_t below) override { conn_->notify_when_drained(below); }
  void close() override { conn_->close(); }

private:
  std::shared_ptr<tcp_connection> conn_;
};

// The actor owns the link and the decoder and translates: bytes and
// answers in, the protocol's actions out. Every decision is peer_protocol's.
struct peer_state {
  static inline const char* name = "actorrent.peer";

  peer_key key = 0;
  std::unique_ptr<peer_link> conn;
  std::function<void(const std::string&, std::uint16_t)> dht_node;  // a peer's PORT goes there
  peer_endpoint remote;
  piece_manager_actor pm;
  disk_writer_actor disk;
  torrent_actor torrent;
  metadata_owner_actor meta_owner;  // only for a connection that fetches metadata
  bool incoming = false;
  bool connected = false;

  wire::decoder decoder;
  std::uint32_t max_block = 0;
  bool split = false;  // the link splits PIECE payloads apart (TCP)
  std::optional<peer_protocol> proto;

  ~peer_state() {
    if (conn) conn->close();
    // The final figures reach the torrent before the news of our exit.
    if (torrent && proto && proto->handshaken())
      caf::anon_send(torrent, peer_stats_atom_v, key, proto->stats());
  }
};

using peer_self = peer_connection_actor::stateful_pointer<peer_state>;

void quit_with(peer_self self, const error& why) {
  auto& st = self->state;
  ACTORRENT_LOG(info, "peer " << st.remote.to_string() << ": " << why.message);
  // The last figures go out before the exit: the torrent drops a connection
  // when it hears of the exit, and a peer banned within its first second
  // would otherwise never have its bytes counted.
  if (st.torrent && st.proto && st.proto->handshaken())
    self->send(st.torrent, peer_stats_atom_v, st.key, st.proto->stats());
  self->quit(to_caf_error(why));
}

bool terminated(peer_self self) { return self->getf(caf::abstract_actor::is_terminated_flag); }

std::size_t queued(const peer_state& st) { return st.conn ? st.conn->queued_bytes() : 0; }

/// Carries out what the protocol asked for, in an order that keeps the
/// PieceManager's view right: blocks before the drops that follow them,
/// everything before closing.
void act(peer_self self) {
  auto& st = self->state;
  auto& a = st.proto->pending();
  for (auto& b : a.blocks) self->send(st.pm, block_atom_v, st.key, b.ref, std::move(b.data));
  if (!a.drop.empty()) self->send(st.pm, drop_atom_v, st.key, std::move(a.drop));
  if (a.joined) {
    if (st.proto->fast()) {
      const auto& id = st.proto->remote_id();
      ACTORRENT_LOG(info, "peer " << st.remote.to_string() << " ("
                            << client_from_peer_id(std::string_view(
                                 reinterpret_cast<const char*>(id.data()), id.size()))
                            << "): fast extension (BEP 6)");
    }
    if (st.torrent) {
      const auto& id = st.proto->remote_id();
      self->send(st.torrent, connected_atom_v, st.key, std::string(id.begin(), id.end()));
    }
    self->request(st.pm, 30s, join_atom_v, st.key, st.remote.host, caf::actor_cast<peer_actor>(self))
      .then(
        [self](std::vector<std::uint8_t>& ours) {
          self->state.proto->on_joined(ours, self->clock().now());
          act(self);
        },
        [self](caf::error& err) {
          quit_with(self, {errc::cancelled, "piece manager unavailable: " + from_caf_error(err).message});
        });
  }
  if (a.bitfield) {
    self->request(st.pm, 30s, bitfield_atom_v, st.key, std::move(*a.bitfield))
      .then(
        [self](bool interesting) {
          self->state.proto->on_bitfield_answer(interesting, self->clock().now());
          act(self);
        },
        [](caf::error&) {});
  }
  for (auto piece : a.haves) {
    self->request(st.pm, 30s, have_atom_v, st.key, piece)
      .then(
        [self](bool interesting) {
          self->state.proto->on_have_answer(interesting, self->clock().now());
          act(self);
        },
        [](caf::error&) {});
  }
  for (auto r : a.load) {
    // One disk round trip serves the blocks asked for in a piece.
    self->request(st.disk, 60s, read_atom_v, r.piece, r.begin, r.length)
      .then(
        [self, piece = r.piece, begin = r.begin](std::vector<std::uint8_t>& data) {
          auto& st = self->state;
          st.proto->on_piece_loaded(piece, begin, std::move(data), self->clock().now(), queued(st));
          act(self);
        },
        [self](caf::error& err) {
          quit_with(self, {errc::io_error,
                           "cannot read a piece to upload: " + from_caf_error(err).to_string()});
        });
  }
  if (st.meta_owner) {
    if (a.metadata_offer) self->send(st.meta_owner, metadata_atom_v, st.key, *a.metadata_offer);
    for (auto& p : a.metadata_pieces)
      self->send(st.meta_owner, metadata_atom_v, st.key, p.piece, p.total_size, std::move(p.data));
    for (auto piece : a.metadata_rejects) self->send(st.meta_owner, reject_atom_v, st.key, piece);
  }
  if (a.dht_node_port && st.dht_node) st.dht_node(st.remote.host, *a.dht_node_port);
  if (st.torrent) {
    if (a.remote_listen_port) self->send(st.torrent, pex_atom_v, st.key, *a.remote_listen_port);
    if (!a.pex_learned.empty()) self->send(st.torrent, pex_atom_v, st.key, std::move(a.pex_learned));
    if (a.pex_due) {
      self->request(st.torrent, 10s, pex_atom_v, st.key)
        .then(
          [self](std::vector<peer_endpoint>& peers, std::vector<std::uint8_t>& flags) {
            std::vector<pex_peer> connected;
            for (std::size_t i = 0; i < peers.size() && i < flags.size(); ++i)
              connected.push_back({std::move(peers[i]), flags[i]});
            self->state.proto->on_pex_peers(connected, self->clock().now());
            act(self);
          },
          [](caf::error&) {});  // a busy torrent: the next interval tells the same
    }
  }
  if (a.notify_drained_below && st.conn) st.conn->notify_when_drained(*a.notify_drained_below);
  for (auto piece : a.suggests) self->send(st.pm, suggest_atom_v, st.key, piece);
  if (a.want && a.want_pieces.empty()) self->send(st.pm, want_atom_v, st.key, *a.want);
  if (a.want && !a.want_pieces.empty())
    self->send(st.pm, want_atom_v, st.key, *a.want, std::move(a.want_pieces));
  if (!a.send.empty() && st.conn) st.conn->send(std::move(a.send));
  if (a.report && st.torrent && st.proto->handshaken())
    self->send(st.torrent, peer_stats_atom_v, st.key, st.proto->stats());
  auto close = a.close;
  a.clear();
  if (close) quit_with(self, *close);
}

void on_data(peer_self self, std::vector<std::uint8_t>& chunk,
             std::vector<block_buffer>* payloads = nullptr) {
  auto& st = self->state;
  auto now = self->clock().now();
  auto& proto = *st.proto;
  proto.on_received(now);
  st.decoder.feed(chunk);
  if (payloads) st.decoder.add_payloads(std::move(*payloads));
  if (st.conn) st.conn->ack(std::move(chunk));
  std::optional<error> broken;
  while (!proto.closing()) {
    auto item = st.decoder.next();
    if (!item) {
      broken = item.err();
      break;
    }
    if (!item->has_value()) break;
    auto& value = **item;
    if (auto* hs = std::get_if<wire::handshake>(&value))
      proto.on_handshake(*hs, now);
    else if (proto.handshaken())
      proto.on_message(std::get<wire::message>(value), now, queued(st));
  }
  proto.request_work(now);
  act(self);
  if (broken && !terminated(self)) quit_with(self, *broken);
}

/// Runs one input on the protocol, then carries out what it asked for.
template <class F>
void with_protocol(peer_self self, F&& input) {
  input(*self->state.proto, self->clock().now());
  act(self);
}

/// The far end is a mock peer actor: bytes travel as messages, and the mock
/// answers the sender of wire_atom with data_atom and closed_atom.
class wire_link final : public peer_link {
public:
  wire_link(peer_self self, wire_peer_actor remote) : self_(self), remote_(std::move(remote)) {}
  void send(std::vector<std::uint8_t> bytes) override {
    self_->send(remote_, wire_atom_v, std::move(bytes));
  }
  void ack(std::vector<std::uint8_t>) override {}
  std::size_t queued_bytes() const override { return 0; }
  void notify_when_drained(std::size_t) override { self_->send(self_, drained_atom_v); }
  void close() override { caf::anon_send(remote_, stop_atom_v); }

private:
  peer_self self_;
  wire_peer_actor remote_;
};

/// How the connection is made: returns its link once started.
using link_opener = std::function<std::unique_ptr<peer_link>(peer_self)>;

peer_connection_actor::behavior_type peer_behavior(peer_self self, peer_key key,
                                                   peer_endpoint remote, piece_manager_actor pm,
                                                   disk_writer_actor disk, torrent_actor torrent,
                                                   peer_config cfg, bool incoming,
                                                   link_opener open,
                                                   metadata_owner_actor meta_owner) {
  auto& st = self->state;
  st.key = key;
  st.remote = remote;
  st.pm = pm;
  st.disk = disk;
  st.torrent = torrent;
  st.meta_owner = std::move(meta_owner);
  st.incoming = incoming;
  st.dht_node = cfg.dht_node;
  st.proto.emplace(cfg, st.incoming, self->clock().now());
  // The extension handshake tells the peer its address as we see it.
  std::error_code ec;
  auto ip = asio::ip::make_address(remote.host, ec);
  if (!ec && ip.is_v4()) {
    auto b = ip.to_v4().to_bytes();
    st.proto->set_remote_ip(std::string(b.begin(), b.end()));
  } else if (!ec) {
    auto b = ip.to_v6().to_bytes();
    st.proto->set_remote_ip(std::string(b.begin(), b.end()));
  }
  st.max_block = cfg.max_block;

  // The PieceManager must hear of every exit, however it happens, so the
  // requests of this peer go back to the pool.
  if (pm)
    self->attach_functor([pm, key](const caf::error&) { caf::anon_send(pm, leave_atom_v, key); });

  st.conn = open(self);
  // Nothing arrives before the link is open, and how it is decides the framing.
  wire::decoder_limits lim;
  lim.max_block = cfg.max_block;
  lim.num_pieces = cfg.num_pieces;
  lim.split_payloads = st.split;
  st.decoder = wire::decoder(lim, true);
  self->delayed_send(self, 1s, tick_atom_v);


  return {
    [self](connected_atom) {
      self->state.connected = true;
      with_protocol(self, [](peer_protocol& p, auto now) { p.on_connected(now); });
    },
    [self](data_atom, std::vector<std::uint8_t>& chunk) { on_data(self, chunk); },
    [self](data_atom, std::vector<std::uint8_t>& stream,
           std::vector<block_buffer>& payloads) { on_data(self, stream, &payloads); },
    [self](closed_atom, const std::string& why) { quit_with(self, {errc::io_error, why}); },
    [self](drained_atom) {
      auto q = queued(self->state);
      with_protocol(self, [q](peer_protocol& p, auto now) { p.on_drained(now, q); });
    },
    [self](tick_atom) {
      with_protocol(self, [](peer_protocol& p, auto now) { p.on_tick(now); });
      if (!terminated(self)) self->delayed_send(self, 1s, tick_atom_v);
    },
    [self](cancel_atom, block_ref b) {
      with_protocol(self, [b](peer_protocol& p, auto now) { p.on_cancel(b, now); });
    },
    [self](have_atom, std::uint32_t piece) {
      with_protocol(self, [piece](peer_protocol& p, auto now) { p.on_have(piece, now); });
    },
    [self](wake_atom) {
      with_protocol(self, [](peer_protocol& p, auto now) { p.on_wake(now); });
    },
    [self](work_atom, std::vector<block_ref>& blocks) {
      with_protocol(self, [&blocks](peer_protocol& p, auto now) { p.on_work(std::move(blocks), now); });
    },
    [self](choke_atom) {
      auto q = queued(self->state);
      with_protocol(self, [q](peer_protocol& p, auto now) { p.set_choking(true, now, q); });
    },
    [self](unchoke_atom) {
      auto q = queued(self->state);
      with_protocol(self, [q](peer_protocol& p, auto now) { p.set_choking(false, now, q); });
    },
    [self](stop_atom) { quit_with(self, {errc::cancelled, "stopped"}); },
    [self](metadata_atom, std::uint32_t piece) {
      with_protocol(self, [piece](peer_protocol& p, auto now) { p.request_metadata(piece, now); });
    },
  };
}

/// Opens a TCP connection: connects to the remote, or, for an accepted one,
/// starts reading after the handshake already read.
link_opener tcp_opener(std::shared_ptr<tcp_connection> conn, peer_endpoint remote,
                       std::chrono::milliseconds connect_timeout,
                       std::vector<std::uint8_t> handshake) {
  return [conn = std::move(conn), remote = std::move(remote), connect_timeout,
          handshake = std::move(handshake)](peer_self self) mutable -> std::unique_ptr<peer_link> {
    auto handle = caf::actor_cast<peer_connection_actor>(self);
    tcp_connection::callbacks cb;
    cb.on_connected = [handle] { caf::anon_send(handle, connected_atom_v); };
    cb.on_data = [handle](std::vector<std::uint8_t> chunk) {
      caf::anon_send(handle, data_atom_v, std::move(chunk));
    };
    cb.on_closed = [handle](error err) { caf::anon_send(handle, closed_atom_v, err.to_string()); };
    cb.on_drained = [handle] { caf::anon_send(handle, drained_atom_v); };
    cb.on_split = [handle](wire::split_bytes split) {
      caf::anon_send(handle, data_atom_v, std::move(split.stream), std::move(split.payloads));
    };
    // PIECE payloads go from the socket to the disk in their own buffers.
    conn->split_payloads(self->state.max_block);
    self->state.split = true;
    if (!handshake.empty()) {
      self->state.connected = true;
      // The handshake was read before this actor existed. The connection hands
      // it over as its first chunk, so flow control counts it like any other
      // chunk this actor acknowledges.
      conn->start(std::move(cb), std::move(handshake));
    } else {
      conn->connect(remote, connect_timeout, std::move(cb));
    }
    return std::make_unique<tcp_link>(std::move(conn));
  };
}

} // namespace
peer_connection_actor spawn_outgoing_peer(caf::actor_system& sys, peer_key key,
                                          std::shared_ptr<tcp_connection> conn,
                                          peer_endpoint remote, piece_manager_actor pm,
                                          disk_writer_actor disk, torrent_actor torrent,
                                          peer_config cfg) {
  auto open = tcp_opener(std::move(conn), remote, cfg.connect_timeout, {});
  return sys.spawn(peer_behavior, key, std::move(remote), std::move(pm), std::move(disk),
                   std::move(torrent), std::move(cfg), false, std::move(open),
                   metadata_owner_actor{});
}

peer_connection_actor spawn_metadata_peer(caf::actor_system& sys, peer_key key,
                                          std::shared_ptr<tcp_connection> conn,
                                          peer_endpoint remote, metadata_owner_actor owner,
                                          peer_config cfg) {
  cfg.metadata_only = true;
  cfg.num_pieces = 0;
  auto open = tcp_opener(std::move(conn), remote, cfg.connect_timeout, {});
  return sys.spawn(peer_behavior, key, std::move(remote), piece_manager_actor{},
                   disk_writer_actor{}, torrent_actor{}, std::move(cfg), false, std::move(open),
                   std::move(owner));
}

peer_connection_actor spawn_incoming_peer(caf::actor_system& sys, peer_key key,
                                          std::shared_ptr<tcp_connection> conn,
                                          peer_endpoint remote, piece_manager_actor pm,
                                          disk_writer_actor disk, torrent_actor torrent,
                                          peer_config cfg, std::vector<std::uint8_t> handshake) {
  auto open = tcp_opener(std::move(conn), remote, cfg.connect_timeout, std::move(handshake));
  return sys.spawn(peer_behavior, key, std::move(remote), std::move(pm), std::move(disk),
                   std::move(torrent), std::move(cfg), true, std::move(open),
                   metadata_owner_actor{});
}

peer_connection_actor spawn_wired_peer(caf::actor_system& sys, peer_key key,
                                       wire_peer_actor far_end, peer_endpoint remote,
                                       piece_manager_actor pm, disk_writer_actor disk,
                                       torrent_actor torrent, peer_config cfg) {
  link_opener open = [far_end = std::move(far_end)](peer_self self) -> std::unique_ptr<peer_link> {
    // No connect step: the far end is there at once.
    self->send(self, connected_atom_v);
    return std::make_unique<wire_link>(self, far_end);
  };
  return sys.spawn(peer_behavior, key, std::move(remote), std::move(pm), std::move(disk),
                   std::move(torrent), std::move(cfg), false, std::move(open),
                   metadata_owner_actor{});
}

} // namespace actorrent
