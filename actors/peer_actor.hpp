// The peer connection actor: one per TCP connection to a remote peer.
#pragma once

#include "interfaces.hpp"
#include "peer_protocol.hpp"
#include "tcp_connection.hpp"

#include <caf/actor_system.hpp>

#include <memory>
#include <vector>

namespace actorrent {

/// Spawns a peer actor that connects to `remote` over `conn` (created but not
/// connected), asks `pm` for work, reads blocks to upload from `disk`, and
/// reports to `torrent`. It exits when the connection closes; the exit reason
/// says why.
peer_connection_actor spawn_outgoing_peer(caf::actor_system& sys, peer_key key,
                                          std::shared_ptr<tcp_connection> conn,
                                          peer_endpoint remote, piece_manager_actor pm,
                                          disk_writer_actor disk, torrent_actor torrent,
                                          peer_config cfg);

/// Spawns a peer actor that connects to `remote` only to fetch metadata
/// (BEP 9): no PieceManager, no pieces; what the peer offers and sends goes
/// to `owner`, which asks for pieces with metadata_atom.
peer_connection_actor spawn_metadata_peer(caf::actor_system& sys, peer_key key,
                                          std::shared_ptr<tcp_connection> conn,
                                          peer_endpoint remote, metadata_owner_actor owner,
                                          peer_config cfg);

/// Spawns a peer actor for an accepted connection whose handshake (68 bytes)
/// was already read.
peer_connection_actor spawn_incoming_peer(caf::actor_system& sys, peer_key key,
                                          std::shared_ptr<tcp_connection> conn,
                                          peer_endpoint remote, piece_manager_actor pm,
                                          disk_writer_actor disk, torrent_actor torrent,
                                          peer_config cfg, std::vector<std::uint8_t> handshake);

/// Spawns a peer actor whose far end is `far_end`, a mock peer of the
/// simulation harness (see interfaces.hpp: wire_peer_actor), instead of a
/// socket. Everything else, the protocol included, is the real thing.
peer_connection_actor spawn_wired_peer(caf::actor_system& sys, peer_key key,
                                       wire_peer_actor far_end, peer_endpoint remote,
                                       piece_manager_actor pm, disk_writer_actor disk,
                                       torrent_actor torrent, peer_config cfg);

} // namespace actorrent
