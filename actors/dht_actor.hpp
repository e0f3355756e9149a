// The DHT actor: the session's one DHT node (dht::node) on a UDP socket of
// the network thread. It joins through bootstrap nodes or the nodes saved
// by the last run, finds peers for the torrents the session puts in its
// care and announces them, every 15 minutes while they run.
#pragma once

#include "dht_socket.hpp"
#include "interfaces.hpp"
#include "net_service.hpp"

#include <caf/actor_system.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace actorrent {

struct dht_config {
  /// Nodes to ping at start ("host:port"; names are resolved).
  std::vector<peer_endpoint> bootstrap;
  /// Pinged only when `bootstrap` is empty and the state file gave no node.
  std::vector<peer_endpoint> fallback;
  /// Node id and good nodes across runs; empty: not kept.
  std::filesystem::path state_file;
  std::chrono::seconds announce_interval{15 * 60};
  /// A search that found no peer is tried again this soon, then twice as
  /// late each time, up to announce_interval.
  std::chrono::seconds retry_interval{15};
};

/// The actor and the UDP port its socket is bound to. The socket is bound
/// before the actor is spawned, so a port in use is an error of spawn_dht.
struct dht_service {
  dht_actor actor;
  std::uint16_t port = 0;
};

result<dht_service> spawn_dht(caf::actor_system& sys, net_service& net, const std::string& bind_address,
                              std::uint16_t port, dht_config cfg);

} // namespace actorrent
