// Accepts incoming TCP connections on the network thread and hands each one,
// together with the 68-byte handshake it opened with (in plaintext or
// inside an encryption handshake), to a callback. What the
// handshake asks for (which torrent) is decided by the receiver.
#pragma once

#include "actorrent/error.hpp"
#include "tcp_connection.hpp"

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace actorrent {

class listener : public std::enable_shared_from_this<listener> {
public:
  /// The receiver passes the handshake back as start()'s first chunk, so the
  /// connection's flow control counts it like the bytes it reads later.
  using accept_handler =
    std::function<void(std::shared_ptr<tcp_connection>, std::vector<std::uint8_t> handshake)>;

  /// Binds to address:port (port 0 picks a free one). Errors name the address.
  /// `encryption` says which handshakes are let in (plaintext, Message
  /// Stream Encryption) and how an encrypted one finds its torrent.
  static result<std::shared_ptr<listener>> open(
    asio::io_context& io, const std::string& address, std::uint16_t port,
    accept_handler on_accept, std::chrono::milliseconds handshake_timeout,
    tcp_connection::incoming_encryption encryption = {});

  /// The port actually bound.
  std::uint16_t port() const noexcept { return port_; }
  /// Stops accepting (thread-safe).
  void close();

  listener(asio::io_context& io, asio::ip::tcp::acceptor acceptor, accept_handler on_accept,
           std::chrono::milliseconds handshake_timeout,
           tcp_connection::incoming_encryption encryption);

  /// Connections accepted whose handshake has not arrived yet, at most.
  static constexpr int max_pending_handshakes = 64;

private:
  void do_accept();

  asio::io_context& io_;
  asio::ip::tcp::acceptor acceptor_;
  accept_handler on_accept_;
  std::chrono::milliseconds handshake_timeout_;
  tcp_connection::incoming_encryption encryption_;
  std::uint16_t port_ = 0;
  asio::steady_timer backoff_;
  std::atomic<int> pending_{0};
};

} // namespace actorrent
