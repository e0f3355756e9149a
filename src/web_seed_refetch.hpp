// Which of the blocks offered to a web seed it gives back to the pool, so
// that a piece that failed its hash check after this web seed served it is
// fetched from another source where one can.
//
// The PieceManager never offers a block it received again unless the piece
// failed its check, so a block this web seed delivered that comes back is a
// block of a failed piece. The web seed gives such blocks back for a while
// (another source asking meanwhile takes them: a started piece's blocks go
// first), and fetches them itself once that time is over, for when it is the
// only source. One failure is forgiven a web seed (a file caught while it was
// being replaced); fetched again from it, the piece would likely fail again
// only if the server really serves wrong data.
#pragma once

#include "block_ref.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <vector>

namespace actorrent {

class web_seed_refetch {
public:
  using clock = std::chrono::steady_clock;

  /// `piece_count` pieces of `piece_length` bytes, in blocks of 16 KiB.
  web_seed_refetch(std::uint32_t piece_count, std::int64_t piece_length,
                   std::chrono::milliseconds prefer_others_for);

  /// The web seed reported this block to the PieceManager.
  void delivered(const block_ref& b);

  struct split {
    std::vector<block_ref> keep;       ///< fetch these
    std::vector<block_ref> give_back;  ///< drop these back to the pool
    /// Pieces given back for the first time (worth a line in the log).
    std::vector<std::uint32_t> newly_returned;
  };

  /// Splits work offered at `now`.
  split offer(std::vector<block_ref> blocks, clock::time_point now);

private:
  static constexpr std::uint32_t block_size = 16 * 1024;

  bool was_delivered(const block_ref& b) const;
  std::size_t index_of(const block_ref& b) const;

  std::uint32_t piece_count_;
  std::uint32_t blocks_per_piece_;
  std::chrono::milliseconds prefer_others_for_;
  std::vector<bool> delivered_;  // one bit per block of the torrent
  // Failed pieces being left to others, since when; a handful at most, as
  // the web seed is dropped at its second failure.
  std::map<std::uint32_t, clock::time_point> returned_;
};

} // namespace actorrent
