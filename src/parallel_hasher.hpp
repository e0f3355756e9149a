// SHA-1 of every piece of a list of files taken as one stream of bytes, on
// several threads: the work of `actorrent create`.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "actorrent/error.hpp"
#include "actorrent/sha1_hash.hpp"
#include "content_listing.hpp"

namespace actorrent {

/// Hashes `files` (their bytes concatenated, in order) in pieces of
/// `piece_size`, the last one shorter. Each of `threads` threads (0: one per
/// core) takes the next unhashed piece and reads it with pread in chunks of at
/// most 1 MiB, so memory stays at one chunk per thread whatever the piece
/// size. `progress` gets the number of finished pieces on the calling thread:
/// 0 before any thread starts, then about ten times a second, and once at
/// the end. The first read error stops every thread and is returned, naming
/// the file; a file shorter than its listed length is an error too (it
/// changed meanwhile).
result<std::vector<sha1_hash>> hash_pieces(const std::vector<content_file>& files,
                                           std::int64_t piece_size, unsigned threads,
                                           const std::function<void(std::uint32_t)>& progress);

} // namespace actorrent
