// An HTTP/1.x response parser for tracker replies: incremental, binary-safe
// and bounded, since the bytes come from an untrusted server.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "actorrent/error.hpp"

namespace actorrent {

struct http_response {
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;  ///< in arrival order, values trimmed
  std::string body;                                          ///< de-chunked, byte-exact

  /// The first header named `name` (case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const;
};

/// Feed bytes as they arrive. Handles HTTP/1.0 and 1.1, Content-Length,
/// chunked transfer encoding (extensions and trailers) and body-until-close.
/// Any status code is a successful parse; the caller judges it.
class http_response_parser {
public:
  /// `max_size` bounds header + body; going over fails with errc::tracker_http.
  explicit http_response_parser(std::size_t max_size = 4u << 20);

  enum class state { need_more, done, failed };

  /// Consumes `bytes`; bytes after a complete response are kept for
  /// take_leftover() (the next response on a kept-alive connection).
  state feed(std::string_view bytes);
  /// The peer closed the connection: completes a body-until-close, fails a truncated one.
  state finish();

  state current() const noexcept { return state_; }
  /// Valid when done.
  const http_response& response() const { return resp_; }
  /// Moves the response out; valid when done.
  http_response take_response() { return std::move(resp_); }
  /// The bytes that followed the response in what was fed; valid when done.
  std::string take_leftover() { return std::move(buf_); }
  /// Valid when failed.
  const error& failure() const { return err_; }

private:
  enum class phase : unsigned char {
    status_line, headers, body_length, body_close, chunk_size, chunk_data, chunk_data_end, trailers
  };

  void run();
  state fail(std::string msg);
  bool take_line(std::string_view& line, bool counts_as_head);
  bool on_status_line(std::string_view line);
  bool on_header_line(std::string_view line);
  bool on_headers_end();
  bool on_chunk_size_line(std::string_view line);
  bool take_body();

  std::size_t max_size_;
  std::size_t consumed_ = 0;      // bytes accepted so far, for the total bound
  std::size_t head_bytes_ = 0;    // status, header and trailer bytes so far
  std::size_t header_count_ = 0;  // header and trailer lines so far
  std::size_t remaining_ = 0;     // Content-Length or chunk bytes still expected
  std::string buf_;               // input not yet parsed starts at pos_
  std::size_t pos_ = 0;
  std::size_t scanned_ = 0;       // bytes from pos_ known to hold no LF: a line
                                  // arriving in small reads is searched once
  phase phase_ = phase::status_line;
  state state_ = state::need_more;
  http_response resp_;
  error err_;
};

/// Parses a complete response: feed(whole) then finish().
result<http_response> parse_http_response(std::string_view whole);

} // namespace actorrent
