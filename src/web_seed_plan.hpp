// What a web seed (BEP 19, "url-list") is asked for: the URL of each file on
// the seed, the HTTP Range requests that fetch a run of a piece's bytes
// (several when the run crosses files), and whether a reply is what was
// asked for. No I/O: the web seed actor and unit tests drive it.
#pragma once

#include "actorrent/error.hpp"
#include "file_layout.hpp"
#include "http_response.hpp"
#include "tracker_url.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace actorrent {

/// The URL of one file on a web seed whose url-list entry is `base`. Single
/// file: `base`, with the percent-encoded `name` appended when it ends in
/// '/'. Multi-file: `base` + '/' (unless it ends in one) + name + '/' + the
/// path, each component percent-encoded.
std::string web_seed_file_url(std::string_view base, bool multi_file, std::string_view name,
                              const std::vector<std::string>& path);

/// One HTTP request of a run: bytes [first, first + length) of `file`, to
/// go at `buffer_offset` of the run's buffer.
struct web_seed_range {
  std::uint32_t file = 0;
  std::int64_t first = 0;
  std::int64_t length = 0;
  std::int64_t buffer_offset = 0;
};

/// The requests that fetch (piece, begin, length) from a web seed, in order.
/// Padding files are left out (their bytes are zeros, already in the
/// buffer). Empty when the run is not inside the piece.
std::vector<web_seed_range> plan_web_seed_run(const file_layout& layout, std::uint32_t piece,
                                              std::int64_t begin, std::int64_t length);

/// The bytes of "GET u.target" asking for bytes [first, first + length) on a
/// connection that stays open (HTTP/1.1 keep-alive, identity encoding).
std::string build_range_get(const url& u, std::string_view user_agent, std::int64_t first,
                            std::int64_t length);

/// What a web seed answered to one range request.
struct web_seed_reply {
  enum class kind { data, redirect, failure };
  kind what = kind::failure;
  /// data: exactly the bytes asked for; redirect: the Location; failure:
  /// why, for people.
  std::string text;
};

/// Judges `r`, the answer to a request for [first, first + length): a 206
/// whose Content-Range names exactly that span and whose body has exactly
/// that size; or a 200 carrying the whole file when the span is the whole
/// file (a server that ignores Range); or a redirect with a Location.
/// Everything else (404, 5xx, a wrong or missing Content-Range, a short or
/// long body, a 200 for part of a file) is a failure saying why.
web_seed_reply judge_range_reply(http_response r, std::int64_t first, std::int64_t length);

} // namespace actorrent
