// One TCP connection on the network thread, seen from an actor: bytes come
// out as chunks through a callback, bytes go in through send(). All methods
// are thread-safe; every socket operation runs on the connection's strand.
//
// Flow control: a chunk handed to on_data must be acknowledged with ack()
// once processed. At most `max_unacked_chunks` chunks are outstanding; past
// that the connection stops reading and TCP pushes back on the sender, so a
// slow actor never lets its mailbox grow without bound.
#pragma once

#include "actorrent/encryption.hpp"
#include "actorrent/error.hpp"
#include "mse_handshake.hpp"
#include "rate_limiter.hpp"
#include "tracker_url.hpp"
#include "wire_stream_splitter.hpp"

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace actorrent {

class tcp_connection : public std::enable_shared_from_this<tcp_connection> {
public:
  struct callbacks {
    std::function<void()> on_connected;
    std::function<void(std::vector<std::uint8_t>)> on_data;
    /// Called exactly once, after which no callback runs again; also when
    /// the connection was closed before these callbacks were installed.
    std::function<void(error)> on_closed;
    /// The send queue fell below the mark set with notify_when_drained().
    std::function<void()> on_drained;
    /// Instead of on_data after split_payloads(): the bytes read, PIECE
    /// payloads apart. Acknowledged like a chunk.
    std::function<void(wire::split_bytes)> on_split;
  };

  struct options {
    std::size_t read_chunk = 64 * 1024;
    std::size_t max_unacked_chunks = 4;
    /// Outgoing connections: Message Stream Encryption towards the peer,
    /// keyed by the torrent's info-hash (see actorrent/encryption.hpp).
    encryption_policy encryption = encryption_policy::off;
    sha1_hash info_hash;
  };

  /// Incoming connections: what accept_handshake() lets in, and how an
  /// encrypted one finds its torrent.
  struct incoming_encryption {
    encryption_policy policy = encryption_policy::prefer;
    mse::skey_lookup lookup;
  };

  /// The whole encryption handshake, from the connect or accept to the
  /// agreement, must fit in this.
  static constexpr std::chrono::seconds mse_timeout{10};

  /// A connection that will connect().
  static std::shared_ptr<tcp_connection> create(asio::io_context& io, options opts);
  /// Adopts an accepted socket; call start() to begin reading.
  static std::shared_ptr<tcp_connection> adopt(asio::ip::tcp::socket socket, options opts);

  ~tcp_connection();

  /// Connects to a numeric IPv4/IPv6 address or a host name, giving up after `timeout`.
  /// remote() returns `remote` from now on (unless the connection already had one).
  void connect(const peer_endpoint& remote, std::chrono::milliseconds timeout, callbacks cb);
  /// Starts reading from an adopted socket. `first_chunk` holds bytes read
  /// before (the handshake from read_exactly): on_data receives it first, and
  /// it needs an ack() like any chunk read.
  void start(callbacks cb, std::vector<std::uint8_t> first_chunk = {});
  /// Before start(): reads exactly `n` bytes (a handshake) within `timeout`,
  /// then calls `done` with them or with the error; the connection is closed
  /// on error.
  void read_exactly(std::size_t n, std::chrono::milliseconds timeout,
                    std::function<void(result<std::vector<std::uint8_t>>)> done);
  /// Before start(), on an accepted socket: reads the peer's 68-byte
  /// BitTorrent handshake, in plaintext or, when the first bytes are not
  /// the protocol's, inside a Message Stream Encryption handshake as
  /// `enc` allows; all within `timeout`. `done` gets the handshake or the
  /// error (the connection is then closed). Payload that came with it is
  /// kept for start().
  void accept_handshake(incoming_encryption enc, std::chrono::milliseconds timeout,
                        std::function<void(result<std::vector<std::uint8_t>>)> done);
  /// Whether the stream is RC4-encrypted (set once the handshake agreed).
  bool encrypted() const noexcept { return encrypted_.load(std::memory_order_acquire); }
  /// Calls on_drained once, as soon as fewer than `bytes` are queued.
  void notify_when_drained(std::size_t bytes);
  /// Queues bytes for sending; before the connect or start() they wait. Writes
  /// are gathered: everything queued while a write is in flight goes out in
  /// the next one.
  void send(std::vector<std::uint8_t> bytes);
  /// The receiver has processed one chunk. It may give the chunk back
  /// (`spent`): the next read goes into it, instead of into a new, zero-filled
  /// buffer.
  void ack(std::vector<std::uint8_t> spent = {});
  /// Before connect() or start(), for a BitTorrent peer: the stream is split
  /// by a wire::stream_splitter (PIECE payloads of at most `max_block` bytes
  /// read straight into buffers of their own) and comes out through on_split.
  void split_payloads(std::uint32_t max_block);
  /// Closes the socket; on_closed receives errc::cancelled unless it already ran.
  void close();
  /// From now on every read takes its bytes from each of `down`, every write
  /// from each of `up` (empty: unlimited), waiting while one is empty. TCP
  /// pushes back on a sender we read slowly from, as with max_unacked_chunks.
  void set_rate_limits(rate_limiters down, rate_limiters up);

  /// Bytes queued but not yet written (for upload back-pressure).
  std::size_t queued_bytes() const noexcept { return queued_.load(std::memory_order_relaxed); }
  /// The remote address: set by adopt() or connect(), empty before.
  peer_endpoint remote() const;

  tcp_connection(asio::any_io_executor ex, asio::ip::tcp::socket socket, options opts);

private:
  bool install(callbacks cb);
  void do_connect();
  void on_transport_ready(std::vector<std::uint8_t> payload = {});
  // Message Stream Encryption (tcp_connection_mse.cpp).
  bool wants_mse() const noexcept;
  void begin_outgoing_mse();
  void mse_write();
  void mse_read(std::function<void()> then);
  std::vector<std::uint8_t> finish_mse();
  bool retry_encrypted(const error& err);
  void read_plain_handshake(std::vector<std::uint8_t> first);
  void read_encrypted_handshake(std::vector<std::uint8_t> first);
  void collect_handshake();
  void accept_succeeded(std::vector<std::uint8_t> handshake);
  void accept_failed(error err);
  void set_remote(const peer_endpoint& remote);
  void do_read();
  void read_split(std::size_t size);
  void hand_over(std::vector<std::uint8_t> bytes);
  void do_write();
  void throttle(asio::steady_timer& timer, bool& waiting, std::chrono::nanoseconds wait,
                void (tcp_connection::*resume)());
  void fail(error err);

  asio::strand<asio::any_io_executor> strand_;
  asio::ip::tcp::socket socket_;
  asio::ip::tcp::resolver resolver_;
  asio::steady_timer deadline_;
  asio::steady_timer read_throttle_;
  asio::steady_timer write_throttle_;
  options opts_;
  rate_limiters down_limits_;
  rate_limiters up_limits_;
  bool read_throttled_ = false;
  bool write_throttled_ = false;
  bool writing_ = false;
  callbacks cb_;
  bool closed_ = false;
  error closed_with_;
  bool connecting_ = false;
  bool open_ = false;  // connected or started: reading and writing may begin
  bool reading_ = false;
  std::size_t unacked_ = 0;
  std::vector<std::uint8_t> spare_;  // a spent chunk, the next read's buffer
  std::unique_ptr<wire::stream_splitter> splitter_;
  std::deque<std::vector<std::uint8_t>> write_queue_;
  std::vector<std::vector<std::uint8_t>> in_flight_;
  // A write under a rate limit covers part of in_flight_: write_offset_
  // bytes of it are written (and off queued_), the rest is still counted.
  std::size_t in_flight_bytes_ = 0;
  std::size_t write_offset_ = 0;
  std::atomic<std::size_t> queued_{0};
  std::size_t drain_mark_ = 0;  // 0: nobody waits for the queue to drain
  // Any thread may call remote(), so remote_ is written once, before
  // remote_state_ says so, and never again.
  enum : std::uint8_t { remote_unset, remote_writing, remote_set };
  std::atomic<std::uint8_t> remote_state_{remote_unset};
  peer_endpoint remote_;

  std::chrono::milliseconds connect_timeout_{0};
  bool announced_connected_ = false;
  // Every handler of a socket operation carries the attempt it belongs to:
  // one left over from a plaintext attempt given up for an encrypted one
  // finds a newer attempt and does nothing.
  unsigned attempt_ = 0;
  std::vector<std::vector<std::uint8_t>> retired_;
  // Encryption: the handshake while it runs, then the streams.
  std::unique_ptr<mse::handshake> mse_;
  std::vector<std::uint8_t> mse_out_;
  bool mse_writing_ = false;
  bool mse_attempt_ = false;
  std::optional<mse::rc4_stream> encryptor_;
  std::optional<mse::rc4_stream> decryptor_;
  std::atomic<bool> encrypted_{false};
  // What a plaintext attempt sent before the peer said anything: sent again,
  // encrypted, when the peer hangs up on it (policy prefer).
  bool received_any_ = false;
  std::vector<std::uint8_t> replay_;
  bool replay_overflow_ = false;
  // Incoming: the handshake being collected, and payload past it for start().
  std::function<void(result<std::vector<std::uint8_t>>)> accept_done_;
  incoming_encryption accept_enc_;
  std::vector<std::uint8_t> plain_in_;
  std::optional<sha1_hash> mse_info_hash_;  // the torrent the encrypted handshake named
};

} // namespace actorrent
