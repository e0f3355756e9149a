// What a torrent is doing: the answer to a status_request, and the payload
// of the events that carry figures.
#pragma once

#include "actorrent/sha1_hash.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace actorrent {

enum class torrent_state : std::uint8_t {
  checking,     ///< hashing what is on disk before anything else
  downloading,
  seeding,      ///< complete, serving others
  paused,       ///< no connections until resumed
  stopped,      ///< done or failed; the torrent is gone
  downloading_metadata,  ///< a magnet link: fetching the metainfo from peers
};

/// "checking", "downloading", ...
const char* to_string(torrent_state s) noexcept;

/// Progress of one torrent as its PieceManager sees it.
struct torrent_progress {
  std::uint32_t pieces_have = 0;
  std::uint32_t pieces_total = 0;
  std::int64_t bytes_have = 0;   ///< verified bytes
  std::int64_t bytes_total = 0;
  std::uint64_t downloaded = 0;  ///< payload bytes received, duplicates included
  std::uint64_t wasted = 0;      ///< duplicate or failed-hash payload bytes
  std::uint64_t duplicate = 0;   ///< of those, blocks we already had (end-game copies)
  std::uint32_t hash_failures = 0;
  /// The fewest copies of any piece among connected peers and us.
  std::uint32_t min_availability = 0;
  bool endgame = false;
  /// The file selection: bytes of the pieces it wants (bytes_total when
  /// every file is wanted), and of those the verified ones.
  std::int64_t total_wanted = 0;
  std::int64_t total_wanted_done = 0;
};

/// One file of the torrent and how much of it is verified.
struct file_progress {
  std::string path;           ///< relative to the download directory
  std::int64_t size = 0;
  std::int64_t bytes_have = 0;  ///< in verified pieces
  std::uint8_t priority = 1;    ///< 0: skipped (add_torrent_params::file_priorities)
};

/// What one remote host did for a torrent, over all its connections.
struct peer_summary {
  std::string host;
  std::uint64_t downloaded = 0;  ///< payload bytes we received from it
  std::uint64_t uploaded = 0;    ///< payload bytes we sent it
  bool banned = false;           ///< for sending bad data
};

/// One tracker of the torrent (every URL of announce / announce-list) and
/// what it said last.
struct tracker_status {
  std::string url;
  /// "" before any answer, "ok" after an accepted announce, "error" after a
  /// failed one (message says why).
  std::string last_result;
  std::string message;  ///< the last error or warning, for people
  /// Seconds from now until the next regular announce to it, as its last
  /// reply asked; negative when unknown (no reply yet, or after an error,
  /// when the retry follows the backoff of the tracker tier walk).
  double next_announce = -1;
  std::uint32_t peers = 0;    ///< addresses in its last reply
  std::int64_t seeders = -1;  ///< "complete" in its last reply; -1: not said
  std::int64_t leechers = -1; ///< "incomplete" in its last reply; -1: not said
};

/// One connection to a remote peer, as of its last report (once a second).
struct peer_connection {
  std::string address;  ///< host:port
  /// The remote's software, from its peer id ("libtorrent 2.0.8.0", ...);
  /// empty before the handshake.
  std::string client;
  bool incoming = false;    ///< it connected to us
  bool handshaken = false;  ///< past the handshake (else still connecting)
  bool interested = false;  ///< it wants data from us
  bool snubbed = false;     ///< it stopped sending what we asked for
  bool seed = false;        ///< it has every piece
  double download_rate = 0; ///< bytes per second from it, recent
  double upload_rate = 0;
  std::uint64_t downloaded = 0;  ///< payload bytes, this connection
  std::uint64_t uploaded = 0;
};

struct torrent_status {
  sha1_hash info_hash;
  std::string name;
  torrent_state state = torrent_state::checking;
  torrent_progress progress;
  std::uint64_t uploaded = 0;
  /// Block payload received after we had cancelled the request (end-game) or
  /// never asked for: waste that never reached the PieceManager.
  std::uint64_t discarded = 0;
  double download_rate = 0;  ///< bytes per second, recent
  double upload_rate = 0;
  std::uint32_t peers_connected = 0;
  std::uint32_t peers_known = 0;
  std::uint32_t peers_banned = 0;  ///< hosts banned for bad data
  double elapsed = 0;              ///< seconds since the torrent started
  /// While checking: progress.pieces_have counts pieces found so far,
  /// checked_pieces of to_check are done.
  bool checking = false;
  std::uint32_t checked_pieces = 0;
  std::uint32_t to_check = 0;
  /// Filled when asked for (status_request).
  std::vector<file_progress> files;
  std::vector<peer_summary> peers;
  /// Always filled (a torrent has few trackers).
  std::vector<tracker_status> trackers;
  /// The open connections; filled with `peers` when asked for.
  std::vector<peer_connection> connections;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sha1_hash& x) {
  return f(x.bytes);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, torrent_progress& x) {
  return f(x.pieces_have, x.pieces_total, x.bytes_have, x.bytes_total, x.downloaded, x.wasted,
           x.duplicate, x.hash_failures, x.min_availability, x.endgame, x.total_wanted,
           x.total_wanted_done);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, file_progress& x) {
  return f(x.path, x.size, x.bytes_have, x.priority);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_summary& x) {
  return f(x.host, x.downloaded, x.uploaded, x.banned);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, tracker_status& x) {
  return f(x.url, x.last_result, x.message, x.next_announce, x.peers, x.seeders, x.leechers);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_connection& x) {
  return f(x.address, x.client, x.incoming, x.handshaken, x.interested, x.snubbed, x.seed,
           x.download_rate, x.upload_rate, x.downloaded, x.uploaded);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, torrent_status& x) {
  return f(x.info_hash, x.name, x.state, x.progress, x.uploaded, x.discarded, x.download_rate,
           x.upload_rate, x.peers_connected, x.peers_known, x.peers_banned, x.elapsed, x.checking,
           x.checked_pieces, x.to_check, x.files, x.peers, x.trackers, x.connections);
}

} // namespace actorrent
