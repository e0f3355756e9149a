#include "http_response.hpp"
#include "ascii.hpp"

#include <algorithm>

namespace actorrent {

namespace {

using ascii::hex_value;
using ascii::iequals;
using ascii::is_digit;
using ascii::is_tchar;

// Bounds on the head of the response. Tracker replies have a handful of short
// headers; these leave ample room and stop a server from streaming endless
// header lines or a line without an end.
constexpr std::size_t max_line = 8192;
constexpr std::size_t max_head_bytes = 64u << 10;
constexpr std::size_t max_header_lines = 100;
// 15 hex digits stay below 2^60, so the chunk size cannot overflow size_t.
constexpr std::size_t max_chunk_size_digits = 15;

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii::to_lower(c);
  return out;
}

} // namespace

const std::string* http_response::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return &v;
  return nullptr;
}

http_response_parser::http_response_parser(std::size_t max_size) : max_size_(max_size) {}

http_response_parser::state http_response_parser::fail(std::string msg) {
  err_ = error{errc::tracker_http, std::move(msg)};
  state_ = state::failed;
  return state_;
}

http_response_parser::state http_response_parser::feed(std::string_view bytes) {
  if (state_ != state::need_more) return state_;
  std::size_t room = max_size_ - consumed_;
  bool over = bytes.size() > room;
  std::string_view excess;
  if (over) {
    excess = bytes.substr(room);
    bytes = bytes.substr(0, room);
  }
  consumed_ += bytes.size();
  buf_.append(bytes);
  run();
  // Drop what has been parsed so the buffer holds at most one partial line
  // (after a complete response: the bytes that follow it, all of them).
  buf_.erase(0, pos_);
  pos_ = 0;
  if (state_ == state::done) buf_.append(excess);
  if (state_ == state::need_more && over)
    return fail("response larger than " + std::to_string(max_size_) + " bytes");
  return state_;
}

http_response_parser::state http_response_parser::finish() {
  if (state_ != state::need_more) return state_;
  if (phase_ == phase::body_close) {
    state_ = state::done;
    return state_;
  }
  if (consumed_ == 0) return fail("connection closed before any response");
  return fail("connection closed mid-response after " + std::to_string(consumed_) + " bytes");
}

bool http_response_parser::take_line(std::string_view& line, bool counts_as_head) {
  auto nl = buf_.find('\n', pos_ + scanned_);
  if (nl == std::string::npos) {
    scanned_ = buf_.size() - pos_;
    // The line's CR may be here without its LF yet; it is not part of the
    // line, so a full-length line plus CR still waits for the LF.
    if (buf_.size() - pos_ > max_line + 1)
      fail("header line longer than " + std::to_string(max_line) + " bytes");
    return false;
  }
  scanned_ = 0;
  line = std::string_view(buf_).substr(pos_, nl - pos_);
  std::size_t raw_size = nl + 1 - pos_;
  pos_ = nl + 1;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() > max_line) {
    fail("header line longer than " + std::to_string(max_line) + " bytes");
    return false;
  }
  if (line.find('\r') != std::string_view::npos) {
    fail("bare CR inside a header line");
    return false;
  }
  if (counts_as_head) {
    head_bytes_ += raw_size;
    if (head_bytes_ > max_head_bytes) {
      fail("response head larger than " + std::to_string(max_head_bytes) + " bytes");
      return false;
    }
  }
  return true;
}

bool http_response_parser::on_status_line(std::string_view line) {
  // "HTTP/1.x NNN reason"; the reason may be empty or absent.
  if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || !is_digit(line[7]) || line[8] != ' ' ||
      !is_digit(line[9]) || !is_digit(line[10]) || !is_digit(line[11]) ||
      (line.size() > 12 && line[12] != ' ')) {
    fail("malformed status line");
    return false;
  }
  int status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  if (status < 100 || status > 599) {
    fail("status code " + std::to_string(status) + " out of range");
    return false;
  }
  resp_.status = status;
  resp_.reason = std::string(line.size() > 12 ? line.substr(13) : std::string_view{});
  return true;
}

bool http_response_parser::on_header_line(std::string_view line) {
  if (++header_count_ > max_header_lines) {
    fail("more than " + std::to_string(max_header_lines) + " header lines");
    return false;
  }
  if (line.front() == ' ' || line.front() == '\t') {
    // Obsolete line folding: the line continues the previous header's value.
    if (resp_.headers.empty()) {
      fail("continuation line before any header");
      return false;
    }
    auto& value = resp_.headers.back().second;
    auto more = ascii::trim_ows(line);
    if (!more.empty()) {
      if (!value.empty()) value += ' ';
      value += more;
    }
    return true;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    fail("header line without a name");
    return false;
  }
  auto name = line.substr(0, colon);
  if (!std::all_of(name.begin(), name.end(), is_tchar)) {
    fail("bad character in header name");
    return false;
  }
  resp_.headers.emplace_back(std::string(name), std::string(ascii::trim_ows(line.substr(colon + 1))));
  return true;
}

