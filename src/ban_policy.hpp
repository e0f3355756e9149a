// Who to ban for bad data: the PieceManager's judgement of the hosts that
// sent blocks of pieces whose hash check failed.
//
// A piece that fails tells only that one of its senders lied, not which.
// Banning every sender would let one liar get honest peers banned by sharing
// pieces with them. So the failed piece's blocks are remembered as digests,
// per sender; when the piece later passes (fetched again), each remembered
// block is compared with the good one, and exactly the hosts whose blocks
// differed are banned. A host that alone sent a piece that fails is banned at
// once. Records are kept per host, not per connection, so disconnecting
// before the hash check or coming back on another port changes nothing.
//
// Web seeds (BEP 19) are hosts named by their URL. A server whose file is
// being replaced serves a mix of old and new bytes for a moment, so one
// failure charged to a URL is forgiven: it is banned at its second (each
// piece it alone sent that fails, and each block of it proven wrong once
// the piece passes, is one failure).
//
// Bounded: at most max_pieces failed pieces await judgement (the oldest is
// forgotten first), each with the blocks of its last few failures.
#pragma once

#include "actorrent/sha1_hash.hpp"
#include "block_ref.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace actorrent {

/// One block of a piece as it was received: where, from whom, what it hashed to.
struct block_origin {
  std::uint32_t begin = 0;
  std::string host;
  sha1_hash digest;
};

class ban_policy {
public:
  explicit ban_policy(std::size_t max_pieces = 1024, unsigned web_seed_failures = 2);

  /// Whether `host` names a web seed (a URL) rather than a peer's address.
  static bool is_web_seed(const std::string& host) noexcept;

  /// A piece failed its hash check; `blocks` says who sent each block and
  /// what it hashed to. Returns the hosts to ban now: the sender of the whole
  /// piece when there was only one (a web seed at its second failure).
  std::vector<std::string> on_piece_failed(std::uint32_t piece, std::span<const block_origin> blocks);

  /// Whether `piece` failed before and awaits judgement: then its passing
  /// blocks' digests are needed.
  bool awaits_judgement(std::uint32_t piece) const { return failed_.count(piece) != 0; }

  /// `piece` passed; `good` are the digests of its blocks. Returns the hosts
  /// whose earlier blocks of it differed (web seeds at their second failure).
  std::vector<std::string> on_piece_passed(std::uint32_t piece, std::span<const block_digest> good);

  bool banned(const std::string& host) const { return banned_.count(host) != 0; }
  std::size_t pieces_awaiting_judgement() const noexcept { return failed_.size(); }

private:
  static constexpr std::size_t failures_kept_per_piece = 4;

  /// Charges one failure to each host; returns those now to be banned.
  std::vector<std::string> charge(std::vector<std::string> hosts);

  std::size_t max_pieces_;
  unsigned web_seed_failures_;
  // Failures charged to web seeds not (yet) banned; peers are banned at
  // their first, so only URLs, a handful per torrent, are kept here.
  std::unordered_map<std::string, unsigned> web_seed_charged_;
  std::unordered_map<std::uint32_t, std::vector<std::vector<block_origin>>> failed_;
  std::deque<std::uint32_t> order_;  // failed pieces, oldest first
  std::unordered_set<std::string> banned_;
};

} // namespace actorrent
