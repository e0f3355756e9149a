// The embedding API: a session runs torrents inside an actor system that the
// caller owns. It starts one network thread for all of its connections.
//
//   caf::actor_system_config cfg;
//   actorrent::session::configure(cfg);        // before the system exists
//   caf::actor_system sys{cfg};
//   actorrent::session ses{sys};
//   auto torrent = ses.add_torrent(meta, params, owner);   // owner: any actor
//
// The owner receives (log_atom, std::string) for lines worth showing,
// (status_atom, torrent_status) once a second, (done_atom, torrent_status)
// when the download is complete and on disk, (closed_atom, torrent_status)
// when seeding ended, and (failed_atom, std::string) when the torrent cannot
// go on. Sending the torrent (stop_atom) stops it; it replies true when it
// has closed down. The atoms and torrent_status are declared in
// actors/messages.hpp.
#pragma once

#include "actorrent/error.hpp"
#include "actorrent/metainfo.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace actorrent {

struct session_options {
  /// Where incoming peers connect; announced to trackers. Port 0 picks a
  /// free one.
  std::string bind_address = "0.0.0.0";
  std::uint16_t listen_port = 6881;
  /// Accept incoming connections at all.
  bool listen = true;
  unsigned network_threads = 1;
};

struct add_torrent_params {
  std::filesystem::path download_dir;
  /// "host:port" peers to use besides (or instead of) the trackers.
  std::vector<std::string> peers;
  /// Keep running after the download completed, serving other peers; until
  /// seed_time passed or seed_ratio x the torrent's size was uploaded.
  bool seed = false;
  std::optional<std::chrono::seconds> seed_time;
  std::optional<double> seed_ratio;
  /// Keep fast-resume data in download_dir/.actorrent/.
  bool resume = true;
  /// Give up when no data arrived for this long.
  std::chrono::seconds stall_timeout{120};
  /// Fraction of pieces after which end-game may start early (1.0: only when
  /// every missing block is requested).
  double endgame_threshold = 1.0;
  std::size_t max_connections = 60;
};

class session {
public:
  /// Registers actorrent's message types; call on the config before the actor
  /// system is created.
  static void configure(caf::actor_system_config& cfg);

  /// Starts the network thread and, unless opts.listen is false, listens
  /// for incoming peers; throws nothing, see listen_error().
  explicit session(caf::actor_system& sys, session_options opts = {});
  ~session();

  session(const session&) = delete;
  session& operator=(const session&) = delete;

  /// Creates the torrent's files under params.download_dir (never outside it)
  /// and starts downloading. Fails on unsafe paths, unusable directories or
  /// malformed peer addresses, and (invalid_argument, "duplicate torrent:
  /// NAME (INFO-HASH) is already in this session") while a torrent with the
  /// same info-hash runs in this session; once that one has exited, the
  /// torrent can be added again. The session holds no handle to a torrent
  /// that has exited.
  result<caf::actor> add_torrent(const metainfo& meta, const add_torrent_params& params,
                                 caf::actor owner);

  /// Our peer id (20 bytes, "-AR0100-" and random characters).
  const std::array<std::uint8_t, 20>& peer_id() const noexcept;

  /// Why listening failed (the address is taken, ...); no error when it works.
  const error& listen_error() const noexcept;

  /// The port incoming peers connect to (0 when not listening).
  std::uint16_t listen_port() const noexcept;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace actorrent
