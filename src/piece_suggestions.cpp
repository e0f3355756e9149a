#include "piece_suggestions.hpp"

#include <algorithm>

namespace actorrent {

void piece_suggestions::add(std::uint32_t piece) {
  if (capacity_ == 0) return;
  std::erase(pieces_, piece);
  if (pieces_.size() == capacity_) pieces_.pop_front();
  pieces_.push_back(piece);
}

bitfield piece_suggestions::wanted(const bitfield& peer_has, const bitfield& ours) {
  const std::size_t n = peer_has.size();
  std::erase_if(pieces_, [&](std::uint32_t p) { return p >= n || p >= ours.size() || ours.test(p); });
  bitfield out(n);
  for (auto p : pieces_)
    if (peer_has.test(p)) out.set(p);
  return out;
}

} // namespace actorrent
