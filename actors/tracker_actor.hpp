// The tracker actor: announces one torrent to its HTTP(S) (BEP 3) and UDP
// (BEP 15) trackers in the order of BEP 12 tiers, and hands the peers it
// learns to the torrent. What to announce, where and when is
// announce_schedule's decision; the actor performs the exchanges, asks its
// owner for the counters and keeps the timers.
#pragma once

#include "interfaces.hpp"
#include "udp_tracker_exchange.hpp"

#include "actorrent/sha1_hash.hpp"

#include <asio/io_context.hpp>
#include <caf/actor_system.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace actorrent {

struct tracker_config {
  /// BEP 12 announce-list, or {{announce}} for a single tracker.
  std::vector<std::vector<std::string>> tiers;
  sha1_hash info_hash;
  std::array<std::uint8_t, 20> peer_id{};
  std::uint16_t port = 0;
  int numwant = 80;
  std::string key;
  std::string user_agent = "actorrent/0.1";
  std::chrono::milliseconds request_timeout{15'000};
  /// Backoff when every tracker failed: doubles from min_retry up to max_retry.
  std::chrono::seconds min_retry{15}, max_retry{1800};
  /// Bound on the "stopped" announce at shutdown.
  std::chrono::milliseconds stop_timeout{5'000};
  /// How long the first announce waits for ready_atom (the owner's start-up
  /// check) before it goes out with the counters known so far.
  std::chrono::milliseconds ready_timeout{10'000};
  /// How long an announce waits for the owner's counters (stats_atom).
  std::chrono::milliseconds stats_timeout{2'000};
  /// udp:// trackers (BEP 15): retransmission schedule and connection-id
  /// lifetime. A "stopped" is bounded by stop_timeout as well.
  udp_tracker_timing udp;
  /// BEP 12 shuffles each tier once; off gives a fixed order (for tests).
  bool shuffle_tiers = true;
  /// https:// trackers: a PEM file of CA certificates trusted besides the
  /// system's store.
  std::string ca_file;
};

/// Spawns a tracker actor that announces "started" once its owner says
/// ready_atom (or cfg.ready_timeout passed) and keeps announcing on the
/// trackers' interval. Every announce carries the counters the owner gives
/// for stats_atom at that moment. Warnings and failures go to `owner` as
/// tracker_atom texts ("<url>: failure: <reason>"), peers as peers_atom.
/// stop_atom announces "stopped" (within cfg.stop_timeout) when a "started"
/// was accepted, then replies and exits: true when no tracker still lists
/// us, false when the "stopped" announce failed. `io` must outlive the actor.
tracker_actor spawn_tracker(caf::actor_system& sys, asio::io_context& io, tracker_config cfg,
                            tracker_owner_actor owner);

} // namespace actorrent
