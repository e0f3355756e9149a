// The protocol of one peer connection, without sockets, actors or clocks of
// its own: choke and interest both ways, the request pipeline and its
// sizing, request and snub timeouts, the upload queue with whole-piece
// read-ahead, the checks on what the remote peer asks of us, and the fast
// extension (BEP 6) when both sides speak it.
//
// The peer actor feeds it what happens (wire messages, answers from the
// PieceManager and the disk, the time) and carries out the actions it
// collects: bytes to send, blocks to report, work to ask for, pieces to
// read, and whether to close. Every input takes the current time, so tests
// and the simulation harness drive it with any clock.
//
// Not thread-safe; owned by one actor.
#pragma once

#include "actorrent/error.hpp"
#include "actorrent/sha1_hash.hpp"
#include "bitfield.hpp"
#include "block_buffer.hpp"
#include "block_ref.hpp"
#include "handshake.hpp"
#include "peer_stats.hpp"
#include "pex_exchange.hpp"
#include "wire_message.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <span>
#include <vector>

namespace actorrent {

struct peer_config {
  sha1_hash info_hash;
  std::array<std::uint8_t, 20> our_id{};
  std::uint32_t num_pieces = 0;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds handshake_timeout{15'000};
  /// A peer that delivers nothing for this long while we wait on requests is
  /// snubbed: its requests go back to the pool for other peers.
  std::chrono::milliseconds request_timeout{15'000};
  /// Nothing received at all for this long: disconnect.
  std::chrono::milliseconds idle_timeout{120'000};
  std::chrono::milliseconds keepalive_interval{60'000};
  /// A want unanswered for this long may be sent again (the PieceManager is
  /// busy; the peer waits for it rather than leaving).
  std::chrono::milliseconds want_timeout{30'000};
  /// Requests kept in flight: enough for `pipeline_seconds` of the measured
  /// rate, within [min_pipeline, max_pipeline], starting at initial_pipeline.
  std::uint32_t initial_pipeline = 32;
  std::uint32_t min_pipeline = 4;
  std::uint32_t max_pipeline = 500;
  double pipeline_seconds = 3.0;
  std::uint32_t max_block = 16 * 1024;

  // Uploading.
  std::int64_t piece_length = 0;
  std::int64_t total_length = 0;
  /// Largest block a peer may request (BEP 3 practice: 16 KiB; never more
  /// than 128 KiB).
  std::uint32_t max_request = 16 * 1024;
  /// Requests queued from one peer; more is a flood and ends the connection.
  std::size_t max_upload_queue = 500;
  /// Requests a choked peer may still send (some are in flight when we
  /// choke) before it counts as misbehaving.
  std::size_t max_choked_requests = 64;
  /// Reads (of a piece's requested span) kept in memory per peer while its
  /// requests are served, and reads in flight for one peer.
  std::size_t cached_pieces = 4;
  std::size_t piece_reads = 2;
  /// Bound on those pieces in bytes (at least one piece is always kept).
  std::int64_t upload_cache_bytes = 1 << 20;
  /// Bytes queued on the socket before serving pauses.
  std::size_t send_high_water = 1 << 20;

  // The extension protocol (BEP 10) and metadata exchange (BEP 9).
  /// Our listening port, told to peers in the extension handshake (0: not told).
  std::uint16_t listen_port = 0;
  /// The info dictionary, served to peers that ask for it; null while we
  /// do not have it (then every request is rejected).
  std::shared_ptr<const std::string> metadata;
  /// The connection only fetches metadata: no pieces, no PieceManager. A
  /// peer that cannot send metadata is closed.
  bool metadata_only = false;
  /// Metadata requests one peer may make; more is a flood and ends the
  /// connection (4 MiB of metadata is 256 pieces: each may be asked twice).
  std::size_t max_metadata_requests = 512;
  /// Peer exchange (BEP 11): offered, sent and taken. Off for private
  /// torrents (BEP 27) and for connections that only fetch metadata.
  bool pex = true;
  pex_config pex_timing;
  /// Our DHT's UDP port (BEP 5): the handshake's DHT bit is set and PORT
  /// sent to peers that set theirs; 0: no DHT for this torrent.
  std::uint16_t dht_port = 0;
  /// Where the peer actor passes a peer's PORT (its host, the port).
  std::function<void(const std::string&, std::uint16_t)> dht_node;
};

class peer_protocol {
public:
  using time_point = std::chrono::steady_clock::time_point;

  /// What the connection must do now. The owner carries these out after
  /// each input and then calls clear(); `close` goes last.
  struct actions {
    struct block {
      block_ref ref;
      block_buffer data;
    };
    /// The span of a piece that the queued requests for it cover: only
    /// what was asked for is read, so a peer that asks for a block here and
    /// a block there (aria2c) does not make us read whole pieces again and
    /// again; the page cache keeps the rest.
    struct piece_read {
      std::uint32_t piece;
      std::uint32_t begin;
      std::uint32_t length;
    };
    std::vector<std::uint8_t> send;                      ///< wire bytes for the socket
    std::vector<block> blocks;                           ///< requested blocks: to the PieceManager
    std::vector<block_ref> drop;                         ///< requests given up: back to the pool
    std::optional<std::uint32_t> want;                   ///< ask the PieceManager for up to N blocks
    /// With `want`: only blocks of these pieces (the peer chokes us; they
    /// are its allowed-fast pieces). Empty: any piece.
    std::vector<std::uint32_t> want_pieces;
    std::vector<std::uint32_t> suggests;                 ///< the peer suggests these pieces (BEP 6)
    bool joined = false;                                 ///< handshake done: join, tell the torrent
    std::optional<std::vector<std::uint8_t>> bitfield;   ///< ask the PieceManager: interesting?
    std::vector<std::uint32_t> haves;                    ///< new pieces of the peer: ask likewise
    std::vector<piece_read> load;                        ///< read these for uploading
    std::optional<std::size_t> notify_drained_below;     ///< tell me when the socket queue is below
    bool report = false;                                 ///< stats changed: tell the torrent now
    struct metadata_piece {
      std::uint32_t piece;
      std::int64_t total_size;
      std::vector<std::uint8_t> data;
    };
    std::optional<std::int64_t> metadata_offer;          ///< metadata_only: the peer has this many bytes
    std::vector<metadata_piece> metadata_pieces;         ///< metadata pieces we asked for
    std::vector<std::uint32_t> metadata_rejects;         ///< refused, or unanswered in time
    bool pex_due = false;                                ///< ask the torrent for its peers: on_pex_peers
    std::vector<peer_endpoint> pex_learned;              ///< addresses the peer told us of (PEX)
    std::optional<std::uint16_t> remote_listen_port;     ///< the port the peer listens on (its extension handshake)
    std::optional<std::uint16_t> dht_node_port;          ///< the peer's PORT: a DHT node may listen there
    std::optional<error> close;                          ///< end the connection, for this reason

    void clear();
  };

  /// `incoming`: the remote peer connected to us and its handshake comes
  /// first; otherwise we connect and speak first.
  peer_protocol(const peer_config& cfg, bool incoming, time_point now);

  /// Outgoing: the socket is connected; our handshake goes out.
  void on_connected(time_point now);
  /// Bytes arrived (for the idle timeout); call before decoding them.
  void on_received(time_point now);
  void on_handshake(const wire::handshake& hs, time_point now);
  /// The PieceManager took us in; `ours` is our bitfield (empty: nothing).
  void on_joined(std::span<const std::uint8_t> ours, time_point now);
  /// A message after the handshake. `queued` is what waits on the socket.
  void on_message(const wire::message& m, time_point now, std::size_t queued);
  /// The PieceManager's verdict on the peer's bitfield / on one of its HAVEs.
  void on_bitfield_answer(bool interesting, time_point now);
  void on_have_answer(bool interesting, time_point now);
  /// The PieceManager's answer to a want, however late it comes.
  void on_work(std::vector<block_ref> blocks, time_point now);
  /// End-game: another peer delivered `b`; cancel it here.
  void on_cancel(const block_ref& b, time_point now);
  /// We verified `piece`: announce it.
  void on_have(std::uint32_t piece, time_point now);
  /// Blocks are back in the pool: ask again if we found nothing before.
  void on_wake(time_point now);
  /// The choker's verdict.
  void set_choking(bool choke, time_point now, std::size_t queued);
  /// A read for uploading (actions::load) arrived: `data` from `begin` of
  /// `piece`.
  void on_piece_loaded(std::uint32_t piece, std::uint32_t begin, std::vector<std::uint8_t> data,
                       time_point now, std::size_t queued);
  /// The socket's queue went below the mark asked for.
  void on_drained(time_point now, std::size_t queued);
  /// Once a second: rates, pipeline size, timeouts, keep-alive.
  void on_tick(time_point now);
  /// Asks for work when there is room in the pipeline (after a batch of input).
  void request_work(time_point now);
  /// Our address as the remote sees it (4 or 16 raw bytes), told to it in
  /// the extension handshake. Call before the handshake.
  void set_remote_ip(std::string raw) { remote_ip_ = std::move(raw); }
  /// Asks the peer for a piece of the metadata (metadata_only); the answer
  /// comes as metadata_pieces or metadata_rejects.
  void request_metadata(std::uint32_t piece, time_point now);
  /// The peers the torrent is connected to (this one left out), asked for
  /// with pex_due: tells the remote what changed since the last message.
  void on_pex_peers(const std::vector<pex_peer>& connected, time_point now);

  actions& pending() noexcept { return act_; }
  const peer_stats& stats() const noexcept { return stats_; }
  bool handshaken() const noexcept { return handshaken_; }
  /// The remote's peer id from its handshake (zeros before it).
  const std::array<std::uint8_t, 20>& remote_id() const noexcept { return remote_id_; }
  bool closing() const noexcept { return act_.close.has_value(); }
  std::uint32_t pipeline() const noexcept { return pipeline_; }
  std::size_t requests_in_flight() const noexcept { return outstanding_.size(); }
  std::size_t upload_queue_size() const noexcept { return upload_queue_.size(); }
  bool am_interested() const noexcept { return am_interested_; }
  bool am_choking() const noexcept { return am_choking_; }
  /// The remote set the extension protocol bit in its handshake.
  bool peer_extensions() const noexcept { return peer_extensions_; }
  /// The extended id the remote receives ut_metadata under (0: none).
  std::uint8_t peer_metadata_id() const noexcept { return peer_metadata_id_; }
  const std::string& peer_client() const noexcept { return peer_client_; }
  std::size_t metadata_in_flight() const noexcept { return metadata_outstanding_.size(); }
  std::size_t metadata_served() const noexcept { return metadata_served_; }
  /// Both handshakes set the fast extension bit (BEP 6).
  bool fast() const noexcept { return fast_; }
  /// Pieces the peer serves us while it chokes us (its allowed_fast messages).
  const std::vector<std::uint32_t>& allowed_fast_from_peer() const noexcept { return allowed_in_; }
  /// Pieces we serve the peer while we choke it (our canonical set).
  const std::vector<std::uint32_t>& allowed_fast_to_peer() const noexcept { return allowed_out_; }
  /// The extended id the remote receives ut_pex under (0: none, or PEX off).
  std::uint8_t peer_pex_id() const noexcept { return peer_pex_id_; }
  const pex_exchange& pex() const noexcept { return pex_; }

private:
  struct outstanding_request {
    block_ref block;
    time_point sent;
  };
  struct cached_piece {
    std::uint32_t piece;
    std::uint32_t begin;
    std::vector<std::uint8_t> data;
  };

  void close(errc code, std::string why);
  void send(const wire::message& m, time_point now);
  void give_back_all();
  void set_interest(bool interesting, time_point now);
  void on_block(const wire::piece& p, time_point now);
  void on_request(const wire::request& m, time_point now, std::size_t queued);
  void on_remote_cancel(const wire::cancel& m, time_point now);
  void on_remote_has(time_point now);
  void serve(time_point now, std::size_t queued);
  /// The block's bytes if a read that covers it is at hand.
  const std::uint8_t* cached(const block_ref& r) const;
  std::size_t cache_limit() const;
  std::int64_t piece_size(std::uint32_t piece) const;
  bool both_seeds() const;
  void expire_requests(time_point now);
  void send_extension_handshake(time_point now);
  void on_extended(const wire::extended& m, time_point now, std::size_t queued);
  void on_extension_handshake(std::span<const std::uint8_t> payload, time_point now);
  void on_metadata_message(std::span<const std::uint8_t> payload, time_point now, std::size_t queued);
  void send_extended(std::uint8_t id, const std::vector<std::uint8_t>& payload, time_point now);
  void expire_metadata_requests(time_point now);
  void on_fast_message(const wire::message& m, time_point now);
  void on_reject(const wire::reject_request& m);
  void send_our_pieces(time_point now);
  bool allowed_to_peer(std::uint32_t piece) const;
  void refuse_request(const block_ref& r, errc code, std::string why, time_point now);
  void reject_queued(bool keep_allowed_fast, time_point now);
  bool pex_enabled() const noexcept { return cfg_.pex && !cfg_.metadata_only; }
  void on_pex_message(std::span<const std::uint8_t> payload, time_point now);

  peer_config cfg_;
  bool incoming_;
  actions act_;
  bool handshaken_ = false;
  std::array<std::uint8_t, 20> remote_id_{};

  // Downloading from the peer.
  bool peer_choking_ = true;
  bool am_interested_ = false;
  bool want_pending_ = false;
  time_point want_sent_{};
  std::deque<outstanding_request> outstanding_;
  std::uint32_t pipeline_;
  unsigned snubs_ = 0;
  unsigned late_rounds_ = 0;  // ticks on which requests timed out one by one
  bool snubbed_ = false;

  // Uploading to the peer.
  bool am_choking_ = true;
  bool peer_interested_ = false;
  std::deque<block_ref> upload_queue_;
  std::deque<cached_piece> piece_cache_;  // the pieces being served
  std::vector<std::uint32_t> loading_;    // piece reads in flight
  std::size_t choked_requests_ = 0;
  bool waiting_for_drain_ = false;

  bitfield ours_;      // what we told the peer we have
  bitfield peer_has_;  // what the peer told us it has

  // Extensions.
  bool peer_extensions_ = false;       // the remote's handshake has the BEP 10 bit
  bool port_taken_ = false;            // one PORT per connection reaches the DHT
  bool peer_ext_handshake_ = false;    // its extension handshake arrived
  std::uint8_t peer_metadata_id_ = 0;  // its id for ut_metadata
  std::string peer_client_;
  std::string remote_ip_;
  std::size_t metadata_requests_ = 0;  // asked of us so far
  std::size_t metadata_served_ = 0;    // answered with data
  struct metadata_request {
    std::uint32_t piece;
    time_point sent;
  };
  std::deque<metadata_request> metadata_outstanding_;
  unsigned metadata_timeouts_ = 0;
  std::uint8_t peer_pex_id_ = 0;  // its id for ut_pex
  pex_exchange pex_;

  // The fast extension (BEP 6).
  static constexpr std::size_t max_allowed_fast_from_peer = 64;
  static constexpr std::size_t max_suggestions_per_batch = 16;
  bool fast_ = false;                       // both handshakes set its bit
  std::vector<std::uint32_t> allowed_out_;  // we serve these while choking the peer
  std::vector<std::uint32_t> allowed_in_;   // the peer serves these while choking us
  bool reject_backoff_ = false;             // a request was rejected: no new one before the tick
  std::size_t refused_requests_ = 0;        // invalid requests we rejected instead of closing

  time_point started_;
  time_point last_received_;
  time_point last_sent_;
  time_point last_block_;

  peer_stats stats_;
  std::uint64_t down_this_tick_ = 0;
  std::uint64_t up_this_tick_ = 0;
};

} // namespace actorrent
