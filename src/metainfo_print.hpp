// Human-readable summary of a .torrent, for `actorrent show`.
#pragma once

#include <ostream>

#include "actorrent/metainfo.hpp"

namespace actorrent {

/// Prints name, info-hash, sizes, pieces, flags, files, trackers and web
/// seeds, one item per line.
void print_metainfo(std::ostream& out, const metainfo& m);

} // namespace actorrent
