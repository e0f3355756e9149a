// The peer connection actor: one per TCP connection to a remote peer.
#pragma once

#include "interfaces.hpp"
#include "tcp_connection.hpp"

#include "actorrent/sha1_hash.hpp"

#include <caf/actor_system.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>

namespace actorrent {

struct peer_config {
  sha1_hash info_hash;
  std::array<std::uint8_t, 20> our_id{};
  std::uint32_t num_pieces = 0;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds handshake_timeout{15'000};
  /// A peer that delivers nothing for this long while we wait on requests is
  /// snubbed: its requests go back to the pool for other peers.
  std::chrono::milliseconds request_timeout{15'000};
  /// Nothing received at all for this long: disconnect.
  std::chrono::milliseconds idle_timeout{120'000};
  std::chrono::milliseconds keepalive_interval{60'000};
  /// A want unanswered for this long may be sent again (the PieceManager is
  /// busy; the peer waits for it rather than leaving).
  std::chrono::milliseconds want_timeout{30'000};
  /// Requests kept in flight: enough for `pipeline_seconds` of the measured
  /// rate, within [min_pipeline, max_pipeline], starting at initial_pipeline.
  std::uint32_t initial_pipeline = 32;
  std::uint32_t min_pipeline = 4;
  std::uint32_t max_pipeline = 500;
  double pipeline_seconds = 3.0;
  std::uint32_t max_block = 16 * 1024;

  // Uploading.
  std::int64_t piece_length = 0;
  std::int64_t total_length = 0;
  /// Largest block a peer may request (BEP 3 practice: 16 KiB; never more
  /// than 128 KiB).
  std::uint32_t max_request = 16 * 1024;
  /// Requests queued from one peer; more is a flood and ends the connection.
  std::size_t max_upload_queue = 500;
  /// Requests a choked peer may still send (some are in flight when we
  /// choke) before it counts as misbehaving.
  std::size_t max_choked_requests = 64;
  /// Whole pieces kept in memory per peer while its requests are served,
  /// and piece reads in flight for one peer.
  std::size_t cached_pieces = 4;
  std::size_t piece_reads = 2;
  /// Bound on those pieces in bytes (at least one piece is always kept).
  std::int64_t upload_cache_bytes = 1 << 20;
  /// Bytes queued on the socket before serving pauses.
  std::size_t send_high_water = 1 << 20;
};

/// Spawns a peer actor that connects to `remote` over `conn` (created but not
/// connected), asks `pm` for work, reads blocks to upload from `disk`, and
/// reports to `torrent`. It exits when the connection closes; the exit reason
/// says why.
peer_connection_actor spawn_outgoing_peer(caf::actor_system& sys, peer_key key,
                                          std::shared_ptr<tcp_connection> conn,
                                          peer_endpoint remote, piece_manager_actor pm,
                                          disk_writer_actor disk, torrent_actor torrent,
                                          peer_config cfg);

/// Spawns a peer actor for an accepted connection whose handshake (68 bytes)
/// was already read.
peer_connection_actor spawn_incoming_peer(caf::actor_system& sys, peer_key key,
                                          std::shared_ptr<tcp_connection> conn,
                                          peer_endpoint remote, piece_manager_actor pm,
                                          disk_writer_actor disk, torrent_actor torrent,
                                          peer_config cfg, std::vector<std::uint8_t> handshake);

} // namespace actorrent
