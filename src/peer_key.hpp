// How the engine names a connected peer.
#pragma once

#include <cstdint>

namespace actorrent {

/// Opaque id a torrent gives each of its connections, never reused while
/// the torrent runs. It names a connection, not a host: the same host
/// reconnecting gets a new key.
using peer_key = std::uint64_t;

} // namespace actorrent
