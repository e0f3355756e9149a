// The embedding API: a session runs torrents inside an actor system that the
// caller owns, next to the caller's own actors. It starts one network thread
// for all of its connections.
//
//   caf::actor_system_config cfg;
//   actorrent::session::configure(cfg);         // before the system exists
//   caf::actor_system sys{cfg};
//   actorrent::session ses{sys};
//   ses.subscribe(my_listener);                  // typed events: events.hpp
//   auto t = ses.add_torrent_file("x.torrent", {.download_dir = "dl"});
//   if (t) t->pause();                           // or request(t->control(), ...)
//
// Everything a host needs is in include/actorrent/: metainfo.hpp (reading
// .torrent files), events.hpp (what happens), control.hpp and status.hpp
// (what to ask), type_ids.hpp (the CAF type ids, registered by configure()).
#pragma once

#include "actorrent/control.hpp"
#include "actorrent/encryption.hpp"
#include "actorrent/error.hpp"
#include "actorrent/events.hpp"
#include "actorrent/magnet_link.hpp"
#include "actorrent/metainfo.hpp"
#include "actorrent/type_ids.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace actorrent {

/// The session's DHT node (BEP 5, IPv4). It finds peers for every torrent
/// that is not private, announces them every 15 minutes, and fetches the
/// metadata of magnet links that name neither trackers nor peers.
struct dht_settings {
  /// Off unless the host opts in: a DHT talks to nodes all over the Internet.
  bool enabled = false;
  /// UDP port, on session_options::bind_address when that is IPv4 (else on
  /// every IPv4 address); 0 picks a free one (see session::dht_port()).
  std::uint16_t port = 6881;
  /// "host:port" nodes to join through (names are resolved).
  std::vector<std::string> bootstrap;
  /// Where the node id and the good nodes are kept across runs (loaded at
  /// start, saved at stop); empty: nowhere. With saved nodes no bootstrap
  /// node is needed.
  std::filesystem::path state_file;
  /// When no bootstrap node is given and the state file has no nodes, join
  /// through the well-known public routers (router.bittorrent.com,
  /// dht.transmissionbt.com, router.utorrent.com, port 6881).
  bool public_routers = false;
};

struct session_options {
  /// Where incoming peers connect; announced to trackers. Port 0 picks a
  /// free one.
  std::string bind_address = "0.0.0.0";
  std::uint16_t listen_port = 6881;
  /// Accept incoming connections at all.
  bool listen = true;
  unsigned network_threads = 1;
  /// Peers we upload to at once (regular unchoke slots, plus one optimistic).
  std::size_t upload_slots = 4;
  /// Requests kept in flight per peer: about 3 s of its measured rate,
  /// within [min_pipeline, max_pipeline], starting at initial_pipeline.
  std::uint32_t min_pipeline = 4;
  std::uint32_t max_pipeline = 500;
  std::uint32_t initial_pipeline = 32;
  /// Send every subscriber a status_update event once a second per torrent.
  bool status_updates = false;
  /// udp:// trackers (BEP 15): how long the first request waits for a
  /// reply; each of at most udp_tracker_retransmits retransmissions waits
  /// twice as long as the one before.
  std::chrono::milliseconds udp_tracker_timeout{15'000};
  unsigned udp_tracker_retransmits = 3;
  /// Payload and protocol bytes per second over all torrents together, as
  /// read from and written to the sockets (0: unlimited); set_rate_limits()
  /// changes them while running.
  std::uint64_t max_download_rate = 0;
  std::uint64_t max_upload_rate = 0;
  /// Peer connections of all torrents together (0: only each torrent's
  /// max_connections applies).
  std::size_t max_connections = 0;
  /// Message Stream Encryption of peer connections, in and out (see
  /// actorrent/encryption.hpp); add_torrent_params::encryption may narrow
  /// a torrent's outgoing connections.
  encryption_policy encryption = encryption_policy::prefer;
  /// The DHT (off by default).
  dht_settings dht;
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
  /// https:// trackers must show a certificate that chains to a CA of the
  /// system's store (OpenSSL's default paths) and names the tracker's host;
  /// a PEM file here adds its CA certificates to those trusted (a private
  /// tracker's own CA). A certificate that fails the check is a
  /// tracker_error naming the reason; nothing is sent without TLS.
  std::filesystem::path tracker_ca_file;
  /// Magnet links: metadata larger than this is refused, and the peer that
  /// offers it banned.
  std::int64_t max_metadata_size = 4 << 20;
  /// This torrent's own limits in bytes per second, within the session's
  /// (0: only the session's apply).
  std::uint64_t max_download_rate = 0;
  std::uint64_t max_upload_rate = 0;
  /// This torrent's outgoing connections, instead of the session's
  /// encryption policy (incoming ones follow the session's).
  std::optional<encryption_policy> encryption;
  /// Which files to download: one priority per file that is not padding,
  /// in the order torrent_status::files lists them (and `actorrent show`
  /// numbers them). 0 skips the file, 1 is normal, higher comes first;
  /// files past the end of the list get 1, so empty means every file. A
  /// piece shared with a wanted file is still downloaded, and its bytes in
  /// the skipped file written there. The download is complete (and
  /// download_finished sent) when every wanted piece is verified.
  std::vector<std::uint8_t> file_priorities;
  /// For a magnet link, whose files are unknown when it is added: called
  /// once with its metadata, before any of its data is asked for, to give
  /// file_priorities then (an error ends the torrent, its message in
  /// torrent_failed). Ignored for a .torrent, whose files are known.
  std::function<result<std::vector<std::uint8_t>>(const metainfo&)> choose_files;
  /// Pieces in order (within the pieces kept in progress at once), for
  /// playing while downloading; otherwise rarest first.
  bool sequential = false;
};

/// A torrent of a session, as its host holds it: cheap to copy, valid after
/// the torrent ended (requests then fail, the calls do nothing).
class torrent_handle {
public:
  torrent_handle() = default;
  torrent_handle(torrent_control control, sha1_hash info_hash, std::string name)
    : control_(std::move(control)), info_hash_(info_hash), name_(std::move(name)) {}

