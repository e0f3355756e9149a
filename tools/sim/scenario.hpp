// A simulation scenario: the swarm's shape (how many mock peers, which
// behave how), the torrent's geometry, and how the engine is set up.
#pragma once

#include "actorrent/error.hpp"
#include "mock_peer.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace actorrent::sim {

enum class transport_kind { actors, wire, processes };

struct scenario {
  std::uint32_t peers = 50;
  std::uint32_t pieces = 256;
  std::int64_t piece_size = 64 * 1024;
  double seeds = 0.2;        ///< fraction of peers with every piece
  double share = 0.5;        ///< fraction of pieces each other peer has
  double corrupt = 0;        ///< fraction of peers that send corrupt blocks
  double slow = 0;           ///< fraction of peers at slow_rate
  double silent = 0;         ///< fraction of peers that never answer a request
  double leave = 0;          ///< fraction of peers that leave during the run
  double late = 0;           ///< fraction of peers we learn of only later
  double rate = 1 << 20;     ///< bytes per second an ordinary peer sends us
  double slow_rate = 16 << 10;
  std::uint32_t latency_ms = 20;
  std::uint32_t leave_within_s = 20;  ///< leaving peers go within this time
  std::uint32_t late_within_s = 20;   ///< late peers arrive within this time
  std::string strategy = "rarest";    ///< rarest | sequential | random
  std::uint32_t files = 1;            ///< the torrent's data split into this many files
  std::string only;                   ///< which files to download, as `actorrent --only`
  transport_kind transport = transport_kind::actors;
  std::uint32_t workers = 2;          ///< processes transport
  std::uint32_t max_connections = 0;  ///< 0: as many as there are peers
  double endgame_threshold = 1.0;
  std::uint64_t seed = 1;
  std::uint32_t max_sim_time_s = 3600;
  std::string json, plot;
  bool quiet = false;
};

/// Parses actorrent-sim's command line (argv[0] excluded).
result<scenario> parse_scenario(const std::vector<std::string>& args);

std::string usage();

/// One mock peer of the swarm: how it behaves and what the engine knows of it.
struct planned_peer {
  mock_profile profile;
  std::string host;                 ///< 127.1.x.y: one host per peer (bans are per host)
  std::uint16_t port = 6881;
  std::uint32_t arrives_after_ms = 0;
  std::string role;                 ///< "seed", "partial", "corrupt", "slow", "silent"
};

/// The info-hash of the simulated torrent (drawn from the scenario's seed).
sha1_hash swarm_info_hash(const scenario& s);

/// The swarm a scenario describes, drawn from its seed: the same scenario
/// gives the same swarm.
std::vector<planned_peer> plan_swarm(const scenario& s, const content_spec& content,
                                     const sha1_hash& info_hash);

} // namespace actorrent::sim
