// A block: the unit of requests on the wire (BEP 3 REQUEST/PIECE/CANCEL).
#pragma once

#include "actorrent/sha1_hash.hpp"

#include <cstdint>

namespace actorrent {

struct block_ref {
  std::uint32_t piece = 0;
  std::uint32_t begin = 0;   ///< byte offset in the piece
  std::uint32_t length = 0;  ///< at most the block size (16 KiB); the last block may be shorter
  friend bool operator==(const block_ref&, const block_ref&) = default;
};

/// What one received block of a piece hashed to (SHA-1 of its bytes).
struct block_digest {
  std::uint32_t begin = 0;  ///< byte offset in the piece
  sha1_hash digest;
  friend bool operator==(const block_digest&, const block_digest&) = default;
};

} // namespace actorrent
