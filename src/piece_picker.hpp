// Decides which blocks each peer should be asked for, and tracks every block
// of the torrent from "wanted" through "requested" and "received" to "have".
//
// Block lifecycle:
// - A block is wanted while it is neither received nor part of a piece we
//   have. A wanted block with no requester is "unrequested" (in the pool).
// - pick() hands out blocks and records the peer as a requester. Outside
//   end-game a block has at most one requester.
// - on_block() accepts the first copy of a wanted block; the block then stays
//   received until on_piece_failed() or on_piece_passed(). A piece whose
//   blocks are all received is "pending verification" and is never picked.
// - on_piece_passed()/set_have() make the piece ours; on_piece_failed() puts
//   every block of a pending piece back into the pool.
//
// Priorities (file selection): every piece starts at priority 1. pick()
// never starts a piece of priority 0 ("skipped"); among new pieces a higher
// priority goes first, then the strategy decides. A piece already started
// when it became skipped is still finished (its blocks are in memory).
// "Wanted" blocks are the missing ones except those of skipped pieces not
// started; end-game and wanted_complete() look at wanted blocks only.
//
// End-game: in_endgame() is true while wanted blocks are still missing and
// either no wanted block is unrequested, or have_count()/num_pieces() reaches
// endgame_threshold. In end-game, pick() first hands out unrequested blocks
// as usual, then duplicates of blocks other peers have in flight (fewest
// requesters first). End-game ends by itself when blocks return to the pool
// (a request is dropped or a peer disconnects) and the threshold is not met.
//
// Sizes: the last piece may be shorter than piece_length; the last block of a
// piece may be shorter than block_size. block_ref::begin is a multiple of
// block_size.
//
// Cost: per-block state exists only for pieces being downloaded, in a pooled
// array reused from piece to piece, so the steady state allocates nothing per
// block. pick() looks at the partial pieces, then runs one O(num_pieces) scan
// per new piece started. on_peer_gone() is O(blocks of partial pieces).
//
// Not thread-safe; meant to be owned by one actor.
#pragma once

