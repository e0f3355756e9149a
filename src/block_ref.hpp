// A block: the unit of requests on the wire (BEP 3 REQUEST/PIECE/CANCEL).
#pragma once

#include <cstdint>

namespace actorrent {

struct block_ref {
  std::uint32_t piece = 0;
  std::uint32_t begin = 0;   ///< byte offset in the piece
  std::uint32_t length = 0;  ///< at most the block size (16 KiB); the last block may be shorter
  friend bool operator==(const block_ref&, const block_ref&) = default;
};

} // namespace actorrent
