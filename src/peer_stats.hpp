// What one connection reports about itself: for the choker and the status line.
#pragma once

#include <cstdint>

namespace actorrent {

struct peer_stats {
  std::uint64_t downloaded = 0;  ///< payload bytes received, total
  std::uint64_t uploaded = 0;    ///< payload bytes sent, total
  /// Payload of blocks we no longer wanted (cancelled in end-game, timed out)
  /// or never asked for: received and thrown away.
  std::uint64_t discarded = 0;
  double download_rate = 0;      ///< bytes per second, recent
  double upload_rate = 0;
  bool peer_interested = false;  ///< the remote peer wants data from us
  bool snubbed = false;          ///< it stopped sending us what we asked for
  bool seed = false;             ///< it has every piece
};

} // namespace actorrent
