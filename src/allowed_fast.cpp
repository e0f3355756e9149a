#include "allowed_fast.hpp"

#include <algorithm>
#include <span>

namespace actorrent {

std::size_t allowed_fast_count(std::uint32_t num_pieces) {
  return std::min<std::size_t>(10, num_pieces / 2);
}

std::vector<std::uint32_t> allowed_fast_set(const std::array<std::uint8_t, 4>& ipv4,
                                            const sha1_hash& info_hash,
                                            std::uint32_t num_pieces, std::size_t k) {
  std::vector<std::uint32_t> out;
  k = std::min<std::size_t>(k, num_pieces);
  if (k == 0) return out;
  out.reserve(k);
  // x = (ip & 0xffffff00) followed by the info-hash; then x = SHA-1(x) for
  // as long as it takes, five 32-bit indexes per round.
  std::array<std::uint8_t, 24> first{};
  std::copy_n(ipv4.begin(), 3, first.begin());
  std::copy(info_hash.bytes.begin(), info_hash.bytes.end(), first.begin() + 4);
  sha1_hash x = sha1(std::span<const std::uint8_t>(first));
  // Collecting every index of a small torrent takes a few dozen draws; the
  // bound only guards against a k close to num_pieces on a large one.
  for (int round = 0; round < 4096 && out.size() < k; ++round) {
    for (std::size_t i = 0; i < 5 && out.size() < k; ++i) {
      const std::uint8_t* p = x.bytes.data() + 4 * i;
      const std::uint32_t y = (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
                              (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
      const std::uint32_t index = y % num_pieces;
      if (std::find(out.begin(), out.end(), index) == out.end()) out.push_back(index);
    }
    x = sha1(std::span<const std::uint8_t>(x.bytes));
  }
  return out;
}

} // namespace actorrent
