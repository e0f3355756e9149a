// What a request to the status page's server asks for, decided without any
// I/O: the page, the torrents' status, a state change (with its access
// check), or an error reply.
//
//   GET  /                                      the page (HEAD too)
//   GET  /api/torrents                          every torrent's status (JSON)
//   POST /api/torrents/<info-hash>/pause        likewise resume, recheck
#pragma once

#include "http_reply.hpp"
#include "http_request.hpp"

#include <string>

namespace actorrent {

/// Who may change state.
struct status_access {
  /// Non-empty: POST needs it (Authorization: Bearer TOKEN or
  /// X-Actorrent-Token: TOKEN). Empty: POST only on a loopback address.
  std::string token;
  /// The server listens on a loopback address (127.0.0.0/8, ::1).
  bool loopback = true;
};

struct status_route {
  enum class kind { page, torrents, control, reply };
  kind what = kind::reply;
  std::string info_hash;  ///< control: 40 lower-case hex digits
  std::string action;     ///< control: "pause", "resume" or "recheck"
  http_reply reply;       ///< reply: the answer (an error)
};

status_route route_status_request(const http_request& req, const status_access& access);

} // namespace actorrent
