// Which files of a torrent to download, and how soon: file priorities (one
// per file that is not padding, in the order `actorrent show` numbers them
// and torrent_status::files lists them) and the piece priorities the picker
// works with.
//
// 0 skips a file, 1 is normal, higher comes first. A piece gets the highest
// priority of the files it holds bytes of, so a piece that straddles a
// wanted and a skipped file is downloaded; its bytes that belong to the
// skipped file are written there, which creates that file (sparse, at its
// full size). Writing them in place keeps one copy of every verified byte
// where a later selection of that file expects it, and the resume data
// then covers it like any other file.
#pragma once

#include "actorrent/metainfo.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace actorrent {

/// The files of `meta` that are not padding.
std::size_t data_file_count(const metainfo& meta);

/// Piece priorities for the picker from file priorities (see the top of
/// this file). Files past the end of `file_priorities` get 1; padding and
/// empty files do not count; a piece holding bytes of no data file keeps 1.
std::vector<std::uint8_t> piece_priorities(const metainfo& meta,
                                           const std::vector<std::uint8_t>& file_priorities);

} // namespace actorrent
