// Requests to the status page come from whoever reaches its port: the
// parser must survive any bytes, stay within its bounds, and give the same
// requests (or the same failure) whether the bytes come at once or in
// pieces. The JSON escaper gets the same bytes: its output must be valid
// UTF-8 with no raw control characters.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "http_request.hpp"
#include "json_writer.hpp"

using namespace actorrent;
using state = http_request_parser::state;

namespace {

struct outcome {
  std::vector<http_request> requests;
  int failure = 0;

  bool operator==(const outcome& o) const {
    if (failure != o.failure || requests.size() != o.requests.size()) return false;
    for (std::size_t i = 0; i < requests.size(); ++i) {
      const auto& a = requests[i];
      const auto& b = o.requests[i];
      if (a.method != b.method || a.target != b.target || a.path != b.path || a.query != b.query ||
          a.version_minor != b.version_minor || a.headers != b.headers || a.body != b.body)
        return false;
    }
    return true;
  }
};

// Small bounds, so mutations reach the limit paths.
http_request_limits limits() {
  http_request_limits l;
  l.max_head = 512;
  l.max_headers = 8;
  l.max_body = 256;
  return l;
}

void collect(http_request_parser& p, outcome& out) {
  while (p.current() == state::done) {
    auto r = p.take_request();
    if (r.method.empty() || r.path.empty() || r.path.front() != '/') std::abort();
    if (r.body.size() > limits().max_body) std::abort();
    out.requests.push_back(std::move(r));
    p.next();
  }
  if (p.current() == state::failed) {
    int s = p.failure_status();
    if (s != 400 && s != 413 && s != 501 && s != 505) std::abort();
    out.failure = s;
  }
}

outcome parse_pieces(std::string_view in, bool whole) {
  http_request_parser p(limits());
  outcome out;
  std::size_t pos = 0, i = 0;
  while (pos < in.size() && p.current() != state::failed) {
    std::size_t step = whole ? in.size() : 1 + static_cast<unsigned char>(in[i++ % in.size()]) % 13;
    // Like the server: no new bytes while a request waits to be taken.
    p.feed(in.substr(pos, step));
    pos += step;
    collect(p, out);
  }
  return out;
}

bool valid_utf8_json(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    i += n;
  }
  return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // Pipelined requests in one buffer are taken one by one as they complete,
  // so the whole and the pieces must agree only up to where the buffer cap
  // could cut the whole: keep inputs within it.
  if (in.size() <= limits().max_head + limits().max_body) {
    if (!(parse_pieces(in, true) == parse_pieces(in, false))) std::abort();
  } else {
    (void)parse_pieces(in, false);
  }
  std::string json;
  append_json_string(json, in);
  if (json.size() < 2 || json.front() != '"' || json.back() != '"') std::abort();
  if (!valid_utf8_json(json)) std::abort();
  return 0;
}
