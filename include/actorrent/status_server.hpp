// A status page for people and programs, served over HTTP by a thread of its
// own next to a session:
//
//   GET  /                                    a live page (HTML, no external assets)
//   GET  /api/torrents                        every torrent's status as JSON
//   POST /api/torrents/<info-hash>/pause      likewise resume, recheck
//
// Changing state needs the token when one is set (Authorization: Bearer
// TOKEN, or X-Actorrent-Token: TOKEN); without a token only a server bound
// to a loopback address accepts it. README.md describes the JSON.
//
//   actorrent::status_server page{ses, {.bind_address = "127.0.0.1", .port = 0}};
//   if (!page.listen_error()) std::cout << page.url() << "\n";
#pragma once

#include "actorrent/error.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace actorrent {

class session;

struct status_server_options {
  std::string bind_address = "127.0.0.1";
  std::uint16_t port = 0;  ///< 0 picks a free one
  /// Needed by requests that change state; empty: none (loopback only).
  std::string token;
};

class status_server {
public:
  /// Starts serving at once; throws nothing, see listen_error(). `ses`
  /// must outlive the server.
  status_server(session& ses, status_server_options opts);
  /// Stops serving and joins the server's thread.
  ~status_server();

  status_server(const status_server&) = delete;
  status_server& operator=(const status_server&) = delete;

  /// Why the server could not listen (bad address, port taken); no error
  /// when it runs.
  const error& listen_error() const noexcept;
  /// The port it listens on (0 when not listening).
  std::uint16_t port() const noexcept;
  /// "http://127.0.0.1:PORT/" (IPv6 addresses in brackets).
  std::string url() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace actorrent
