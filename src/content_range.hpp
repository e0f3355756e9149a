// The Content-Range header of a 206 reply (RFC 9110 14.4): which bytes of
// the resource the body holds. A web seed's answers are checked against it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace actorrent {

struct content_range {
  std::int64_t first = 0;  ///< first byte of the body in the resource
  std::int64_t last = 0;   ///< last byte (inclusive); first <= last
  /// The resource's whole length; empty for "*" (unknown). When known,
  /// last < complete.
  std::optional<std::int64_t> complete;
};

/// Parses "bytes FIRST-LAST/COMPLETE" or "bytes FIRST-LAST/*" (spaces around
/// the value allowed, unit case-insensitive). Numbers are decimal, at most 18
/// digits. Refuses anything else, including the unsatisfied form "bytes */N".
std::optional<content_range> parse_content_range(std::string_view value);

/// The header value for `r`, as parse_content_range reads it.
std::string to_string(const content_range& r);

} // namespace actorrent