  const sha1_hash& info_hash() const noexcept { return info_hash_; }
  const std::string& name() const noexcept { return name_; }
  /// The torrent's actor, for typed requests (status_request, ...) and for
  /// monitoring it.
  const torrent_control& control() const noexcept { return control_; }
  explicit operator bool() const noexcept { return static_cast<bool>(control_); }

  void pause() const;
  void resume() const;
  void recheck() const;
  /// Changes the file selection while running (see
  /// add_torrent_params::file_priorities). A complete torrent that now
  /// lacks a wanted piece downloads again; download_finished follows when
  /// the new selection is complete.
  void set_file_priorities(std::vector<std::uint8_t> priorities) const;
  /// Stops the torrent for good; with delete_files its files and resume
  /// data are deleted once nothing uses them (torrent_removed follows).
  void remove(bool delete_files = false) const;

private:
  torrent_control control_;
  sha1_hash info_hash_;
  std::string name_;
};

class session {
public:
  /// Registers actorrent's message types and sets CAF's idle scheduler
  /// threads to sleep instead of polling (`work-stealing.moderate-poll-attempts`
  /// = 0; set it again afterwards to override); call on the config before
  /// the actor system is created.
  static void configure(caf::actor_system_config& cfg);

  /// How much actorrent logs to stderr: 0 warnings, 1 info, 2 debug.
  static void set_verbosity(int level);

  /// Starts the network thread and, unless opts.listen is false, listens
  /// for incoming peers; throws nothing, see listen_error().
  explicit session(caf::actor_system& sys, session_options opts = {});
  /// For simple use: the session makes an actor system of its own (see
  /// system()), configured with configure(), and ends it last.
  explicit session(session_options opts = {});

  /// The actor system the torrents run in (the caller's, or the session's own).
  caf::actor_system& system() noexcept;
  /// Stops every torrent (saving resume data, bounded in time), then tells
  /// the subscribers session_stopped.
  ~session();

  session(const session&) = delete;
  session& operator=(const session&) = delete;

  /// Every torrent added from now on sends its events (events.hpp) to
  /// `listener`, any actor of the host's.
  void subscribe(caf::actor listener);

  /// Creates the torrent's files under params.download_dir (never outside it)
  /// and starts it; `listener`, when given, gets its events besides the
  /// subscribers. Fails on unsafe paths, unusable directories, malformed
  /// peer addresses, or an info-hash already in this session ("duplicate
  /// torrent: ..."). A torrent that exits (done, failed, removed) leaves the
  /// session, so the same torrent can be added again.
  result<torrent_handle> add_torrent(const metainfo& meta, const add_torrent_params& params,
                                     caf::actor listener = {});
  /// The same from a .torrent file, or from its bytes.
  result<torrent_handle> add_torrent_file(const std::filesystem::path& file,
                                          const add_torrent_params& params,
                                          caf::actor listener = {});
  result<torrent_handle> add_torrent_bytes(std::string_view bytes, const add_torrent_params& params,
                                           caf::actor listener = {});

  /// From a magnet link (magnet_link.hpp): the metainfo is fetched from the
  /// link's peers (x.pe), the peers its trackers (tr) name and
  /// params.peers, checked against the info-hash and saved as
  /// download_dir/.actorrent/<info-hash>.torrent; then the download runs as
  /// for a .torrent. When that file exists from an earlier run it is used
  /// and no peer is needed for the metainfo. Until the metadata arrives the
  /// status says downloading_metadata and the name is the link's dn;
  /// metadata_received marks the change. Fails on a malformed link or peer
  /// address, or an info-hash already in this session.
  result<torrent_handle> add_magnet(std::string_view uri, const add_torrent_params& params,
                                    caf::actor listener = {});

  /// The torrents running now.
  std::vector<torrent_handle> torrents() const;

  /// Our peer id (20 bytes, "-AR0100-" and random characters).
  const std::array<std::uint8_t, 20>& peer_id() const noexcept;

  /// Why listening failed (the address is taken, ...); no error when it works.
  const error& listen_error() const noexcept;

  /// The port incoming peers connect to (0 when not listening).
  std::uint16_t listen_port() const noexcept;
  /// The DHT's UDP port (0: no DHT runs).
  std::uint16_t dht_port() const noexcept;
  /// Why the DHT does not run although asked for (empty when it runs).
  const error& dht_error() const noexcept;

  /// The session-wide rate limits in bytes per second (0: unlimited), for
  /// every connection of every torrent from now on.
  void set_rate_limits(std::uint64_t max_download_rate, std::uint64_t max_upload_rate);

private:
  void init(caf::actor_system& sys, session_options opts);

  struct owned_system;
  // Declared first, so it outlives everything else of the session.
  std::shared_ptr<owned_system> own_;
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace actorrent
