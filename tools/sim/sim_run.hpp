// Runs one scenario: the real engine (a torrent actor with its PieceManager,
// DiskWriter on memory storage, choker, peer list and one real peer actor
// per connection) against mock peers.
#pragma once

#include "messages.hpp"
#include "mock_peer.hpp"
#include "scenario.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace actorrent::sim {

/// The engine's state once a simulated second.
struct sample {
  double t = 0;                   ///< simulated seconds since the start
  double progress = 0;            ///< verified fraction
  std::uint32_t min_availability = 0;
  std::uint64_t downloaded = 0;
  std::uint64_t duplicate = 0;    ///< payload received twice or after its cancel
  std::uint32_t peers = 0;        ///< connected
};

struct run_result {
  bool completed = false;
  std::string failure;            ///< why not, when not
  double sim_time_s = 0;
  double wall_s = 0;
  torrent_status final;
  std::vector<sample> series;
  std::vector<mock_report> reports;  ///< by mock id
  std::vector<peer_summary> engine_view;  ///< per host, as the engine saw it
};

/// Deterministic: every actor runs on one thread under CAF's test
/// coordinator, and time advances only from one timer to the next.
run_result run_with_actors(const scenario& s, const std::vector<planned_peer>& swarm,
                           const content_spec& content);

/// Every mock peer behind a real TCP listener on 127.x.y.z of its own; the
/// engine dials them like any peer. Real time.
run_result run_with_wire(const scenario& s, const std::vector<planned_peer>& swarm,
                         const content_spec& content);

/// Mock peers in worker processes (this executable with --worker), reached
/// through CAF's middleman on 127.0.0.1; real time.
run_result run_with_processes(const scenario& s, const std::vector<planned_peer>& swarm,
                              const content_spec& content, const std::string& self_exe);

/// The worker side of run_with_processes: publishes a mock factory on a free
/// loopback port, prints "PORT n", serves until its parent goes away.
int run_worker();

} // namespace actorrent::sim
