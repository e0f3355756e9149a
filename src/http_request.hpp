// An HTTP/1.x request parser for the status page's server: incremental and
// bounded, since the bytes come from whoever can reach the port. It knows
// nothing of routes; it only says what was asked, or why the request is
// unacceptable as an HTTP status code the server sends back.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace actorrent {

struct http_request {
  std::string method;  ///< as sent: a token, case-sensitive
  std::string target;  ///< origin-form, as sent ("/api/torrents?x=1")
  std::string path;    ///< target up to '?'
  std::string query;   ///< after '?', without it
  int version_minor = 1;  ///< HTTP/1.0 or HTTP/1.1
  std::vector<std::pair<std::string, std::string>> headers;  ///< values trimmed
  std::string body;

  /// The first header named `name` (case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const;
  /// Whether the client lets the connection stay open after the answer.
  bool keep_alive() const;
};

struct http_request_limits {
  /// Request line plus headers, blank line included.
  std::size_t max_head = 8192;
  std::size_t max_headers = 64;
  /// Content-Length above this is refused with 413 before any body is read.
  std::size_t max_body = 4096;
};

/// Feed bytes as they arrive. One request at a time: once done, take it and
/// call next() to parse what followed it (pipelined requests).
class http_request_parser {
public:
  explicit http_request_parser(http_request_limits limits = {});

  enum class state { need_more, done, failed };

  /// Buffers `bytes` and parses as far as they go. Bytes after a complete
  /// request wait for next(). At most max_head + max_body bytes are held.
  state feed(std::string_view bytes);
  /// Forgets the request just parsed and parses the bytes that followed it.
  state next();

  state current() const noexcept { return state_; }
  /// Valid when done.
  const http_request& request() const noexcept { return req_; }
  http_request take_request() { return std::move(req_); }
  /// Valid when failed: the status to answer with (400, 413, 501, 505) and
  /// a short reason for people.
  int failure_status() const noexcept { return fail_status_; }
  const std::string& failure_reason() const noexcept { return fail_reason_; }

private:
  void run();
  state fail(int status, std::string reason);
  bool on_request_line(std::string_view line);
  bool on_header_line(std::string_view line);
  bool on_head_end();

  http_request_limits limits_;
  std::string buf_;  // unparsed input starts at pos_
  std::size_t pos_ = 0;
  std::size_t head_bytes_ = 0;
  std::size_t blank_lines_ = 0;  // before the request line
  std::size_t body_left_ = 0;
  bool in_body_ = false;
  bool seen_request_line_ = false;
  bool have_length_ = false;
  state state_ = state::need_more;
  http_request req_;
  int fail_status_ = 0;
  std::string fail_reason_;
};

} // namespace actorrent
