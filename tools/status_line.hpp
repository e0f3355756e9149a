// Human-readable progress: the live line on a terminal, plain lines in logs.
#pragma once

#include "actorrent/create_torrent.hpp"
#include "actorrent/events.hpp"
#include "actorrent/status.hpp"

#include <string>

namespace actorrent::cli {

/// "42.0% 310.2 MiB/s down 0 B/s up, peers 2/3, ETA 1s"
std::string format_status(const torrent_status& st);

/// "checking  33.3% (32 of 96 pieces, 30 present)"; with `bar` (a
/// terminal) "checking [##########--------------------]  33.3% (...)".
std::string format_checking(const checking_progress& p, bool bar = false);

/// "hashing [#########-----------]  42.0% (12 of 30 pieces, 380.5 MiB/s)";
/// the bar only when `bar` (a terminal). `seconds` since hashing began.
std::string format_hashing(const create_progress& p, double seconds, bool bar);

/// "1.5 MiB", "12 B"
std::string format_bytes(double bytes);

/// A duration for a person: "0.25 s", "12.3 s", "2m05s", "1h02m".
std::string format_duration(double seconds);

} // namespace actorrent::cli
