#include "sim_run.hpp"

#include "sim_engine.hpp"

#include "actorrent/session.hpp"
#include "file_layout.hpp"
#include "memory_storage.hpp"
#include "net_service.hpp"
#include "peer_actor.hpp"
#include "torrent_actor.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>

#include <chrono>
#include <map>
#include <optional>

namespace actorrent::sim {

namespace {

using wall_clock = std::chrono::steady_clock;

} // namespace

run_result run_with_actors(const scenario& s, const std::vector<planned_peer>& swarm,
                           const content_spec& content) {
  run_result out;
  std::optional<torrent_status> last_status;
  caf::actor_system_config cfg;
  session::configure(cfg);
  cfg.add_message_types<caf::id_block::actorrent_sim>();
  cfg.set("scheduler.policy", caf::atom("testing"));
  cfg.set("logger.file-verbosity", caf::atom("quiet"));
  cfg.set("logger.console", caf::atom("none"));
  auto wall_start = wall_clock::now();
  {
    caf::actor_system sys{cfg};
    auto& sched = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
    net_service net;  // required by the torrent; mock connections never use it
    auto mocks = std::make_shared<std::map<std::string, wire_peer_actor>>();
    std::vector<mock_peer_actor> handles;
    handles.reserve(swarm.size());
    for (const auto& p : swarm) {
      handles.push_back(spawn_mock_peer(sys, p.profile));
      (*mocks)[p.host] = handles.back();
    }
    engine e = make_engine(s, swarm, content, mocks, false);
    auto rec = std::make_shared<recorder>();
    auto own = sys.spawn(owner, rec);
    auto torrent = spawn_torrent(sys, net, e.meta, e.cfg, e.store, {own}, {});
    announce_late_peers(swarm, torrent);

    const auto sim_start = sched.clock().now();
    const auto limit = std::chrono::seconds(s.max_sim_time_s);
    for (;;) {
      sched.run();
      if (rec->done || rec->failed) break;
      if (sched.clock().now() - sim_start > limit) {
        out.failure = "not complete after " + std::to_string(s.max_sim_time_s) + " s of simulated time";
        break;
      }
      if (!sched.trigger_timeout()) {
        out.failure = "nothing left to happen";
        break;
      }
    }
    out.sim_time_s = std::chrono::duration<double>(sched.clock().now() - sim_start).count();
    // Two more simulated seconds: blocks still on their way arrive, and every
    // connection reports its last figures.
    const auto settle = sched.clock().now() + std::chrono::seconds(2);
    while (sched.clock().now() < settle) {
      sched.run();
      if (!sched.trigger_timeout()) break;
    }
    sched.run();

    caf::scoped_actor self{sys, true};
    {
      auto h = self->request(torrent, caf::infinite, status_request{true, true});
      sched.run();
      h.receive(
        [&](torrent_status& st) {
          out.engine_view = std::move(st.peers);
          last_status = std::move(st);
        },
        [](caf::error&) {});
    }
    out.reports.resize(handles.size());
    for (std::size_t i = 0; i < handles.size(); ++i) {
      auto h = self->request(handles[i], caf::infinite, status_atom_v);
      sched.run();
      h.receive([&](mock_report& r) { out.reports[i] = r; }, [](caf::error&) {});
    }
    self->send_exit(torrent, caf::exit_reason::user_shutdown);
    for (auto& h : handles) self->send_exit(h, caf::exit_reason::user_shutdown);
    self->send_exit(own, caf::exit_reason::user_shutdown);
    sched.run();
    // Timers still pending (ticks of actors now gone) hold nothing alive.
    while (sched.trigger_timeout()) sched.run();

    std::lock_guard<std::mutex> g(rec->m);
    out.completed = rec->done;
    if (rec->failed && out.failure.empty()) out.failure = rec->why;
    out.series = rec->series;
    out.final = last_status ? *last_status : rec->final;
  }
  out.wall_s = std::chrono::duration<double>(wall_clock::now() - wall_start).count();
  return out;
}

} // namespace actorrent::sim
