// The pieces one peer suggested (BEP 6 suggest_piece): a hint the
// PieceManager follows before its own choice, as long as we still want the
// piece. Bounded: the newest few are kept, older ones forgotten.
#pragma once

#include "bitfield.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>

namespace actorrent {

class piece_suggestions {
public:
  piece_suggestions() = default;
  explicit piece_suggestions(std::size_t capacity) : capacity_(capacity) {}

  /// Remembers `piece` as the newest suggestion (a repeat moves it there).
  void add(std::uint32_t piece);

  /// The suggested pieces that the peer has and we lack, as a bitfield of
  /// `peer_has.size()` bits to pick from. Forgets suggestions of pieces we
  /// have or that are out of range.
  bitfield wanted(const bitfield& peer_has, const bitfield& ours);

  bool empty() const noexcept { return pieces_.empty(); }
  std::size_t size() const noexcept { return pieces_.size(); }

private:
  std::size_t capacity_ = 8;
  std::deque<std::uint32_t> pieces_;  // oldest first
};

} // namespace actorrent
