// The simulated torrent's bytes: a pure function of (seed, offset), so every
// mock peer, in this process or another, serves the same content without
// storing it, and the piece hashes are computed once from the same function.
#pragma once

#include "actorrent/sha1_hash.hpp"

#include <cstdint>
#include <span>
#include <vector>

namespace actorrent::sim {

struct content_spec {
  std::uint64_t seed = 1;
  std::uint32_t num_pieces = 0;
  std::int64_t piece_length = 0;
  std::int64_t total_length = 0;

  std::int64_t piece_size(std::uint32_t piece) const;
};

/// Writes the torrent's bytes [offset, offset + out.size()) into `out`.
void fill(const content_spec& c, std::int64_t offset, std::span<std::uint8_t> out);

/// SHA-1 of every piece.
std::vector<sha1_hash> piece_hashes(const content_spec& c);

} // namespace actorrent::sim
