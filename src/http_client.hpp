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
#include <string_view>

namespace actorrent {

/// Redirects (301, 302, 303, 307, 308 with a Location) followed per
/// http_get; one more is an error.
inline constexpr int max_http_redirects = 5;

/// Fetches `u` (http:// only; other schemes fail with errc::invalid_argument)
/// with a "Connection: close" GET. Numeric hosts are used as they are, names
/// are resolved. Redirects are followed (at most max_http_redirects; never
/// from https to http). The whole exchange, redirects included, must finish
/// within `timeout` (else errc::timeout) and each response must fit in
/// `max_response` bytes. `done`
/// runs exactly once, on a thread running `io`, unless `io` is destroyed first.
void http_get(asio::io_context& io, const url& u, std::string_view user_agent,
              std::chrono::milliseconds timeout, std::size_t max_response,
              std::function<void(result<http_response>)> done);

} // namespace actorrent
