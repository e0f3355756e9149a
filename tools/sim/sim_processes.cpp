// The processes transport: mock peers live in worker processes (this same
// executable, started with --worker) and are reached through CAF's own
// remote actors (libcaf_io's middleman) on 127.0.0.1. Our peer actors talk
// to them exactly as to local mocks; only the scheduler is the real one, on
// real time.
#include "sim_run.hpp"

#include "actorrent/session.hpp"
#include "file_layout.hpp"
#include "memory_storage.hpp"
#include "net_service.hpp"
#include "peer_actor.hpp"
#include "sim_engine.hpp"
#include "torrent_actor.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <thread>

namespace actorrent::sim {

namespace {

using wall_clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

void configure(caf::actor_system_config& cfg) {
  session::configure(cfg);
  cfg.add_message_types<caf::id_block::actorrent_sim>();
  cfg.load<caf::io::middleman>();
  cfg.set("logger.file-verbosity", caf::atom("quiet"));
  cfg.set("logger.console", caf::atom("none"));
}

// The mocks a worker spawned, so it can end them when its parent is done.
using mock_list = std::shared_ptr<std::vector<mock_peer_actor>>;

mock_factory_actor::behavior_type factory(mock_factory_actor::pointer self, mock_list spawned) {
  return {
    [self, spawned](spawn_atom, mock_profile& p) {
      auto m = spawn_mock_peer(self->system(), std::move(p));
      spawned->push_back(m);
      return m;
    },
  };
}

/// A worker process we started: its PID, the write end of its stdin (closing
/// it tells the worker to exit) and the port its factory listens on.
struct worker {
  pid_t pid = -1;
  int stdin_fd = -1;
  std::uint16_t port = 0;
};

/// Starts `exe --worker` and reads its "PORT n" line (bounded in time).
result<worker> start_worker(const std::string& exe) {
  int to_child[2], from_child[2];
  // Close-on-exec: a later worker must not inherit this one's stdin, or
  // closing it would never reach this worker as end of file.
  if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0)
    return error{errc::io_error, "cannot create pipes for a worker"};
  pid_t pid = ::fork();
  if (pid < 0) return error{errc::io_error, "cannot start a worker process"};
  if (pid == 0) {
    ::dup2(to_child[0], 0);
    ::dup2(from_child[1], 1);
    ::close(to_child[1]);
    ::close(from_child[0]);
    ::execl(exe.c_str(), exe.c_str(), "--worker", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(to_child[0]);
  ::close(from_child[1]);
  worker w{pid, to_child[1], 0};
  std::string line;
  auto deadline = wall_clock::now() + 10s;
  while (wall_clock::now() < deadline && line.find('\n') == std::string::npos) {
    pollfd p{from_child[0], POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[64];
    auto n = ::read(from_child[0], buf, sizeof buf);
    if (n <= 0) break;
    line.append(buf, static_cast<std::size_t>(n));
  }
  ::close(from_child[0]);
  unsigned port = 0;
  if (std::sscanf(line.c_str(), "PORT %u", &port) != 1 || port == 0 || port > 65535) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    ::close(w.stdin_fd);
    return error{errc::io_error, "worker did not report its port: " + line};
  }
  w.port = static_cast<std::uint16_t>(port);
  return w;
}

/// Closes the worker's stdin so it exits, waits for it (bounded), and only
/// then kills it, by the PID we started.
void stop_worker(worker& w) {
  if (w.stdin_fd >= 0) ::close(w.stdin_fd);
  w.stdin_fd = -1;
  for (int i = 0; i < 100; ++i) {
    if (::waitpid(w.pid, nullptr, WNOHANG) == w.pid) return;
    std::this_thread::sleep_for(50ms);
  }
  ::kill(w.pid, SIGKILL);
  ::waitpid(w.pid, nullptr, 0);
}

} // namespace

int run_worker() {
  caf::actor_system_config cfg;
  configure(cfg);
  caf::actor_system sys{cfg};
  auto spawned = std::make_shared<std::vector<mock_peer_actor>>();
  auto f = sys.spawn(factory, spawned);
  auto port = sys.middleman().publish(f, 0, "127.0.0.1");
  if (!port) {
    std::cerr << "actorrent-sim worker: cannot listen: " << sys.render(port.error()) << "\n";
    return 1;
  }
  std::cout << "PORT " << *port << std::endl;
  // Until the parent closes our stdin (or dies): then everything here goes.
  char buf[64];
  while (::read(0, buf, sizeof buf) > 0) {
  }
  caf::anon_send_exit(f, caf::exit_reason::kill);
  for (auto& m : *spawned) caf::anon_send_exit(m, caf::exit_reason::kill);
  return 0;
}

run_result run_with_processes(const scenario& s, const std::vector<planned_peer>& swarm,
                              const content_spec& content, const std::string& self_exe) {
  run_result out;
  auto wall_start = wall_clock::now();
  std::vector<worker> workers;
  for (std::uint32_t i = 0; i < s.workers; ++i) {
    auto w = start_worker(self_exe);
    if (!w) {
      out.failure = w.err().message;
      for (auto& x : workers) stop_worker(x);
      return out;
    }
    workers.push_back(*w);
  }
  {
    caf::actor_system_config cfg;
    configure(cfg);
    caf::actor_system sys{cfg};
    net_service net;
    caf::scoped_actor self{sys};

    std::vector<mock_factory_actor> factories;
    for (auto& w : workers) {
      auto f = sys.middleman().remote_actor<mock_factory_actor>("127.0.0.1", w.port);
      if (!f) {
        out.failure = "cannot reach a worker: " + sys.render(f.error());
        break;
      }
      factories.push_back(*f);
    }
    std::vector<mock_peer_actor> mocks;
    auto by_host = std::make_shared<std::map<std::string, wire_peer_actor>>();
    for (std::size_t i = 0; out.failure.empty() && i < swarm.size(); ++i) {
      self->request(factories[i % factories.size()], 10s, spawn_atom_v, swarm[i].profile)
        .receive(
          [&](mock_peer_actor& m) {
            mocks.push_back(m);
            (*by_host)[swarm[i].host] = m;
          },
          [&](caf::error& e) { out.failure = "a worker did not spawn a mock: " + sys.render(e); });
    }
    if (out.failure.empty()) {
      engine e = make_engine(s, swarm, content, by_host, true);
      run_in_real_time(sys, net, e, s, swarm, mocks, wall_start, out);
    }
    for (auto& m : mocks) self->send_exit(m, caf::exit_reason::user_shutdown);
  }
  for (auto& w : workers) stop_worker(w);
  out.wall_s = std::chrono::duration<double>(wall_clock::now() - wall_start).count();
  return out;
}

} // namespace actorrent::sim
