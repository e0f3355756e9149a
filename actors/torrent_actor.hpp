// The torrent actor: one per torrent, the supervisor of its PieceManager,
// DiskWriter, tracker and peer connections.
#pragma once

#include "interfaces.hpp"
#include "peer_actor.hpp"
#include "storage.hpp"

#include "actorrent/metainfo.hpp"
#include "bitfield.hpp"
#include "net_service.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include <chrono>
#include <memory>
#include <vector>

namespace actorrent {

struct torrent_config {
  /// Peers to connect to besides those the trackers name.
  std::vector<peer_endpoint> peers;
  std::array<std::uint8_t, 20> peer_id{};
  /// The port we announce (the listening port).
  std::uint16_t listen_port = 6881;
  std::size_t max_connections = 60;
  /// A connection attempt that fails this often (without a handshake) is not
  /// retried; backoff between attempts doubles from retry_delay.
  std::uint32_t max_connect_failures = 5;
  std::chrono::milliseconds retry_delay{2'000};
  /// Fail when no payload arrived for this long while pieces are missing.
  std::chrono::seconds stall_timeout{120};
  /// Keep running after the download completed.
  bool seed = false;
  double endgame_threshold = 1.0;
  peer_config peer;
};

/// Spawns a torrent downloading into `store` (opened). `have` marks pieces
/// already verified on disk. The owner receives, as messages:
///   (status_atom, torrent_status)  once a second
///   (done_atom, torrent_status)    when every piece is verified and on disk
///   (failed_atom, std::string)     when the torrent cannot go on
/// After done or failed the torrent has stopped and exited (unless seeding).
torrent_actor spawn_torrent(caf::actor_system& sys, net_service& net,
                            std::shared_ptr<const metainfo> meta, torrent_config cfg,
                            std::shared_ptr<storage> store, bitfield have, caf::actor owner);

} // namespace actorrent
