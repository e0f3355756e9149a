#include "status_routes.hpp"

#include <algorithm>
#include <array>

namespace actorrent {

namespace {

constexpr std::string_view api_prefix = "/api/torrents/";
constexpr std::array<std::string_view, 3> actions{"pause", "resume", "recheck"};

status_route reply(http_reply r) {
  status_route out;
  out.reply = std::move(r);
  return out;
}

status_route method_not_allowed(const char* allow) {
  auto r = json_error(405, std::string("method not allowed; allowed: ") + allow);
  r.headers.emplace_back("Allow", allow);
  return reply(std::move(r));
}

/// Compares without returning early, so the time taken says nothing about
/// how much of a guessed token was right.
bool same_secret(std::string_view a, std::string_view b) noexcept {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  return diff == 0;
}

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

/// The host of a Host header value ("127.0.0.1:8080" -> "127.0.0.1",
/// "[::1]:80" -> "::1").
std::string_view host_of(std::string_view h) {
  if (!h.empty() && h.front() == '[') {
    auto close = h.find(']');
    return close == std::string_view::npos ? std::string_view{} : h.substr(1, close - 1);
  }
  return h.substr(0, h.find(':'));
}

/// A page on another site may make the browser send requests to a loopback
/// port, and may point a name of its own at 127.0.0.1 (DNS rebinding) to
/// read the answers: on loopback only names that are loopback are served.
bool loopback_host(std::string_view host_header) {
  auto host = lowered(host_of(host_header));
  if (host == "localhost" || host == "::1") return true;
  if (host.rfind("127.", 0) != 0) return false;
  return std::all_of(host.begin(), host.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
}

/// Why a state change is refused, or an empty reply (status 0) when allowed.
http_reply check_write_access(const http_request& req, const status_access& access) {
  // A browser says where a request comes from; a page of another origin may
  // not press our buttons even when it cannot read the answer.
  if (const auto* origin = req.header("Origin")) {
    const auto* host = req.header("Host");
    if (!host || (*origin != "http://" + *host && *origin != "https://" + *host))
      return json_error(403, "cross-origin requests may not change state");
  }
  if (access.token.empty()) {
    if (!access.loopback)
      return json_error(403, "changing state needs a token (--status-token) when the status "
                             "page is not bound to a loopback address");
    return http_reply{0, {}, {}, {}};
  }
  std::string_view given;
  bool has_credentials = false;
  if (const auto* auth = req.header("Authorization")) {
    std::string_view v = *auth;
    if (v.size() > 7 && lowered(v.substr(0, 7)) == "bearer ") {
      given = v.substr(7);
      has_credentials = true;
    }
  }
  if (!has_credentials) {
    if (const auto* t = req.header("X-Actorrent-Token")) {
      given = *t;
      has_credentials = true;
    }
  }
  if (!has_credentials) {
    auto r = json_error(401, "a token is needed: Authorization: Bearer TOKEN");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  if (!same_secret(given, access.token)) return json_error(403, "wrong token");
  return http_reply{0, {}, {}, {}};
}

} // namespace

status_route route_status_request(const http_request& req, const status_access& access) {
  if (access.loopback) {
    const auto* host = req.header("Host");
    // HTTP/1.0 requests may come without Host; with one it must be loopback.
    if (host && !loopback_host(*host))
      return reply(json_error(403, "this status page answers only to loopback host names"));
  }
  const bool read = req.method == "GET" || req.method == "HEAD";
  if (req.path == "/") {
    if (!read) return method_not_allowed("GET, HEAD");
    status_route r;
    r.what = status_route::kind::page;
    return r;
  }
  if (req.path == "/api/torrents") {
    if (!read) return method_not_allowed("GET, HEAD");
    status_route r;
    r.what = status_route::kind::torrents;
    return r;
  }
  std::string_view path = req.path;
  if (path.rfind(api_prefix, 0) == 0) {
    auto rest = path.substr(api_prefix.size());
    auto slash = rest.find('/');
    if (slash != std::string_view::npos) {
      auto hash = rest.substr(0, slash);
      auto action = rest.substr(slash + 1);
      bool known = std::find(actions.begin(), actions.end(), action) != actions.end();
      if (hash.size() == 40 && is_hex(hash) && known) {
        if (req.method != "POST") return method_not_allowed("POST");
        auto denied = check_write_access(req, access);
        if (denied.status != 0) return reply(std::move(denied));
        status_route r;
        r.what = status_route::kind::control;
        r.info_hash = lowered(hash);
        r.action = std::string(action);
        return r;
      }
    }
  }
  return reply(json_error(404, "no such page: " + req.path));
}

} // namespace actorrent
