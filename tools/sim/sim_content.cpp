#include "sim_content.hpp"

#include <algorithm>
#include <cstring>

namespace actorrent::sim {

namespace {

std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

} // namespace

std::int64_t content_spec::piece_size(std::uint32_t piece) const {
  if (piece >= num_pieces) return 0;
  return std::min(piece_length, total_length - std::int64_t{piece} * piece_length);
}

void fill(const content_spec& c, std::int64_t offset, std::span<std::uint8_t> out) {
  // One 64-bit word per 8 bytes of the torrent, so any range is cheap.
  std::size_t i = 0;
  while (i < out.size()) {
    std::int64_t pos = offset + static_cast<std::int64_t>(i);
    auto word = splitmix(c.seed * 0x100000001b3ull ^ static_cast<std::uint64_t>(pos / 8));
    std::uint8_t bytes[8];
    std::memcpy(bytes, &word, 8);
    auto skip = static_cast<std::size_t>(pos % 8);
    auto n = std::min<std::size_t>(8 - skip, out.size() - i);
    std::memcpy(out.data() + i, bytes + skip, n);
    i += n;
  }
}

std::vector<sha1_hash> piece_hashes(const content_spec& c) {
  std::vector<sha1_hash> out;
  out.reserve(c.num_pieces);
  std::vector<std::uint8_t> buf(static_cast<std::size_t>(c.piece_length));
  for (std::uint32_t p = 0; p < c.num_pieces; ++p) {
    auto size = static_cast<std::size_t>(c.piece_size(p));
    fill(c, std::int64_t{p} * c.piece_length, std::span<std::uint8_t>(buf.data(), size));
    out.push_back(sha1(std::span<const std::uint8_t>(buf.data(), size)));
  }
  return out;
}

} // namespace actorrent::sim
