// The status page's HTTP server over real sockets on 127.0.0.1: keep-alive,
// pipelining, the bounds (size, connections, idle time), and answers that
// arrive from another thread or after the server stopped.
#include <doctest/doctest.h>

#include "loopback.hpp"

#include "http_server.hpp"
#include "net_service.hpp"

#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>

using namespace actorrent;
using namespace std::chrono_literals;

namespace {

// Every read of these tests gives up after this long: a hung server fails
// the test instead of hanging it.
constexpr int recv_timeout_s = 5;

int connect_to(std::uint16_t port) {
  int fd = testing::connect_loopback(port);
  timeval tv{recv_timeout_s, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

void send_all(int fd, std::string_view s) {
  while (!s.empty()) {
    auto n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
    if (n <= 0) return;  // the server may close first; the reply says why
    s.remove_prefix(static_cast<std::size_t>(n));
  }
}

/// Reads until the server closes (or the timeout); "" and closed=false on timeout.
std::string read_until_close(int fd, bool* closed = nullptr) {
  std::string out;
  char buf[4096];
  for (;;) {
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) {
      if (closed) *closed = true;
      return out;
    }
    if (n < 0) {
      if (closed) *closed = false;
      return out;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
}

/// Reads one response (head plus Content-Length bytes) from `pending` and the socket.
std::string read_response(int fd, std::string& pending) {
  char buf[4096];
  for (;;) {
    auto end = pending.find("\r\n\r\n");
    if (end != std::string::npos) {
      auto cl = pending.find("Content-Length: ");
      REQUIRE(cl != std::string::npos);
      std::size_t len = std::stoul(pending.substr(cl + 16));
      bool head = pending.substr(0, end).find("X-Head: 1") != std::string::npos;
      std::size_t total = end + 4 + (head ? 0 : len);
      if (pending.size() >= total) {
        auto r = pending.substr(0, total);
        pending.erase(0, total);
        return r;
      }
    }
    auto n = ::recv(fd, buf, sizeof buf, 0);
    REQUIRE(n > 0);
    pending.append(buf, static_cast<std::size_t>(n));
  }
}

struct server_fixture {
  net_service net{1};
  std::shared_ptr<http_server> server;
  std::atomic<int> served{0};

  explicit server_fixture(http_server::options opts = {}, http_server::handler h = {}) {
    if (!h)
      h = [this](http_request req, http_server::respond_fn respond) {
        ++served;
        http_reply r;
        r.content_type = "text/plain";
        r.body = req.method + " " + req.target + " " + req.body;
        if (req.method == "HEAD") r.headers.emplace_back("X-Head", "1");
        respond(std::move(r));
      };
    auto s = http_server::start(net.io(), std::move(opts), std::move(h));
    REQUIRE(s);
    server = *s;
  }
  ~server_fixture() { server->stop(); }
};

std::string get(std::string_view path, std::string_view extra = "") {
  return "GET " + std::string(path) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + std::string(extra) + "\r\n";
}

} // namespace

TEST_CASE("keep-alive and pipelined requests are answered in order on one connection") {
  server_fixture f;
  CHECK(f.server->loopback());
  CHECK(f.server->address() == "127.0.0.1");
  int fd = connect_to(f.server->port());
  std::string pending;
  send_all(fd, get("/one"));
  auto a = read_response(fd, pending);
  CHECK(a.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(a.find("Connection: keep-alive") != std::string::npos);
  CHECK(a.substr(a.size() - 9) == "GET /one ");
  // Three at once, the second with a body.
  send_all(fd, get("/two") + "POST /three HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n\r\nabc" +
                 "HEAD /four HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  auto b = read_response(fd, pending);
  CHECK(b.substr(b.size() - 9) == "GET /two ");
  auto c = read_response(fd, pending);
  CHECK(c.substr(c.size() - 15) == "POST /three abc");
  auto d = read_response(fd, pending);
  CHECK(d.find("Connection: close") != std::string::npos);
  CHECK(d.find("Content-Length: 11\r\n") != std::string::npos);
  CHECK(d.substr(d.size() - 4) == "\r\n\r\n");  // HEAD: no body
  bool closed = false;
  CHECK(read_until_close(fd, &closed) == pending);
  CHECK(closed);
  CHECK(f.served == 4);
  ::close(fd);
}

TEST_CASE("malformed and oversized requests get 400 and 413, then the server goes on") {
  server_fixture f;
  {
    int fd = connect_to(f.server->port());
    send_all(fd, "NOT HTTP AT ALL\r\n\r\n");
    bool closed = false;
    auto r = read_until_close(fd, &closed);
    CHECK(closed);
    CHECK(r.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
    CHECK(r.find("Connection: close") != std::string::npos);
    CHECK(r.find("\"error\":\"malformed request line\"") != std::string::npos);
    ::close(fd);
  }
  {
    // A head far over 8 KiB, still being sent when the answer comes.
    int fd = connect_to(f.server->port());
    send_all(fd, "GET /" + std::string(64 * 1024, 'a'));
    bool closed = false;
    auto r = read_until_close(fd, &closed);
    CHECK(closed);
    CHECK(r.rfind("HTTP/1.1 413 Content Too Large\r\n", 0) == 0);
    ::close(fd);
  }
  {
    // A body over the limit, announced and then sent anyway.
    int fd = connect_to(f.server->port());
    send_all(fd, "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 200000\r\n\r\n");
    send_all(fd, std::string(200000, 'x'));
    bool closed = false;
    auto r = read_until_close(fd, &closed);
    CHECK(r.rfind("HTTP/1.1 413 Content Too Large\r\n", 0) == 0);
    ::close(fd);
  }
  CHECK(f.served == 0);
  int fd = connect_to(f.server->port());
  std::string pending;
  send_all(fd, get("/after"));
  CHECK(read_response(fd, pending).rfind("HTTP/1.1 200 OK", 0) == 0);
  ::close(fd);
}

TEST_CASE("an idle connection is closed after the idle timeout") {
  http_server::options o;
  o.idle_timeout = 200ms;
  server_fixture f(o);
  int fd = connect_to(f.server->port());
  send_all(fd, "GET / HTTP/1.1\r\n");  // and then nothing
  bool closed = false;
  auto r = read_until_close(fd, &closed);
  CHECK(closed);
  CHECK(r.empty());
  ::close(fd);
}

TEST_CASE("connections beyond the limit are closed at once; a slot frees when one ends") {
  http_server::options o;
  o.max_connections = 2;
  server_fixture f(o);
  int a = connect_to(f.server->port());
  int b = connect_to(f.server->port());
  // Both are accepted and served before the third arrives.
  std::string pa, pb;
  send_all(a, get("/a"));
  send_all(b, get("/b"));
  read_response(a, pa);
  read_response(b, pb);
  int c = connect_to(f.server->port());
  bool closed = false;
  CHECK(read_until_close(c, &closed).empty());
  CHECK(closed);
  ::close(c);
  ::close(a);
  // The server sees a's end, then takes a new one.
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {
    int d = connect_to(f.server->port());
    send_all(d, get("/d"));
    char buf[64];
    served = ::recv(d, buf, sizeof buf, 0) > 0;
    ::close(d);
    if (!served) std::this_thread::sleep_for(50ms);
  }
  CHECK(served);
  ::close(b);
}

TEST_CASE("answers may come from another thread, and after stop() they go nowhere") {
  std::mutex m;
  std::vector<http_server::respond_fn> held;
  server_fixture f({}, [&](http_request, http_server::respond_fn respond) {
    std::lock_guard<std::mutex> lock(m);
    held.push_back(std::move(respond));
  });
  int fd = connect_to(f.server->port());
  send_all(fd, get("/late"));
  for (int i = 0; i < 200; ++i) {
    {
      std::lock_guard<std::mutex> lock(m);
      if (!held.empty()) break;
    }
    std::this_thread::sleep_for(10ms);
  }
  http_server::respond_fn respond;
  {
    std::lock_guard<std::mutex> lock(m);
    REQUIRE(held.size() == 1);
    respond = held[0];
  }
  std::thread([respond] {
    http_reply r;
    r.body = "from afar";
    respond(r);
    respond(r);  // a second answer is ignored
  }).join();
  std::string pending;
  auto r = read_response(fd, pending);
  CHECK(r.substr(r.size() - 9) == "from afar");

  send_all(fd, get("/never"));
  for (int i = 0; i < 200; ++i) {
    {
      std::lock_guard<std::mutex> lock(m);
      if (held.size() == 2) break;
    }
    std::this_thread::sleep_for(10ms);
  }
  f.server->stop();
  {
    std::lock_guard<std::mutex> lock(m);
    REQUIRE(held.size() == 2);
    held[1](http_reply{});
  }
  bool closed = false;
  CHECK(read_until_close(fd, &closed).empty());
  CHECK(closed);
  ::close(fd);
}

TEST_CASE("bad bind addresses are errors, loopback is recognised") {
  net_service net{1};
  http_server::options o;
  o.bind_address = "not-an-address";
  auto s = http_server::start(net.io(), o, [](http_request, http_server::respond_fn) {});
  REQUIRE_FALSE(s);
  CHECK(s.err().message.find("not-an-address") != std::string::npos);
  CHECK(is_loopback_address("127.0.0.1"));
  CHECK(is_loopback_address("127.9.9.9"));
  CHECK(is_loopback_address("::1"));
  CHECK(is_loopback_address("::ffff:127.0.0.1"));
  CHECK_FALSE(is_loopback_address("0.0.0.0"));
  CHECK_FALSE(is_loopback_address("192.168.1.1"));
  CHECK_FALSE(is_loopback_address("::"));
  CHECK_FALSE(is_loopback_address("junk"));
}
