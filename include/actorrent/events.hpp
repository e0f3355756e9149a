// What a session tells its subscribers: one struct per kind of event, sent
// as a typed message to every actor passed to session::subscribe(). Every
// event names its torrent by info-hash; strings are only text for people.
//
//   caf::behavior listener(caf::event_based_actor*) {
//     return {
//       [](const actorrent::download_finished& e) { ... },
//       [](const actorrent::torrent_error& e) { ... },
//     };
//   }
#pragma once

#include "actorrent/sha1_hash.hpp"
#include "actorrent/status.hpp"

#include <cstdint>
#include <string>

namespace actorrent {

/// The torrent was added and starts its start-up check.
struct torrent_added {
  sha1_hash info_hash;
  std::string name;
  std::string download_dir;
};

/// The start-up check hashed another batch of pieces.
struct checking_progress {
  sha1_hash info_hash;
  std::uint32_t checked = 0;  ///< pieces hashed so far
  std::uint32_t to_check = 0;
  std::uint32_t present = 0;  ///< pieces found good so far (resume data included)
};

/// The start-up check is over; downloading (or seeding) starts.
struct checking_finished {
  sha1_hash info_hash;
  std::uint32_t present = 0;
  std::uint32_t total = 0;
  std::string how;  ///< e.g. "resume data matches the files"
};

/// A piece passed its hash check and is on disk.
struct piece_verified {
  sha1_hash info_hash;
  std::uint32_t piece = 0;
};

/// A piece failed its hash check; it is fetched again.
struct hash_failed {
  sha1_hash info_hash;
  std::uint32_t piece = 0;
};

struct peer_connected {
  sha1_hash info_hash;
  std::string peer;  ///< "host:port"
  bool incoming = false;
};

struct peer_disconnected {
  sha1_hash info_hash;
  std::string peer;
  std::string reason;
};

/// A host sent bad data: every connection to it is closed, and it is never
/// connected to again.
struct peer_banned {
  sha1_hash info_hash;
  std::string host;
};

/// A tracker accepted an announce.
struct tracker_reply {
  sha1_hash info_hash;
  std::string tracker;
  std::uint32_t peers = 0;    ///< addresses it gave
  std::int32_t interval = 0;  ///< seconds until the next announce
};

/// A tracker failed or warned.
struct tracker_error {
  sha1_hash info_hash;
  std::string tracker;
  std::string message;
};

/// Once a second while the torrent runs, when the session was asked for it
/// (session_options::status_interval).
struct status_update {
  torrent_status status;
};

/// Every piece is verified and on disk. Unless it seeds, the torrent stops.
struct download_finished {
  torrent_status status;
};

/// Seeding ended (time or ratio reached); the torrent stopped.
struct seeding_finished {
  torrent_status status;
};

/// A torrent added from a magnet link has its metainfo: fetched from peers
/// and checked against the info-hash, or read from the .torrent saved on an
/// earlier run. The download proper starts (its torrent_added follows,
/// with the real name).
struct metadata_received {
  sha1_hash info_hash;
  std::string name;
  std::string torrent_file;  ///< where the .torrent is saved
  bool fetched = false;      ///< from peers now (false: the saved file was used)
};

/// The torrent cannot go on (a full disk, no peer for too long, ...); it stopped.
struct torrent_error {
  sha1_hash info_hash;
  std::string message;
  bool gave_up = false;  ///< no data for the stall timeout (rather than a fault)
};

/// The torrent was removed (torrent_handle::remove), its data deleted if asked.
struct torrent_removed {
  sha1_hash info_hash;
  bool data_deleted = false;
};

/// The session is shutting down; no event follows.
struct session_stopped {};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, torrent_added& x) {
  return f(x.info_hash, x.name, x.download_dir);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, checking_progress& x) {
  return f(x.info_hash, x.checked, x.to_check, x.present);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, checking_finished& x) {
  return f(x.info_hash, x.present, x.total, x.how);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, piece_verified& x) {
  return f(x.info_hash, x.piece);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hash_failed& x) {
  return f(x.info_hash, x.piece);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_connected& x) {
  return f(x.info_hash, x.peer, x.incoming);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_disconnected& x) {
  return f(x.info_hash, x.peer, x.reason);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_banned& x) {
  return f(x.info_hash, x.host);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, tracker_reply& x) {
  return f(x.info_hash, x.tracker, x.peers, x.interval);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, tracker_error& x) {
  return f(x.info_hash, x.tracker, x.message);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, status_update& x) {
  return f(x.status);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, download_finished& x) {
  return f(x.status);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, seeding_finished& x) {
  return f(x.status);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, metadata_received& x) {
  return f(x.info_hash, x.name, x.torrent_file, x.fetched);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, torrent_error& x) {
  return f(x.info_hash, x.message, x.gave_up);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, torrent_removed& x) {
  return f(x.info_hash, x.data_deleted);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_stopped&) {
  return f();
}

} // namespace actorrent
