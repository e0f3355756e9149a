// A mock remote peer for the simulation harness: the far end of one of our
// connections, speaking the real wire protocol (bytes in, bytes out) through
// actor messages instead of a socket. It serves the simulated content at its
// own rate and latency, on simulated time, and can lie, stay silent or leave.
// Being an actor, it lives in this process or, through CAF's middleman, in a
// worker process.
#pragma once

#include "interfaces.hpp"
#include "sim_content.hpp"

#include <caf/actor_system.hpp>
#include <caf/type_id.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace actorrent::sim {

/// How one mock peer behaves.
struct mock_profile {
  std::uint32_t id = 0;
  std::vector<std::uint8_t> has;     ///< wire bitfield of the pieces it has
  double rate = 4 << 20;             ///< bytes per second it sends us
  std::uint32_t latency_ms = 20;     ///< one-way delay
  bool corrupt = false;              ///< every block it sends has a flipped byte
  bool silent = false;               ///< takes requests, never answers them
  std::uint32_t leave_after_ms = 0;  ///< disconnects after this long (0: stays)
  content_spec content;
  sha1_hash info_hash;
};

/// What one mock peer did.
struct mock_report {
  std::uint32_t id = 0;
  std::uint64_t bytes_sent = 0;    ///< block payload sent to us
  std::uint32_t blocks_sent = 0;
  std::uint32_t requests = 0;      ///< REQUESTs received
  std::uint32_t cancels = 0;       ///< CANCELs received
  bool handshaken = false;
  bool left = false;               ///< it left by itself
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, content_spec& x) {
  return f(caf::meta::type_name("content_spec"), x.seed, x.num_pieces, x.piece_length,
           x.total_length);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mock_profile& x) {
  return f(caf::meta::type_name("mock_profile"), x.id, x.has, x.rate, x.latency_ms, x.corrupt,
           x.silent, x.leave_after_ms, x.content, x.info_hash);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mock_report& x) {
  return f(caf::meta::type_name("mock_report"), x.id, x.bytes_sent, x.blocks_sent, x.requests,
           x.cancels, x.handshaken, x.left);
}

/// The mock's interface: the far end of a connection, plus its own timers
/// and a report for the harness.
using mock_peer_actor = wire_peer_actor::extend<
  // Timer: this requested block is due now (unless cancelled meanwhile).
  caf::reacts_to<deliver_atom, block_ref>,
  // Timer: leave the swarm now.
  caf::reacts_to<closed_atom>,
  // What it did so far.
  caf::replies_to<status_atom>::with<mock_report>>;

/// Spawns a mock peer. It waits for our handshake (the first wire_atom) and
/// answers the sender from then on.
mock_peer_actor spawn_mock_peer(caf::actor_system& sys, mock_profile profile);

} // namespace actorrent::sim

CAF_BEGIN_TYPE_ID_BLOCK(actorrent_sim, caf::id_block::actorrent::end)
  CAF_ADD_TYPE_ID(actorrent_sim, (actorrent::sim::mock_profile))
  CAF_ADD_TYPE_ID(actorrent_sim, (actorrent::sim::mock_report))
  CAF_ADD_TYPE_ID(actorrent_sim, (std::vector<actorrent::sim::mock_report>))
  CAF_ADD_TYPE_ID(actorrent_sim, (actorrent::sim::mock_peer_actor))
  CAF_ADD_ATOM(actorrent_sim, actorrent::sim, spawn_atom, "spawn")
CAF_END_TYPE_ID_BLOCK(actorrent_sim)

namespace actorrent::sim {

/// Spawns mock peers where it lives: how a worker process hosts them.
using mock_factory_actor = caf::typed_actor<
  caf::replies_to<spawn_atom, mock_profile>::with<mock_peer_actor>>;

} // namespace actorrent::sim
