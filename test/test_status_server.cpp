// The status page next to a real session: its JSON follows the torrents,
// its POSTs reach them, and it stops cleanly before the session does.
#include <doctest/doctest.h>

#include "loopback.hpp"
#include "temp_dir.hpp"

#include "actorrent/session.hpp"
#include "actorrent/status_server.hpp"

#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

using namespace actorrent;
using namespace std::chrono_literals;

namespace {

metainfo tiny_torrent() {
  std::string data(1000, 'x');
  auto hash = sha1(data);
  std::string info = "d6:lengthi1000e4:name8:tiny.bin12:piece lengthi16384e6:pieces20:";
  info.append(reinterpret_cast<const char*>(hash.bytes.data()), hash.bytes.size());
  info += "e";
  auto meta = parse_metainfo("d4:info" + info + "e");
  REQUIRE(meta.has_value());
  return *meta;
}

/// One request with Connection: close; the whole answer (bounded wait).
std::string exchange(std::uint16_t port, const std::string& method, const std::string& path,
                     const std::string& extra_headers = "") {
  int fd = testing::connect_loopback(port);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
                    extra_headers + "\r\n";
  REQUIRE(::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size()));
  std::string out;
  char buf[4096];
  for (;;) {
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

} // namespace

TEST_CASE("the status server lists a session's torrents and passes pause to them") {
  testing::temp_dir dir;
  auto meta = tiny_torrent();
  session_options so;
  so.bind_address = "127.0.0.1";
  so.listen_port = 0;
  session ses{so};
  {
    status_server page{ses, {"127.0.0.1", 0, "tok"}};
    REQUIRE_FALSE(page.listen_error());
    REQUIRE(page.port() != 0);
    CHECK(page.url() == "http://127.0.0.1:" + std::to_string(page.port()) + "/");

    auto empty = exchange(page.port(), "GET", "/api/torrents");
    CHECK(empty.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(empty.find("\r\n\r\n{\"torrents\":[]}") != std::string::npos);

    add_torrent_params params;
    params.download_dir = dir.path;
    params.resume = false;
    auto t = ses.add_torrent(meta, params);
    REQUIRE(t.has_value());
    const auto hex = meta.info_hash.hex();
    std::string listed;
    for (int i = 0; i < 100; ++i) {
      listed = exchange(page.port(), "GET", "/api/torrents");
      if (listed.find("\"state\":\"downloading\"") != std::string::npos) break;
      std::this_thread::sleep_for(50ms);
    }
    CHECK(listed.find("\"name\":\"tiny.bin\",\"info_hash\":\"" + hex + "\",\"state\":\"downloading\"") !=
          std::string::npos);
    CHECK(listed.find("\"files\":[{\"path\":\"tiny.bin\",\"size\":1000,\"done\":0,\"priority\":1}]") != std::string::npos);

    auto page_html = exchange(page.port(), "GET", "/");
    CHECK(page_html.find("Content-Type: text/html; charset=utf-8") != std::string::npos);

    CHECK(exchange(page.port(), "POST", "/api/torrents/" + hex + "/pause").rfind("HTTP/1.1 401", 0) == 0);
    auto unknown = exchange(page.port(), "POST", "/api/torrents/" + std::string(40, '0') + "/pause",
                            "X-Actorrent-Token: tok\r\n");
    CHECK(unknown.rfind("HTTP/1.1 404", 0) == 0);
    auto paused = exchange(page.port(), "POST", "/api/torrents/" + hex + "/pause",
                           "Authorization: Bearer tok\r\n");
    CHECK(paused.rfind("HTTP/1.1 200 OK", 0) == 0);
    bool seen = false;
    for (int i = 0; i < 100 && !seen; ++i) {
      seen = exchange(page.port(), "GET", "/api/torrents").find("\"state\":\"paused\"") != std::string::npos;
      if (!seen) std::this_thread::sleep_for(50ms);
    }
    CHECK(seen);

    // A second server cannot take the same port: an error, not a throw.
    status_server clash{ses, {"127.0.0.1", page.port(), ""}};
    CHECK(clash.listen_error());
    CHECK(clash.port() == 0);
    CHECK(clash.url().empty());
    // Leaving the scope stops both servers while the session still runs.
  }
  CHECK(ses.torrents().size() == 1);
}
