// The start-up check's hashing: which pieces already on disk match their
// SHA-1, on every core.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "actorrent/error.hpp"
#include "actorrent/sha1_hash.hpp"
#include "storage.hpp"

namespace actorrent {

/// Reads each of `pieces` from `store` and returns, in the order given, those
/// whose SHA-1 equals `hashes[piece]`. Pieces out of range of `hashes` or of
/// the layout, or of size 0, are left out. `threads` threads (0: one per
/// core, never more than there are pieces; the caller's thread is one of
/// them) take the next piece in turn; each reads its piece in chunks of at
/// most 256 KiB into a buffer of its own and hashes it as it goes, so memory
/// is one chunk per thread whatever the piece size. Reads are serialised
/// (storage is not thread-safe; copying from the page cache is several times
/// faster than hashing), the hashing runs in parallel. The first read error
/// stops every thread and is returned.
result<std::vector<std::uint32_t>> verify_stored_pieces(storage& store,
                                                        std::span<const sha1_hash> hashes,
                                                        std::span<const std::uint32_t> pieces,
                                                        unsigned threads = 0);

} // namespace actorrent
