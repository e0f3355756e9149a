// What a valid .torrent must respect, shared by the reader and the creator so
// that what actorrent makes it also reads, and both say the same thing.
#pragma once

#include <cstdint>
#include <string_view>

namespace actorrent {

/// The largest piece length the reader accepts.
inline constexpr std::int64_t max_piece_length = std::int64_t{64} << 20;

/// The largest .torrent file the reader loads.
inline constexpr std::uintmax_t max_torrent_file = std::uintmax_t{64} << 20;

/// The reason a torrent whose files add up to 0 bytes is refused.
inline constexpr std::string_view no_data_message =
    "the torrent holds no data (its files add up to 0 bytes): nothing to download";

} // namespace actorrent
