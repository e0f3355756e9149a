// The peer router: hands each accepted connection to the torrent its
// handshake names. One per session.
#pragma once

#include "encryption_keys.hpp"
#include "interfaces.hpp"

#include <caf/actor_system.hpp>

namespace actorrent {

/// Registered torrents are added to `keys` (when given), so encrypted
/// handshakes can name them, and removed when they exit.
peer_router_actor spawn_peer_router(caf::actor_system& sys,
                                    std::shared_ptr<encryption_keys> keys = nullptr);

} // namespace actorrent