#include "bitfield.hpp"
#include "block_ref.hpp"
#include "peer_key.hpp"

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace actorrent {

/// How new pieces are chosen (partial pieces always come first).
enum class pick_strategy : std::uint8_t {
  rarest,      ///< fewest connected peers have it; ties in a random order (BEP 3 practice)
  sequential,  ///< lowest index first (streaming)
  random,      ///< a random order fixed at construction, availability ignored
};

struct picker_config {
  pick_strategy strategy = pick_strategy::rarest;
  std::uint32_t block_size = 16 * 1024; // 0 acts as 16 KiB
  /// Fraction of pieces we have at which end-game may start even though
  /// unrequested blocks remain; 1.0 = only when every missing block is
  /// requested (or received).
  double endgame_threshold = 1.0;
  /// In end-game, at most this many peers have the same block in flight at
  /// once, the first requester included (2 = one duplicate request).
  /// Values below 1 act as 1, i.e. no duplicates.
  std::size_t endgame_max_requesters = 2;
  /// Random tie-break seed; 0 = seed from std::random_device.
  std::uint64_t seed = 0;
  /// At most this many pieces started but not yet verified (partial or
  /// pending verification); 0 = no limit. Their blocks are what sits in
  /// memory until the hash check, so this bounds that memory however many
  /// peers and requests there are. At the limit pick() only hands out blocks
  /// of started pieces (and end-game duplicates).
  std::uint32_t max_pieces_in_progress = 0;
};

class piece_picker {
public:
  /// Expects metainfo-validated sizes: num_pieces = ceil(total_length /
  /// piece_length), piece_length > 0.
  piece_picker(std::uint32_t num_pieces, std::int64_t piece_length,
               std::int64_t total_length, picker_config cfg = {});

  std::uint32_t num_pieces() const noexcept { return num_pieces_; }
  std::uint32_t blocks_in_piece(std::uint32_t piece) const noexcept;
  std::int64_t piece_size(std::uint32_t piece) const noexcept;
  /// Length of block `block` (0-based) of `piece`.
  std::uint32_t block_length(std::uint32_t piece, std::uint32_t block) const noexcept;

  // Availability: how many connected peers have each piece. Bitfields of the
  // wrong size count only their first num_pieces() bits.
  void add_peer_pieces(const bitfield& has);    // a peer's bitfield arrived
  void remove_peer_pieces(const bitfield& has); // a peer left
  void add_peer_piece(std::uint32_t piece);     // HAVE
  std::uint32_t availability(std::uint32_t piece) const noexcept;

  // Our pieces.
  bool have(std::uint32_t piece) const noexcept;
  std::uint32_t have_count() const noexcept { return have_count_; }
  bool complete() const noexcept { return have_count_ == num_pieces_; }
  /// Every piece that is not skipped (see set_priorities) is ours.
  bool wanted_complete() const noexcept {
    return wanted_missing_blocks() == 0 && pending_count_ == 0;
  }
  const bitfield& have_bits() const noexcept { return have_; }
  /// Marks a verified piece as ours (also for pieces found on disk at
  /// start-up); forgets any requests in flight for it.
  void set_have(std::uint32_t piece);
  /// True when every block of `piece` is received and its hash is awaited.
  bool pending_verification(std::uint32_t piece) const noexcept;

  /// Picks up to `max_blocks` blocks for `peer` among pieces `peer_has` has
  /// and we lack, and records `peer` as a requester of each. Order: partial
  /// pieces first (oldest started first), then new pieces rarest-first with
  /// ties broken by a random permutation fixed at construction; in end-game,
  /// then duplicates of blocks requested by others. Never returns a received
  /// block, nor one this peer already has in flight.
  /// `may_start` false: blocks of started pieces (and end-game duplicates)
  /// only, as at the piece limit.
  std::vector<block_ref> pick(peer_key peer, const bitfield& peer_has, std::size_t max_blocks,
                              bool may_start = true);
  bool in_endgame() const noexcept;
  /// The fewest copies of any piece among the connected peers and us (a
  /// piece we have counts once for us): 0 means some piece is nowhere.
  std::uint32_t min_availability() const noexcept;
  /// Pieces started and not yet verified: partial or pending verification.
  std::uint32_t pieces_in_progress() const noexcept {
    return static_cast<std::uint32_t>(partial_.size()) + pending_count_;
  }
  /// No new piece may start until one in progress is verified or dropped.
  bool at_piece_limit() const noexcept {
    return cfg_.max_pieces_in_progress != 0 && pieces_in_progress() >= cfg_.max_pieces_in_progress;
  }

  struct receive_result {
    /// False when the block was not wanted (already received, piece pending
    /// or had, unknown block): the caller drops the data.
    bool accepted = false;
    /// This block completed the piece: it is now pending verification.
    bool piece_complete = false;
    /// The OTHER peers that had requested the block (send them CANCEL).
    std::vector<peer_key> cancel;
  };
  /// A block arrived from `peer` (requested by it or not).
  receive_result on_block(peer_key peer, const block_ref& b);
  /// `peer`'s request for `b` timed out, was rejected or cancelled by us: the
  /// block goes back to the pool unless someone else has it in flight.
  void on_request_dropped(peer_key peer, const block_ref& b);
  /// Forgets every request of `peer` (its availability is removed separately
  /// with remove_peer_pieces).
  void on_peer_gone(peer_key peer);
  /// Hash ok: same as set_have.
  void on_piece_passed(std::uint32_t piece);
  /// Hash bad: every block of the piece becomes wanted again. Ignored for a
  /// piece we already have.
  void on_piece_failed(std::uint32_t piece);

  /// Peers that have `b` in flight (empty for unknown or unrequested blocks).
  std::vector<peer_key> requesters(const block_ref& b) const;
  std::size_t blocks_in_flight(peer_key peer) const;
  /// Requests in flight at all peers (a block asked of two peers counts twice).
  std::size_t blocks_in_flight() const noexcept { return in_flight_total_; }
  /// Blocks neither received nor part of a piece we have.
  std::uint32_t missing_blocks() const noexcept { return missing_; }
  /// Missing blocks that nobody has in flight.
  std::uint32_t unrequested_blocks() const noexcept { return unrequested_; }
  /// Missing blocks, those of skipped pieces not started excepted.
  std::uint32_t wanted_missing_blocks() const noexcept { return missing_ - skipped_blocks_; }

  /// One priority per piece (0 = skip, 1 = normal, higher = sooner); a
  /// vector of another size leaves the pieces beyond it at 1. O(num_pieces).
  void set_priorities(const std::vector<std::uint8_t>& priorities);
  std::uint8_t priority(std::uint32_t piece) const noexcept {
    return piece < num_pieces_ ? priority_[piece] : 0;
  }

private:
  enum class piece_state : std::uint8_t { untouched, partial, pending, had };

  // Per block of a partial piece. `first` is valid when num_requesters > 0;
  // further requesters (end-game only) live in the slot's `extra` list.
  struct block_info {
    peer_key first = 0;
    std::uint32_t num_requesters = 0;
    bool received = false;
  };
  struct extra_requester {
    std::uint32_t block;
    peer_key peer;
  };
  // A reusable set of block_info for one partial piece.
  struct slot {
    std::uint32_t piece = 0;
    std::uint32_t unrequested = 0; // neither received nor requested
    std::uint32_t requested = 0;   // not received, at least one requester
    std::uint32_t received = 0;
    std::vector<extra_requester> extra;
  };

  static constexpr std::uint32_t no_slot = 0xffffffffu;

  block_info* blocks_of(std::uint32_t slot_index) noexcept;
  const block_info* blocks_of(std::uint32_t slot_index) const noexcept;
  std::uint32_t start_piece(std::uint32_t piece);
  void release_slot(std::uint32_t piece);
  void forget_requests(std::uint32_t piece);
  bool block_index(const block_ref& b, std::uint32_t& index) const noexcept;
  void add_requester(std::uint32_t slot_index, std::uint32_t block, peer_key peer);
  bool remove_requester(std::uint32_t slot_index, std::uint32_t block, peer_key peer);
  bool is_requester(std::uint32_t slot_index, std::uint32_t block, peer_key peer) const;
  void count_in_flight(peer_key peer, std::ptrdiff_t delta);
  block_ref make_ref(std::uint32_t piece, std::uint32_t block) const noexcept;
  std::uint32_t find_new_piece(const bitfield& peer_has) const;
  // A piece leaves or enters the untouched state: keeps skipped_blocks_ right.
  void leaving_untouched(std::uint32_t piece) noexcept;
  void entering_untouched(std::uint32_t piece) noexcept;
  void pick_duplicates(peer_key peer, const bitfield& peer_has, std::size_t max_blocks,
                       std::vector<block_ref>& out);

  std::uint32_t num_pieces_;
  std::int64_t piece_length_;
  std::int64_t total_length_;
  picker_config cfg_;
  std::int64_t last_piece_size_;
  std::uint32_t blocks_per_piece_; // of every piece but possibly the last
  std::uint32_t last_piece_blocks_;

  std::vector<std::uint32_t> availability_;
  bitfield have_;
  std::uint32_t have_count_ = 0;
  std::uint32_t missing_ = 0;
  std::uint32_t unrequested_ = 0;
  std::uint32_t pending_count_ = 0;
  std::uint32_t skipped_blocks_ = 0;  // blocks of untouched pieces of priority 0
  std::uint8_t max_priority_ = 1;     // the highest of priority_
  std::vector<std::uint8_t> priority_;

  std::vector<piece_state> state_;
  std::vector<std::uint32_t> slot_of_;  // piece -> slot, no_slot unless partial
  std::vector<std::uint32_t> order_;    // random permutation of pieces
  std::vector<std::uint32_t> partial_;  // partial pieces, oldest started first
  std::vector<slot> slots_;
  std::vector<block_info> block_pool_;  // blocks_per_piece_ entries per slot
  std::vector<std::uint32_t> free_slots_;
  std::unordered_map<peer_key, std::size_t> in_flight_;
  std::size_t in_flight_total_ = 0;
};

} // namespace actorrent
