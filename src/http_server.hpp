// A small HTTP/1.1 server on an Asio io_context, for the status page:
// bounded in every direction (request size via http_request_parser, a few
// connections at a time, an idle deadline per connection), one request
// answered at a time per connection, keep-alive and pipelining honoured.
// What to answer is the handler's business; it may answer later and from
// any thread.
#pragma once

#include "actorrent/error.hpp"
#include "http_reply.hpp"
#include "http_request.hpp"

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace actorrent {

/// Whether `address` (text) is a loopback address: 127.0.0.0/8, ::1, or
/// 127.0.0.0/8 mapped into IPv6. False for what does not parse.
bool is_loopback_address(const std::string& address);

class http_server : public std::enable_shared_from_this<http_server> {
public:
  struct options {
    std::string bind_address = "127.0.0.1";
    std::uint16_t port = 0;  ///< 0 picks a free one
    /// Connections served at once; more are closed at once.
    std::size_t max_connections = 8;
    /// A connection with nothing received or sent for this long is closed;
    /// also the bound on the handler's answer.
    std::chrono::milliseconds idle_timeout{10'000};
    http_request_limits limits;
  };

  /// Answers a request; callable once, from any thread, also after the
  /// server stopped (it then does nothing).
  using respond_fn = std::function<void(http_reply)>;
  /// Runs on the io_context's thread for each complete request.
  using handler = std::function<void(http_request, respond_fn)>;

  /// Binds and starts accepting. Errors name the address.
  static result<std::shared_ptr<http_server>> start(asio::io_context& io, options opts,
                                                    handler on_request);

  std::uint16_t port() const noexcept { return port_; }
  /// The address bound, as text ("127.0.0.1", "::1").
  const std::string& address() const noexcept { return address_; }
  /// Whether that address is loopback (127.0.0.0/8 or ::1).
  bool loopback() const noexcept { return loopback_; }

  /// Stops accepting and closes every connection (thread-safe); answers
  /// given after this go nowhere.
  void stop();

  http_server(asio::io_context& io, asio::ip::tcp::acceptor acceptor, options opts,
              handler on_request);

private:
  /// Lets answers reach the io_context only while the server runs: a
  /// handler may answer after the io_context is gone.
  struct gate {
    std::mutex mutex;
    asio::io_context* io = nullptr;  // null once stopped
  };

  class connection;
  void do_accept();

  asio::io_context& io_;
  asio::ip::tcp::acceptor acceptor_;
  options opts_;
  handler on_request_;
  std::uint16_t port_ = 0;
  std::string address_;
  bool loopback_ = false;
  asio::steady_timer backoff_;
  std::shared_ptr<gate> gate_;
  std::size_t open_ = 0;  // connections alive; touched on the io thread only
  std::vector<std::weak_ptr<connection>> connections_;
};

} // namespace actorrent
