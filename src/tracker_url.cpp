#include "tracker_url.hpp"
#include "ascii.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <optional>

namespace actorrent {

using namespace host_syntax;

namespace {

using ascii::is_alpha;
using ascii::is_digit;

// Far above any real announce URL; stops a hostile .torrent from making us
// build megabyte request lines.
constexpr std::size_t max_url_length = 8192;

bool is_unreserved(char c) noexcept {
  return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

const char* event_name(announce_event e) noexcept {
  switch (e) {
    case announce_event::started: return "started";
    case announce_event::completed: return "completed";
    case announce_event::stopped: return "stopped";
    case announce_event::none: break;
  }
  return nullptr;
}

} // namespace

std::string percent_encode(std::string_view raw) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(raw.size() * 3);
  for (char c : raw) {
    if (is_unreserved(c)) {
      out += c;
    } else {
      auto b = static_cast<unsigned char>(c);
      out += '%';
      out += hex[b >> 4];
      out += hex[b & 0xf];
    }
  }
  return out;
}

std::string build_announce_url(const announce_request& r) {
  // A fragment would swallow the query we append, so it goes.
  std::string out = r.announce_url.substr(0, r.announce_url.find('#'));
  if (out.find('?') == std::string::npos)
    out += '?';
  else if (out.back() != '?' && out.back() != '&')
    out += '&';
  auto peer_id = std::string_view(reinterpret_cast<const char*>(r.peer_id.data()), r.peer_id.size());
  out += "info_hash=" + percent_encode(r.info_hash.raw());
  out += "&peer_id=" + percent_encode(peer_id);
  out += "&port=" + std::to_string(r.port);
  out += "&uploaded=" + std::to_string(r.uploaded);
  out += "&downloaded=" + std::to_string(r.downloaded);
  out += "&left=" + std::to_string(r.left);
  out += r.compact ? "&compact=1" : "&compact=0";
  out += "&numwant=" + std::to_string(std::max(r.numwant, 0));
  if (const char* ev = event_name(r.event)) out += std::string("&event=") + ev;
  if (!r.key.empty()) out += "&key=" + percent_encode(r.key);
  if (!r.tracker_id.empty()) out += "&trackerid=" + percent_encode(r.tracker_id);
  return out;
}

result<url> parse_url(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return error{errc::invalid_argument, "tracker URL: " + why};
  };
  if (text.size() > max_url_length) return bad("longer than " + std::to_string(max_url_length) + " bytes");
  // Space and control bytes would let a .torrent inject lines into the request.
  for (char c : text) {
    auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b == 0x7f) return bad("contains a space or control byte");
  }
  auto sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0) return bad("missing scheme");
  url u;
  for (char c : text.substr(0, sep)) u.scheme += ascii::to_lower(c);
  std::uint16_t default_port = 0;
  if (u.scheme == "http")
    default_port = 80;
  else if (u.scheme == "https")
    default_port = 443;
  else if (u.scheme != "udp")
    return bad("unsupported scheme '" + u.scheme + "'");

  auto rest = text.substr(sep + 3);
  auto auth_end = rest.find_first_of("/?#");
  auto authority = rest.substr(0, auth_end);
  auto tail = auth_end == std::string_view::npos ? std::string_view{} : rest.substr(auth_end);
  if (authority.find('@') != std::string_view::npos) return bad("user info is not allowed");

  std::string_view host, port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("'[' without ']'");
    host = authority.substr(1, close - 1);
    if (!valid_ipv6(host)) return bad("bad IPv6 address");
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("junk after ']'");
      port = after.substr(1);
      has_port = true;
    }
  } else {
    auto colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      has_port = true;
    }
    if (host.empty()) return bad("missing host");
    if (!valid_unbracketed_host(host)) return bad("bad host '" + std::string(host) + "'");
  }
  u.host = std::string(host);
  if (has_port) {
    auto p = parse_port(port);
    if (!p) return bad("port must be 1..65535");
    u.port = *p;
  } else if (default_port != 0) {
    u.port = default_port;
  } else {
    return bad("udp tracker URL needs a port");
  }

  tail = tail.substr(0, tail.find('#'));
  if (tail.empty() || tail.front() != '/') u.target = "/";
  // Non-ASCII bytes are legal in a .torrent's URL but not on a request line.
  for (char c : tail) {
    if (static_cast<unsigned char>(c) >= 0x80)
      u.target += percent_encode(std::string_view(&c, 1));
    else
      u.target += c;
  }
  return u;
}

result<url> resolve_location(const url& base, std::string_view location) {
  if (location.find("://") != std::string_view::npos) {
    auto u = parse_url(location);
    if (!u) return u.err();
    if (u->scheme != "http" && u->scheme != "https")
      return error{errc::invalid_argument, "redirect to a " + u->scheme + ":// URL"};
    return u;
  }
  if (location.empty() || location.front() != '/' || location.substr(0, 2) == "//")
    return error{errc::invalid_argument, "redirect Location is neither a URL nor an absolute path"};
  // Checked like a whole URL (length, control bytes, non-ASCII).
  auto u = parse_url(base.scheme + "://" + bracketed(base.host) + ":" + std::to_string(base.port) +
                     std::string(location));
  if (!u) return u.err();
  return u;
}

std::string to_string(const url& u) {
  return u.scheme + "://" + bracketed(u.host) + ":" + std::to_string(u.port) + u.target;
}

std::string build_http_get(const url& u, std::string_view user_agent) {
  std::uint16_t default_port = u.scheme == "https" ? 443 : 80;
  std::string host = bracketed(u.host);
  if (u.port != default_port) host.append(1, ':').append(std::to_string(u.port));
  std::string agent;
  // A stray CR or LF in the agent string would end the header early.
  for (char c : user_agent) {
    auto b = static_cast<unsigned char>(c);
    if (b >= 0x20 && b != 0x7f) agent += c;
  }
  std::string out;
  out.append("GET ").append(u.target.empty() ? std::string_view("/") : std::string_view(u.target));
  out.append(" HTTP/1.1\r\nHost: ").append(host);
  out.append("\r\nUser-Agent: ").append(agent);
  out.append("\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n");
  return out;
}

} // namespace actorrent
