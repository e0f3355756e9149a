// What both transports share: the engine under test set up for a swarm (a
// torrent on memory storage whose connections are dialled to mock peers),
// and the owner that records what the torrent reports.
#pragma once

#include "messages.hpp"
#include "scenario.hpp"
#include "sim_run.hpp"
#include "memory_storage.hpp"
#include "mock_peer.hpp"
#include "net_service.hpp"
#include "torrent_actor.hpp"

#include <caf/event_based_actor.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace actorrent::sim {

/// What the torrent tells its owner, kept for the report. The owner actor
/// writes it; the harness reads it (from another thread with the processes
/// transport), hence the lock.
struct recorder {
  std::mutex m;
  std::vector<sample> series;
  bool done = false;
  bool failed = false;
  std::string why;
  torrent_status final;
};

/// The torrent's owner: records status, done and failure.
caf::behavior owner(caf::event_based_actor*, std::shared_ptr<recorder> rec);

struct engine {
  std::shared_ptr<metainfo> meta;
  std::shared_ptr<memory_storage> store;
  torrent_config cfg;
};

/// The torrent, its storage and settings for this swarm; its connections go
/// to the mock peer of each address (`mocks`, by host), or over TCP when
/// `mocks` is null.
engine make_engine(const scenario& s, const std::vector<planned_peer>& swarm,
                   const content_spec& content,
                   std::shared_ptr<std::map<std::string, wire_peer_actor>> mocks,
                   bool disk_thread);

/// Runs the engine on real time (the real scheduler) until the download is
/// done, failed or out of time, then fills `out` from the engine and the
/// mocks. For the transports whose mocks are not on the test coordinator.
void run_in_real_time(caf::actor_system& sys, net_service& net, const engine& e,
                      const scenario& s, const std::vector<planned_peer>& swarm,
                      const std::vector<mock_peer_actor>& mocks,
                      std::chrono::steady_clock::time_point wall_start, run_result& out);

/// Tells the torrent of late peers when their time comes.
void announce_late_peers(const std::vector<planned_peer>& swarm, const torrent_actor& torrent);

} // namespace actorrent::sim
