// The fast extension (BEP 6): the handshake bit that announces it, and the
// canonical allowed-fast set, the pieces a peer may download from us while
// we choke it. The set depends only on the peer's /24 and the info-hash, so
// a peer gains nothing by reconnecting from another port or address of the
// same network.
#pragma once

#include "actorrent/sha1_hash.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace actorrent {

/// Reserved byte 7, bit 0x04 of the handshake: the sender speaks BEP 6.
inline constexpr std::size_t fast_extension_byte = 7;
inline constexpr std::uint8_t fast_extension_bit = 0x04;

/// How many allowed-fast pieces we grant a peer: BEP 6 suggests 10. A tiny
/// torrent grants at most half its pieces, so choking still means something.
std::size_t allowed_fast_count(std::uint32_t num_pieces);

/// The canonical allowed-fast set of BEP 6 for the peer at `ipv4`, in the
/// order generated: up to `k` distinct piece indexes below `num_pieces`
/// (fewer only when k >= num_pieces, or after a bounded number of rounds).
std::vector<std::uint32_t> allowed_fast_set(const std::array<std::uint8_t, 4>& ipv4,
                                            const sha1_hash& info_hash,
                                            std::uint32_t num_pieces, std::size_t k);

} // namespace actorrent
