// The PieceManager actor: the only owner of piece state for one torrent.
#pragma once

#include "interfaces.hpp"

#include "bitfield.hpp"

#include <caf/actor_system.hpp>

namespace actorrent {

struct piece_manager_config {
  std::uint32_t num_pieces = 0;
  std::int64_t piece_length = 0;
  std::int64_t total_length = 0;
  picker_config picker;
  /// Pieces already verified on disk (start-up check); empty = none.
  bitfield have;
  /// One per piece (the file selection, 0: skip); empty: every piece at 1.
  /// "Done" means every piece of priority > 0 is verified.
  std::vector<std::uint8_t> priorities;
  /// Bytes of pieces started and not yet verified (partial or waiting for
  /// the hash check): their blocks sit in the DiskWriter's memory. Past
  /// this, peers only get blocks of pieces already started. Used when
  /// picker.max_pieces_in_progress is 0; at least 2 pieces.
  std::int64_t max_in_progress_bytes = 16 << 20;
  /// Bytes of complete pieces waiting to be hashed and written. Past this,
  /// peers get no new work until the DiskWriter catches up: a network faster
  /// than the disk must not turn into unbounded memory.
  std::int64_t max_verifying_bytes = 4 << 20;
  /// Bytes of blocks received and not yet written, plus those requested
  /// (counted as whole blocks): all of them sit, or will, in memory until
  /// their piece is hashed and written. New pieces start only within the
  /// room left (blocks of started pieces are always handed out, or partial
  /// pieces could wait forever), so a disk slower than the network holds
  /// about this much (at least two pieces, so one can be written while the
  /// next arrives); 0 = no limit.
  std::int64_t max_unwritten_bytes = 4 << 20;
  /// How often, at most, the resume data is saved while pieces pass.
  std::chrono::milliseconds resume_interval{5'000};
  /// Time allowed for hashing and writing one piece.
  std::chrono::milliseconds disk_timeout{120'000};
};

/// Spawns the PieceManager. It reports done/fatal/ban to `torrent`.
piece_manager_actor spawn_piece_manager(caf::actor_system& sys, piece_manager_config cfg,
                                        disk_writer_actor disk, piece_manager_owner_actor torrent);

} // namespace actorrent
