// The HTTP response parser on its own. Property: the outcome depends only on
// the bytes, not on how they arrive. The input is fed at once, one byte at a
// time, in pieces whose sizes come from the input's own bytes, and in two
// parts split at a point derived from the input; every way must end in the
// same state with the same response (or the same error). Checked under the
// default size bound and under a small one that the limit paths reach.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "http_response.hpp"

using namespace actorrent;

namespace {

using parser = http_response_parser;

struct outcome {
  parser::state st = parser::state::need_more;
  http_response resp;
  error err;
};

bool same(const outcome& a, const outcome& b) {
  if (a.st != b.st) return false;
  if (a.st == parser::state::done)
    return a.resp.status == b.resp.status && a.resp.reason == b.resp.reason &&
           a.resp.headers == b.resp.headers && a.resp.body == b.resp.body;
  return a.err.code == b.err.code && a.err.message == b.err.message;
}

outcome finish(parser& p) {
  if (p.current() == parser::state::need_more) p.finish();
  outcome o;
  o.st = p.current();
  FUZZ_CHECK(o.st != parser::state::need_more);
  if (o.st == parser::state::done) o.resp = p.response();
  else o.err = p.failure();
  return o;
}

// Feeds `in` in pieces of sizes step(i) for the i-th piece.
template <class Step>
outcome feed_in_pieces(std::string_view in, std::size_t max_size, Step step) {
  parser p(max_size);
  std::size_t pos = 0;
  for (std::size_t i = 0; pos < in.size() && p.current() == parser::state::need_more; ++i) {
    std::size_t n = std::min(step(i), in.size() - pos);
    p.feed(in.substr(pos, n));
    pos += n;
  }
  return finish(p);
}

void check_splits(std::string_view in, std::size_t max_size) {
  parser whole_parser(max_size);
  whole_parser.feed(in);
  const outcome whole = finish(whole_parser);
  if (whole.st == parser::state::failed) {
    FUZZ_CHECK(whole.err.code == errc::tracker_http);
    FUZZ_CHECK(!whole.err.message.empty());
  } else {
    FUZZ_CHECK(whole.resp.status >= 200 && whole.resp.status <= 599);
    FUZZ_CHECK(whole.resp.body.size() <= max_size);
    // What follows a complete response is handed back whole, and the
    // response alone parses the same: a kept-alive connection loses no byte
    // of the next response.
    std::string rest = whole_parser.take_leftover();
    FUZZ_CHECK(rest.size() <= in.size());
    FUZZ_CHECK(in.substr(in.size() - rest.size()) == rest);
    if (!rest.empty()) {
      parser alone(max_size);
      alone.feed(in.substr(0, in.size() - rest.size()));
      FUZZ_CHECK(same(whole, finish(alone)));
    }
  }

  FUZZ_CHECK(same(whole, feed_in_pieces(in, max_size, [](std::size_t) { return std::size_t{1}; })));
  if (in.empty()) return;
  FUZZ_CHECK(same(whole, feed_in_pieces(in, max_size, [&](std::size_t i) -> std::size_t {
    return 1 + static_cast<unsigned char>(in[i % in.size()]) % 37;
  })));
  std::size_t h = in.size();
  for (char c : in) h = h * 131 + static_cast<unsigned char>(c);
  const std::size_t cut = h % (in.size() + 1);
  FUZZ_CHECK(same(whole, feed_in_pieces(in, max_size, [&](std::size_t i) -> std::size_t {
    return i == 0 ? (cut == 0 ? in.size() : cut) : in.size();
  })));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  check_splits(in, 4u << 20);
  check_splits(in, 300);

  // parse_http_response() is feed-then-finish under the default bound.
  parser p;
  p.feed(in);
  const outcome whole = finish(p);
  auto r = parse_http_response(in);
  FUZZ_CHECK(r.has_value() == (whole.st == parser::state::done));
  if (r) FUZZ_CHECK(r->body == whole.resp.body && r->headers == whole.resp.headers);
  return 0;
}
