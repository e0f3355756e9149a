// The Content-Range parser of web seed replies. Properties: what it accepts
// is a span that makes sense (first <= last < complete), its text form reads
// back as the same span, and judging a 206 reply with that header accepts
// exactly the span it names and nothing else.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "content_range.hpp"
#include "fuzz_check.hpp"
#include "web_seed_plan.hpp"

using namespace actorrent;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto r = parse_content_range(in);
  if (!r) return 0;
  FUZZ_CHECK(r->first >= 0 && r->first <= r->last);
  if (r->complete) FUZZ_CHECK(r->last < *r->complete);
  auto again = parse_content_range(to_string(*r));
  FUZZ_CHECK(again && again->first == r->first && again->last == r->last &&
             again->complete == r->complete);

  // A reply small enough to build: the named span is accepted, a shifted one not.
  std::int64_t length = r->last - r->first + 1;
  if (length > 4096) return 0;
  http_response resp;
  resp.status = 206;
  resp.headers.push_back({"Content-Range", std::string(in)});
  resp.body.assign(static_cast<std::size_t>(length), 'x');
  FUZZ_CHECK(judge_range_reply(resp, r->first, length).what == web_seed_reply::kind::data);
  FUZZ_CHECK(judge_range_reply(resp, r->first + 1, length).what == web_seed_reply::kind::failure);
  if (length > 1)
    FUZZ_CHECK(judge_range_reply(resp, r->first, length - 1).what == web_seed_reply::kind::failure);
  return 0;
}
