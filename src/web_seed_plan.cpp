#include "web_seed_plan.hpp"

#include "content_range.hpp"
#include "printable.hpp"

namespace actorrent {

std::string web_seed_file_url(std::string_view base, bool multi_file, std::string_view name,
                              const std::vector<std::string>& path) {
  std::string out(base);
  bool dir = !out.empty() && out.back() == '/';
  if (!multi_file) {
    if (dir) out += percent_encode(name);
    return out;
  }
  if (!dir) out += '/';
  out += percent_encode(name);
  for (const auto& c : path) out.append(1, '/').append(percent_encode(c));
  return out;
}

std::vector<web_seed_range> plan_web_seed_run(const file_layout& layout, std::uint32_t piece,
                                              std::int64_t begin, std::int64_t length) {
  std::vector<web_seed_range> out;
  for (const auto& s : layout.map(piece, begin, length)) {
    if (layout.files()[s.file].pad) continue;
    out.push_back({s.file, s.file_offset, s.length, s.buffer_offset});
  }
  return out;
}

std::string build_range_get(const url& u, std::string_view user_agent, std::int64_t first,
                            std::int64_t length) {
  std::string out = build_http_get(u, user_agent);
  // The one-shot form closes the connection; a web seed keeps it for the
  // next range.
  constexpr std::string_view close = "Connection: close\r\n";
  auto at = out.find(close);
  std::string range = "Range: bytes=" + std::to_string(first) + "-" + std::to_string(first + length - 1) +
                      "\r\nConnection: keep-alive\r\n";
  if (at != std::string::npos) out.replace(at, close.size(), range);
  return out;
}

web_seed_reply judge_range_reply(http_response r, std::int64_t first, std::int64_t length) {
  using k = web_seed_reply::kind;
  auto fail = [](std::string why) { return web_seed_reply{k::failure, std::move(why)}; };
  auto size = static_cast<std::int64_t>(r.body.size());
  if (r.status == 301 || r.status == 302 || r.status == 303 || r.status == 307 || r.status == 308) {
    if (const std::string* loc = r.header("Location")) return {k::redirect, *loc};
    return fail("HTTP " + std::to_string(r.status) + " without a Location");
  }
  if (r.status == 206) {
    const std::string* cr = r.header("Content-Range");
    if (cr == nullptr) return fail("206 without Content-Range");
    auto range = parse_content_range(*cr);
    if (!range) return fail("bad Content-Range " + printable(*cr));
    if (range->first != first || range->last != first + length - 1)
      return fail("Content-Range " + printable(*cr) + " is not the range asked for (bytes " +
                  std::to_string(first) + "-" + std::to_string(first + length - 1) + ")");
    if (size != length)
      return fail("body of " + std::to_string(size) + " bytes for a range of " + std::to_string(length));
    return {k::data, std::move(r.body)};
  }
  if (r.status == 200) {
    // Without Range support the server sends the whole file: usable only
    // when the whole file is what was asked for.
    if (first == 0 && size == length) return {k::data, std::move(r.body)};
    return fail("200 with " + std::to_string(size) + " bytes instead of the range asked for (" +
                std::to_string(length) + " bytes at " + std::to_string(first) + ")");
  }
  return fail("HTTP " + std::to_string(r.status) + " " + printable(r.reason));
}

} // namespace actorrent
