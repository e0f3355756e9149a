// The peer router: hands each accepted connection to the torrent its
// handshake names. One per session.
#pragma once

#include "interfaces.hpp"

#include <caf/actor_system.hpp>

namespace actorrent {

peer_router_actor spawn_peer_router(caf::actor_system& sys);

} // namespace actorrent
