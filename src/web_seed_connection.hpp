// One kept-alive HTTP/1.1 connection to a web seed's server, on the network
// thread: requests go out pipelined (a bounded number in flight), responses
// come back in order through callbacks. Used once: after any failure it is
// finished, and its owner opens a new one.
#pragma once

#include "actorrent/error.hpp"
#include "http_response.hpp"
#include "rate_limiter.hpp"
#include "tracker_url.hpp"

#include <asio/io_context.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace asio::ssl {
class context;
}

namespace actorrent {

class web_seed_connection {
public:
  /// Runs once per request, on the network thread: the response, or why
  /// there is none. errc::cancelled means the request was never answered
  /// because the connection ended after answering others (the server closes
  /// kept-alive connections when it likes) or was closed by its owner: it
  /// may be sent again on a new connection at no cost.
  using callback = std::function<void(result<http_response>)>;

  /// Connects to `origin` (scheme, host, port; https when `tls` is given) at
  /// the first request. At most `max_in_flight` requests are sent before
  /// their responses arrived. The response at the head of the line must be
  /// complete within `timeout` of becoming the head (connecting included),
  /// so a server that stalls or trickles bytes ends as errc::timeout.
  ///
  /// Response bytes are read under each of `down` (the same buckets as the
  /// torrent's peer connections): a read waits until every bucket grants
  /// bytes. Time spent waiting for tokens is ours, not the server's, so it
  /// does not count against `timeout`.
  static std::shared_ptr<web_seed_connection> create(asio::io_context& io, url origin,
                                                     std::shared_ptr<asio::ssl::context> tls,
                                                     std::size_t max_in_flight,
                                                     std::chrono::milliseconds timeout,
                                                     rate_limiters down = {});

  virtual ~web_seed_connection() = default;

  /// Queues the bytes of one request; its response may hold at most
  /// `max_response` bytes (head and body) or it fails. Thread-safe.
  virtual void send(std::string request, std::size_t max_response, callback done) = 0;

  /// Closes the connection; requests not answered get errc::cancelled.
  /// Thread-safe.
  virtual void close() = 0;
};

} // namespace actorrent