bool http_response_parser::on_headers_end() {
  // Interim responses precede the real one; the head bounds keep counting, so
  // a stream of them cannot go on forever.
  if (resp_.status < 200) {
    resp_ = http_response{};
    phase_ = phase::status_line;
    return true;
  }
  if (resp_.status == 204 || resp_.status == 304) {
    state_ = state::done;
    return true;
  }

  std::string codings;
  std::string content_encoding;
  bool have_length = false;
  std::size_t length = 0;
  for (const auto& [k, v] : resp_.headers) {
    if (iequals(k, "Transfer-Encoding")) {
      if (!codings.empty()) codings += ',';
      codings += v;
    } else if (iequals(k, "Content-Encoding")) {
      content_encoding = lowered(ascii::trim_ows(v));
    } else if (iequals(k, "Content-Length")) {
      auto t = ascii::trim_ows(v);
      if (t.empty() || t.size() > 18 || !std::all_of(t.begin(), t.end(), is_digit)) {
        fail("bad Content-Length '" + std::string(t) + "'");
        return false;
      }
      std::size_t n = 0;
      for (char c : t) n = n * 10 + static_cast<std::size_t>(c - '0');
      if (have_length && n != length) {
        fail("conflicting Content-Length headers");
        return false;
      }
      have_length = true;
      length = n;
    }
  }
  // We ask for identity; a server that encodes anyway sends bytes we cannot read.
  if (!content_encoding.empty() && content_encoding != "identity") {
    fail("unsupported Content-Encoding '" + content_encoding + "'");
    return false;
  }

  bool chunked = false;
  if (!codings.empty()) {
    std::string_view rest = codings;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      auto coding = lowered(ascii::trim_ows(rest.substr(0, comma)));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      if (coding.empty() || coding == "identity") continue;
      if (coding != "chunked" || chunked) {
        fail("unsupported Transfer-Encoding '" + codings + "'");
        return false;
      }
      chunked = true;
    }
  }
  // Transfer-Encoding overrides Content-Length (RFC 9112 section 6.3).
  if (chunked) {
    phase_ = phase::chunk_size;
  } else if (have_length) {
    if (length > max_size_ - std::min(max_size_, head_bytes_)) {
      fail("Content-Length " + std::to_string(length) + " over the " + std::to_string(max_size_) +
           "-byte limit");
      return false;
    }
    resp_.body.reserve(length);
    remaining_ = length;
    phase_ = phase::body_length;
    if (remaining_ == 0) state_ = state::done;
  } else {
    phase_ = phase::body_close;
  }
  return true;
}

bool http_response_parser::on_chunk_size_line(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && line[i] == '0') ++i;
  std::size_t digits_start = i;
  std::size_t size = 0;
  while (i < line.size() && hex_value(line[i]) >= 0) {
    size = size * 16 + static_cast<std::size_t>(hex_value(line[i]));
    if (++i - digits_start > max_chunk_size_digits) {
      fail("chunk size too large");
      return false;
    }
  }
  if (i == 0) {
    fail("malformed chunk size line");
    return false;
  }
  auto rest = ascii::trim_ows(line.substr(i));
  if (!rest.empty() && rest.front() != ';') {
    fail("malformed chunk size line");
    return false;
  }
  // Refused now rather than after its bytes have arrived.
  if (size > max_size_ - std::min(max_size_, head_bytes_ + resp_.body.size())) {
    fail("chunk of " + std::to_string(size) + " bytes over the " + std::to_string(max_size_) + "-byte limit");
    return false;
  }
  remaining_ = size;
  phase_ = size == 0 ? phase::trailers : phase::chunk_data;
  return true;
}

bool http_response_parser::take_body() {
  std::size_t n = std::min(remaining_, buf_.size() - pos_);
  resp_.body.append(buf_, pos_, n);
  pos_ += n;
  remaining_ -= n;
  return remaining_ == 0;
}

void http_response_parser::run() {
  std::string_view line;
  while (state_ == state::need_more) {
    switch (phase_) {
      case phase::status_line:
        if (!take_line(line, true) || !on_status_line(line)) return;
        phase_ = phase::headers;
        break;
      case phase::headers:
        if (!take_line(line, true)) return;
        if (line.empty()) {
          if (!on_headers_end()) return;
        } else if (!on_header_line(line)) {
          return;
        }
        break;
      case phase::body_length:
        if (take_body()) state_ = state::done;
        return;
      case phase::body_close:
        resp_.body.append(buf_, pos_, std::string::npos);
        pos_ = buf_.size();
        return;
      case phase::chunk_size:
        if (!take_line(line, false) || !on_chunk_size_line(line)) return;
        break;
      case phase::chunk_data:
        if (!take_body()) return;
        phase_ = phase::chunk_data_end;
        break;
      case phase::chunk_data_end:
        if (!take_line(line, false)) return;
        if (!line.empty()) {
          fail("chunk data longer than its size");
          return;
        }
        phase_ = phase::chunk_size;
        break;
      case phase::trailers:
        // Trailers are bounded like headers but not kept: nothing a tracker
        // reply needs lives there.
        if (!take_line(line, true)) return;
        if (line.empty()) {
          state_ = state::done;
        } else if (++header_count_ > max_header_lines) {
          fail("more than " + std::to_string(max_header_lines) + " header lines");
          return;
        }
        break;
    }
  }
}

result<http_response> parse_http_response(std::string_view whole) {
  http_response_parser p;
  if (p.feed(whole) == http_response_parser::state::need_more) p.finish();
  if (p.current() == http_response_parser::state::failed) return p.failure();
  return p.take_response();
}

} // namespace actorrent
