#include "http_request.hpp"
#include "ascii.hpp"

#include <algorithm>
#include <charconv>

namespace actorrent {

namespace {

using ascii::iequals;
using ascii::is_digit;
using ascii::is_tchar;

// Longer than any method the server knows; a longer token is not a method.
constexpr std::size_t max_method = 16;
// Blank lines tolerated before the request line (RFC 9112 2.2 allows some).
constexpr std::size_t max_leading_blank_lines = 4;

bool is_token(std::string_view s) noexcept {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

// Visible ASCII only: no spaces, controls or bytes above 0x7e in a target.
bool is_target_char(char c) noexcept {
  auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u < 0x7f;
}

/// Whether the comma-separated list `value` holds `token` (case-insensitive).
bool has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    auto comma = value.find(',');
    auto item = ascii::trim_ows(value.substr(0, comma));
    if (iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

} // namespace

const std::string* http_request::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return &v;
  return nullptr;
}

bool http_request::keep_alive() const {
  const auto* c = header("Connection");
  if (version_minor == 0) return c && has_token(*c, "keep-alive");
  return !(c && has_token(*c, "close"));
}

http_request_parser::http_request_parser(http_request_limits limits) : limits_(limits) {}

http_request_parser::state http_request_parser::fail(int status, std::string reason) {
  fail_status_ = status;
  fail_reason_ = std::move(reason);
  state_ = state::failed;
  buf_.clear();
  pos_ = 0;
  return state_;
}

http_request_parser::state http_request_parser::feed(std::string_view bytes) {
  if (state_ == state::failed) return state_;
  // Never hold more than one request's worth: a client that streams bytes
  // without end meets the head bound, or the body bound, whatever it sends.
  std::size_t cap = limits_.max_head + limits_.max_body;
  std::size_t held = buf_.size() - pos_;
  if (held + bytes.size() > cap) bytes = bytes.substr(0, cap > held ? cap - held : 0);
  buf_.append(bytes);
  if (state_ == state::need_more) run();
  return state_;
}

http_request_parser::state http_request_parser::next() {
  if (state_ != state::done) return state_;
  req_ = {};
  head_bytes_ = 0;
  blank_lines_ = 0;
  body_left_ = 0;
  in_body_ = false;
  seen_request_line_ = false;
  have_length_ = false;
  state_ = state::need_more;
  buf_.erase(0, pos_);
  pos_ = 0;
  run();
  return state_;
}

void http_request_parser::run() {
  while (state_ == state::need_more) {
    if (in_body_) {
      std::size_t take = std::min(body_left_, buf_.size() - pos_);
      req_.body.append(buf_, pos_, take);
      pos_ += take;
      body_left_ -= take;
      if (body_left_ == 0) state_ = state::done;
      break;
    }
    auto nl = buf_.find('\n', pos_);
    if (nl == std::string::npos) {
      if (head_bytes_ + (buf_.size() - pos_) > limits_.max_head)
        fail(413, "request head larger than " + std::to_string(limits_.max_head) + " bytes");
      break;
    }
    std::size_t len = nl + 1 - pos_;
    head_bytes_ += len;
    if (head_bytes_ > limits_.max_head) {
      fail(413, "request head larger than " + std::to_string(limits_.max_head) + " bytes");
      break;
    }
    std::string_view line(buf_.data() + pos_, nl - pos_);
    pos_ = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!seen_request_line_) {
      if (line.empty()) {
        if (++blank_lines_ > max_leading_blank_lines) fail(400, "no request line");
        continue;
      }
      seen_request_line_ = true;
      if (!on_request_line(line)) break;
    } else if (line.empty()) {
      if (!on_head_end()) break;
    } else if (!on_header_line(line)) {
      break;
    }
  }
  if (state_ == state::need_more && pos_ > 0) {
    // What is parsed is in req_: keep only the partial line.
    buf_.erase(0, pos_);
    pos_ = 0;
  }
}

bool http_request_parser::on_request_line(std::string_view line) {
  auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return fail(400, "malformed request line"), false;
  auto sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return fail(400, "malformed request line"), false;
  auto method = line.substr(0, sp1);
  auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  auto version = line.substr(sp2 + 1);
  if (!is_token(method) || method.size() > max_method) return fail(400, "malformed method"), false;
  if (target.empty() || target.front() != '/' ||
      !std::all_of(target.begin(), target.end(), is_target_char))
    return fail(400, "malformed request target"), false;
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || !is_digit(version[5]) ||
      version[6] != '.' || !is_digit(version[7]))
    return fail(400, "malformed HTTP version"), false;
  if (version[5] != '1' || (version[7] != '0' && version[7] != '1'))
    return fail(505, "only HTTP/1.0 and HTTP/1.1 are served"), false;
  req_.method = std::string(method);
  req_.target = std::string(target);
  auto q = target.find('?');
  req_.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) req_.query = std::string(target.substr(q + 1));
  req_.version_minor = version[7] - '0';
  return true;
}

bool http_request_parser::on_header_line(std::string_view line) {
  if (line.front() == ' ' || line.front() == '\t')
    return fail(400, "folded header lines are not accepted"), false;
  if (req_.headers.size() >= limits_.max_headers)
    return fail(413, "more than " + std::to_string(limits_.max_headers) + " headers"), false;
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return fail(400, "header line without ':'"), false;
  auto name = line.substr(0, colon);
  if (!is_token(name)) return fail(400, "malformed header name"), false;
  auto value = ascii::trim_ows(line.substr(colon + 1));
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f)
      return fail(400, "control character in header value"), false;
  }
  req_.headers.emplace_back(std::string(name), std::string(value));
  return true;
}

bool http_request_parser::on_head_end() {
  if (req_.version_minor == 1 && !req_.header("Host"))
    return fail(400, "HTTP/1.1 request without Host"), false;
  if (req_.header("Transfer-Encoding"))
    return fail(501, "request bodies in Transfer-Encoding are not accepted"), false;
  std::size_t length = 0;
  for (const auto& [k, v] : req_.headers) {
    if (!iequals(k, "Content-Length")) continue;
    std::size_t n = 0;
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || ptr != v.data() + v.size() || !is_digit(v.front()))
      return fail(400, "malformed Content-Length"), false;
    if (ec == std::errc::result_out_of_range)
      return fail(413, "request body larger than " + std::to_string(limits_.max_body) + " bytes"), false;
    if (ec != std::errc{}) return fail(400, "malformed Content-Length"), false;
    if (have_length_ && n != length) return fail(400, "conflicting Content-Length"), false;
    have_length_ = true;
    length = n;
  }
  if (length > limits_.max_body)
    return fail(413, "request body larger than " + std::to_string(limits_.max_body) + " bytes"), false;
  body_left_ = length;
  if (length == 0) {
    state_ = state::done;
  } else {
    in_body_ = true;
  }
  return true;
}

} // namespace actorrent
