// The status API's JSON: what GET /api/torrents returns, built from the
// public torrent_status. Field names are part of the API (README.md).
#pragma once

#include "actorrent/status.hpp"

#include <string>
#include <vector>

namespace actorrent {

/// {"torrents":[{...}, ...]}: one object per torrent, in the given order.
std::string torrents_json(const std::vector<torrent_status>& torrents);

} // namespace actorrent
