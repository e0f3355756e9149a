// The torrent actor: one per torrent, the supervisor of its PieceManager,
// DiskWriter, tracker and peer connections.
#pragma once

#include "interfaces.hpp"
#include "udp_tracker_exchange.hpp"
#include "peer_actor.hpp"
#include "storage.hpp"

#include "actorrent/metainfo.hpp"
#include "choker.hpp"
#include "connection_budget.hpp"
#include "rate_limiter.hpp"
#include "piece_picker.hpp"
#include "net_service.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace actorrent {

/// Everything needed to start a connection to one known address.
struct dial_request {
  caf::actor_system* sys = nullptr;
  peer_key key = 0;
  peer_endpoint remote;
  piece_manager_actor pm;
  disk_writer_actor disk;
  torrent_actor torrent;
  const peer_config* cfg = nullptr;
};

/// Starts the actor of an outgoing connection. The default dials TCP on the
/// session's network thread; the simulation harness connects mock peers.
using peer_dialer = std::function<peer_actor(const dial_request&)>;

struct torrent_config {
  /// Peers to connect to besides those the trackers name.
  std::vector<peer_endpoint> peers;
  std::array<std::uint8_t, 20> peer_id{};
  /// The port we listen on and announce.
  std::uint16_t listen_port = 6881;
  std::size_t max_connections = 60;
  /// A connection attempt that fails this often (without a handshake) is not
  /// retried; backoff between attempts doubles from retry_delay.
  std::uint32_t max_connect_failures = 5;
  std::chrono::milliseconds retry_delay{2'000};
  /// Fail when no payload arrived for this long while pieces are missing.
  std::chrono::seconds stall_timeout{120};
  /// Keep running after the download completed; until seed_time passed or
  /// seed_ratio x the torrent's size was uploaded (when given).
  bool seed = false;
  std::optional<std::chrono::seconds> seed_time;
  std::optional<double> seed_ratio;
  double endgame_threshold = 1.0;
  /// Strategy and seed of the piece picker (endgame_threshold above wins).
  picker_config picker;
  /// The file selection (add_torrent_params::file_priorities).
  std::vector<std::uint8_t> file_priorities;
  /// Where the resume file lives (empty: no resume data).
  std::filesystem::path resume_file;
  /// https:// trackers: CA certificates trusted besides the system's (PEM).
  std::string tracker_ca_file;
  choker_config choking;
  peer_config peer;
  /// Empty: TCP.
  peer_dialer dial;
  /// Where the files are (for events and removal).
  std::filesystem::path download_dir;
  /// Deletes the torrent's files and resume data (remove_request with
  /// delete_files); called once every actor of the torrent is gone.
  std::function<error()> delete_files;
  /// Send a status_update event to the listeners once a second.
  bool status_updates = false;
  /// Retransmissions of udp:// tracker exchanges (BEP 15).
  udp_tracker_timing udp_tracker;
  /// Every TCP connection reads under each of down_limits and writes under
  /// each of up_limits (the session's and the torrent's own).
  rate_limiters down_limits;
  rate_limiters up_limits;
  /// Shared by the torrents of a session (empty: no session-wide limit).
  std::shared_ptr<connection_budget> session_connections;
  /// The DiskWriter gets a thread of its own (file I/O blocks); off runs it
  /// on the scheduler, for a deterministic simulation on memory storage.
  bool disk_thread = true;
  /// Message Stream Encryption of the connections we make.
  encryption_policy encryption = encryption_policy::off;
};

/// Spawns a torrent downloading into `store` (opened). It first checks what
/// the files already hold (resume data, else hashing), then downloads and,
/// if asked, seeds. When `router` is valid the torrent registers with it to
/// receive incoming connections. Every listener receives the events of
/// include/actorrent/events.hpp; the torrent answers the requests of
/// include/actorrent/control.hpp (torrent_control).
torrent_actor spawn_torrent(caf::actor_system& sys, net_service& net,
                            std::shared_ptr<const metainfo> meta, torrent_config cfg,
                            std::shared_ptr<storage> store, std::vector<caf::actor> listeners,
                            peer_router_actor router);

} // namespace actorrent
