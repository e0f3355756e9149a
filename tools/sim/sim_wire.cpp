// The wire transport: every mock peer listens on a real TCP socket at an
// address of its own in 127.0.0.0/8, and the engine dials it like any peer
// (its default TCP dialer, its sockets, its network thread). A bridge actor
// per accepted connection moves bytes between the socket and the mock.
#include "sim_run.hpp"

#include "actorrent/session.hpp"
#include "listener.hpp"
#include "net_service.hpp"
#include "sim_engine.hpp"
#include "tcp_connection.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <chrono>
#include <map>
#include <mutex>

namespace actorrent::sim {

namespace {

using namespace std::chrono_literals;

struct bridge_state {
  static inline const char* name = "actorrent.sim.wire_bridge";
  std::shared_ptr<tcp_connection> conn;
  ~bridge_state() {
    if (conn) conn->close();
  }
};

/// One accepted connection: the engine's bytes (wire_atom, from the socket)
/// go to the mock as if from a peer actor; the mock's answers (data_atom,
/// closed_atom, sent to us as its sender) go out on the socket.
caf::behavior bridge(caf::stateful_actor<bridge_state>* self, std::shared_ptr<tcp_connection> conn,
                     std::vector<std::uint8_t> handshake, wire_peer_actor mock) {
  self->state.conn = conn;
  auto me = caf::actor_cast<caf::actor>(self);
  tcp_connection::callbacks cb;
  cb.on_data = [me](std::vector<std::uint8_t> chunk) {
    caf::anon_send(me, wire_atom_v, std::move(chunk));
  };
  cb.on_closed = [me](error) { caf::anon_send(me, closed_atom_v); };
  conn->start(std::move(cb), std::move(handshake));
  return {
    [self, mock](wire_atom, std::vector<std::uint8_t>& bytes) {
      self->send(mock, wire_atom_v, std::move(bytes));
      self->state.conn->ack();
    },
    [self](data_atom, std::vector<std::uint8_t>& bytes) { self->state.conn->send(std::move(bytes)); },
    [self](closed_atom, const std::string&) { self->quit(); },  // the mock left
    [self, mock](closed_atom) {                                   // the engine hung up
      caf::anon_send(mock, stop_atom_v);
      self->quit();
    },
  };
}

} // namespace

run_result run_with_wire(const scenario& s, const std::vector<planned_peer>& planned,
                         const content_spec& content) {
  run_result out;
  auto wall_start = std::chrono::steady_clock::now();
  auto swarm = planned;
  caf::actor_system_config cfg;
  session::configure(cfg);
  cfg.add_message_types<caf::id_block::actorrent_sim>();
  cfg.set("logger.file-verbosity", caf::atom("quiet"));
  cfg.set("logger.console", caf::atom("none"));
  {
    caf::actor_system sys{cfg};
    net_service engine_net;
    net_service mock_net;  // the mocks' sockets: another thread, as another host would be
    std::vector<mock_peer_actor> mocks;
    std::vector<std::shared_ptr<listener>> listeners;
    // The bridges, spawned on the mocks' network thread: ended at the end,
    // whatever state their sockets are in, so the actor system can close.
    struct bridge_list {
      std::mutex m;
      std::vector<caf::actor> all;
      bool closing = false;  // no more bridges: a late accept just hangs up
    };
    auto bridges = std::make_shared<bridge_list>();
    for (std::size_t i = 0; i < swarm.size(); ++i) {
      auto mock = spawn_mock_peer(sys, swarm[i].profile);
      mocks.push_back(mock);
      auto* sysp = &sys;
      wire_peer_actor far_end = mock;
      auto l = listener::open(
        mock_net.io(), swarm[i].host, 0,
        [sysp, far_end, bridges](std::shared_ptr<tcp_connection> conn,
                                 std::vector<std::uint8_t> hs) {
          std::lock_guard<std::mutex> g(bridges->m);
          if (bridges->closing) {
            conn->close();
            return;
          }
          bridges->all.push_back(sysp->spawn(bridge, std::move(conn), std::move(hs), far_end));
        },
        10s);
      if (!l) {
        out.failure = "mock " + std::to_string(i) + " cannot listen: " + l.err().message;
        break;
      }
      swarm[i].port = (*l)->port();
      listeners.push_back(*l);
    }
    if (out.failure.empty()) {
      engine e = make_engine(s, swarm, content, nullptr, true);
      run_in_real_time(sys, engine_net, e, s, swarm, mocks, wall_start, out);
    }
    for (auto& l : listeners) l->close();
    std::vector<caf::actor> to_end;
    {
      std::lock_guard<std::mutex> g(bridges->m);
      bridges->closing = true;
      to_end = bridges->all;
    }
    // Every bridge must be gone before the mocks' network thread: a bridge
    // closes its socket on the way out.
    caf::scoped_actor self{sys};
    for (auto& b : to_end) {
      self->send_exit(b, caf::exit_reason::user_shutdown);
      self->wait_for(b);
    }
    for (auto& m : mocks) self->send_exit(m, caf::exit_reason::user_shutdown);
  }
  out.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return out;
}

} // namespace actorrent::sim
