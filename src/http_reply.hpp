// What the status page's server sends back, and its bytes on the wire.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace actorrent {

struct http_reply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  /// Besides Content-Type, Content-Length, Connection and Cache-Control.
  std::vector<std::pair<std::string, std::string>> headers;
};

/// {"error": message} with `status`.
http_reply json_error(int status, std::string_view message);

/// "OK", "Not Found", ...; "" for a code it does not know.
const char* reason_phrase(int status) noexcept;

/// The reply as HTTP/1.1 bytes. `head_only` (a HEAD request) leaves the body
/// out but keeps its Content-Length; `keep_alive` false says Connection: close.
std::string format_http_reply(const http_reply& r, bool head_only, bool keep_alive);

} // namespace actorrent
