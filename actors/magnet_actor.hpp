// The magnet actor: a torrent added from a magnet link. First it fetches the
// metainfo (BEP 9) from the link's peers and the peers its trackers name,
// checks it against the info-hash and saves it as a .torrent; then it starts
// the torrent with it and stands for that torrent towards its owner.
#pragma once

#include "interfaces.hpp"
#include "net_service.hpp"
#include "peer_protocol.hpp"

#include "actorrent/magnet_link.hpp"
#include "actorrent/metainfo.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <vector>

namespace actorrent {

struct magnet_config {
  magnet_link link;
  /// The link's peers and any given besides.
  std::vector<peer_endpoint> peers;
  /// Where the fetched metainfo is saved, and looked for first.
  std::filesystem::path torrent_file;
  /// Metadata larger than this is refused (and its sender banned).
  std::int64_t max_metadata_size = 4 << 20;
  /// Connections open at once while fetching.
  std::size_t max_connections = 20;
  /// Give up when the metadata did not arrive for this long.
  std::chrono::seconds stall_timeout{120};
  std::array<std::uint8_t, 20> peer_id{};
  std::uint16_t listen_port = 0;
  /// Timeouts and bounds of the connections.
  peer_config peer;
  std::filesystem::path download_dir;
  /// Send a status_update event to the listeners once a second.
  bool status_updates = false;
  /// Message Stream Encryption of the connections we make.
  encryption_policy encryption = encryption_policy::off;
  /// Starts the torrent from the metainfo, with the peers known so far.
  std::function<result<torrent_control>(const metainfo&, std::vector<peer_endpoint>)> start;
};

/// Spawns the magnet actor; every listener gets the events of
/// include/actorrent/events.hpp (the torrent's own once it runs). It answers
/// torrent_control itself while fetching, and passes requests on after.
magnet_actor spawn_magnet(caf::actor_system& sys, net_service& net, magnet_config cfg,
                          std::vector<caf::actor> listeners);

} // namespace actorrent
