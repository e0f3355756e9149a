#include "web_seed_refetch.hpp"

#include <set>

namespace actorrent {

web_seed_refetch::web_seed_refetch(std::uint32_t piece_count, std::int64_t piece_length,
                                   std::chrono::milliseconds prefer_others_for)
  : piece_count_(piece_count),
    blocks_per_piece_(piece_length <= 0 ? 1
                                        : static_cast<std::uint32_t>((piece_length + block_size - 1) / block_size)),
    prefer_others_for_(prefer_others_for),
    delivered_(static_cast<std::size_t>(piece_count) * blocks_per_piece_, false) {
}

std::size_t web_seed_refetch::index_of(const block_ref& b) const {
  return static_cast<std::size_t>(b.piece) * blocks_per_piece_ + b.begin / block_size;
}

void web_seed_refetch::delivered(const block_ref& b) {
  if (b.piece >= piece_count_ || b.begin / block_size >= blocks_per_piece_) return;
  delivered_[index_of(b)] = true;
}

bool web_seed_refetch::was_delivered(const block_ref& b) const {
  if (b.piece >= piece_count_ || b.begin / block_size >= blocks_per_piece_) return false;
  return delivered_[index_of(b)];
}

web_seed_refetch::split web_seed_refetch::offer(std::vector<block_ref> blocks, clock::time_point now) {
  split out;
  std::set<std::uint32_t> taken_again;
  for (const auto& b : blocks) {
    if (!was_delivered(b)) {
      out.keep.push_back(b);
      continue;
    }
    auto [it, fresh] = returned_.try_emplace(b.piece, now);
    if (now - it->second < prefer_others_for_) {
      if (fresh) out.newly_returned.push_back(b.piece);
      out.give_back.push_back(b);
    } else {
      // Nobody else took it: this web seed is the source left.
      out.keep.push_back(b);
      taken_again.insert(b.piece);
    }
  }
  for (auto piece : taken_again) {
    returned_.erase(piece);
    // Fetched again from here: its blocks are this web seed's once more
    // only when delivered again.
    for (std::uint32_t i = 0; i < blocks_per_piece_; ++i)
      delivered_[static_cast<std::size_t>(piece) * blocks_per_piece_ + i] = false;
  }
  return out;
}

} // namespace actorrent
