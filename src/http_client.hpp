// One HTTP GET on the network thread, for tracker announces: resolve,
// connect, send, read the whole response, all under one deadline.
#pragma once

#include "actorrent/error.hpp"
#include "http_response.hpp"
#include "tracker_url.hpp"

#include <asio/io_context.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace asio::ssl {
class context;
}

namespace actorrent {

/// How the servers of https:// URLs are checked: their certificate must
/// chain to a CA of the system's store (OpenSSL's default verify paths) or
/// of `ca_file`, and name the URL's host (DNS name or IP address).
struct http_tls_options {
  /// A PEM file of CA certificates trusted besides the system's; empty: none.
  std::string ca_file;
};

/// A TLS client context that checks servers as described above (TLS 1.2
/// at least); shared by the connections that use the same options.
result<std::shared_ptr<asio::ssl::context>> make_http_tls_context(const http_tls_options& opts);

/// Redirects (301, 302, 303, 307, 308 with a Location) followed per
/// http_get; one more is an error.
inline constexpr int max_http_redirects = 5;

/// Fetches `u` (http:// or https://; other schemes fail with
/// errc::invalid_argument) with a "Connection: close" GET. A certificate
/// that fails the check of `tls` ends the exchange with errc::tracker_http
/// and the reason; there is no fallback to plain HTTP. Numeric hosts are used as they are, names
/// are resolved. Redirects are followed (at most max_http_redirects; never
/// from https to http). The whole exchange, redirects included, must finish
/// within `timeout` (else errc::timeout) and each response must fit in
/// `max_response` bytes. `done`
/// runs exactly once, on a thread running `io`, unless `io` is destroyed first.
void http_get(asio::io_context& io, const url& u, std::string_view user_agent,
              std::chrono::milliseconds timeout, std::size_t max_response,
              std::function<void(result<http_response>)> done, const http_tls_options& tls = {});

} // namespace actorrent
