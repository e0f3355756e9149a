// Building the HTTP tracker announce (BEP 3): URL escaping, the
// announce query string, tracker URL parsing and the GET request bytes.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "actorrent/error.hpp"
#include "actorrent/sha1_hash.hpp"
#include "peer_endpoint.hpp"

namespace actorrent {

enum class announce_event { none, started, completed, stopped };

/// Everything an HTTP announce carries.
struct announce_request {
  std::string announce_url;  ///< as in the torrent; may already contain a query ("?passkey=...")
  sha1_hash info_hash;
  std::array<std::uint8_t, 20> peer_id{};
  std::uint16_t port = 0;
  std::int64_t uploaded = 0, downloaded = 0, left = 0;
  announce_event event = announce_event::none;
  int numwant = 50;
  std::string key;         ///< optional; omitted when empty
  std::string tracker_id;  ///< optional; omitted when empty
  bool compact = true;
};

/// Keeps the unreserved characters (A-Za-z0-9-._~); every other byte becomes %XX (upper case).
std::string percent_encode(std::string_view raw);

/// The announce URL with the query appended ('&' if the URL already has a '?', else '?').
std::string build_announce_url(const announce_request& r);

/// A parsed tracker URL. `target` is path + query ("/" when empty); the port
/// defaults to 80 (http) or 443 (https); `host` carries IPv6 without brackets.
struct url {
  std::string scheme;
  std::string host;
  std::uint16_t port = 0;
  std::string target;
};

/// Parses http://, https:// and udp:// URLs; rejects other schemes, userinfo,
/// missing hosts, bad ports and control characters. udp:// has no default port.
result<url> parse_url(std::string_view text);

/// Where a redirect's Location leads from `base`: an absolute http:// or
/// https:// URL, or an absolute path ("/x?y") on the same server. Other
/// forms (relative paths, other schemes) are refused.
result<url> resolve_location(const url& base, std::string_view location);

/// The text form of `u`, for messages.
std::string to_string(const url& u);

/// The bytes of a GET request for `u` (HTTP/1.1, Connection: close, identity encoding).
std::string build_http_get(const url& u, std::string_view user_agent);

} // namespace actorrent
