// web_seed_connection against a scripted server on 127.0.0.1: requests are
// pipelined on one connection, responses split from one another, a close
// between responses hands the unanswered ones back, and stalls, short and
// oversized bodies fail.
#include <doctest/doctest.h>

#include "loopback.hpp"

#include "net_service.hpp"
#include "web_seed_connection.hpp"
#include "web_seed_plan.hpp"

#include <sys/socket.h>
#include <poll.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>

using namespace actorrent;
using namespace std::chrono_literals;

namespace {

struct outcome {
  errc code = errc::none;
  std::string text;  // the body, or the error's message
};

web_seed_connection::callback into(std::promise<outcome>& p) {
  return [&p](result<http_response> r) {
    if (r)
      p.set_value({errc::none, r->body});
    else
      p.set_value({r.err().code, r.err().message});
  };
}

outcome await(std::promise<outcome>& p) {
  auto f = p.get_future();
  REQUIRE(f.wait_for(10s) == std::future_status::ready);
  return f.get();
}

// One connection's worth of server: accepts once, reads until `requests`
// requests arrived (all of them before answering anything), then sends
// `reply` in one write and closes when `close` is set (else after the
// client does). What it read is kept for checks.
struct scripted_server {
  std::uint16_t port = 0;
  int listener = -1;
  std::string seen;
  int accepted = 0;
  std::thread worker;

  scripted_server(int requests, std::string reply, bool close) {
    port = testing::free_port();
    listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(listener, 4) == 0);
    worker = std::thread([this, requests, reply = std::move(reply), close] {
      pollfd pl{listener, POLLIN, 0};
      if (::poll(&pl, 1, 5000) != 1) return;
      int s = ::accept(listener, nullptr, nullptr);
      if (s < 0) return;
      ++accepted;
      char buf[4096];
      auto count = [this] {
        int n = 0;
        for (auto at = seen.find("\r\n\r\n"); at != std::string::npos; at = seen.find("\r\n\r\n", at + 4)) ++n;
        return n;
      };
      while (count() < requests) {
        pollfd p{s, POLLIN, 0};
        if (::poll(&p, 1, 5000) != 1) break;
        auto n = ::recv(s, buf, sizeof buf, 0);
        if (n <= 0) break;
        seen.append(buf, static_cast<std::size_t>(n));
      }
      if (!reply.empty()) ::send(s, reply.data(), reply.size(), MSG_NOSIGNAL);
      if (!close) {
        // Until the client closes, or 5 s.
        pollfd p{s, POLLIN, 0};
        while (::poll(&p, 1, 5000) == 1 && ::recv(s, buf, sizeof buf, 0) > 0) {}
      }
      ::close(s);
    });
  }

  ~scripted_server() {
    if (worker.joinable()) worker.join();
    ::close(listener);
  }

  url origin() const { return url{"http", "127.0.0.1", port, "/"}; }
};

std::string range_reply(std::string_view body, std::size_t first, std::string_view extra = {}) {
  return "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes " + std::to_string(first) + "-" +
         std::to_string(first + body.size() - 1) + "/*\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n" + std::string(extra) + "\r\n" + std::string(body);
}

url file_url(std::uint16_t port) { return url{"http", "127.0.0.1", port, "/f"}; }

} // namespace

TEST_CASE("requests are pipelined on one connection and each gets its own response") {
  scripted_server server(2, range_reply("hello", 0) + range_reply("world", 5), false);
  net_service net;
  auto conn = web_seed_connection::create(net.io(), server.origin(), nullptr, 4, 5000ms);
  std::promise<outcome> a, b;
  conn->send(build_range_get(file_url(server.port), "t", 0, 5), 1000, into(a));
  conn->send(build_range_get(file_url(server.port), "t", 5, 5), 1000, into(b));
  auto ra = await(a), rb = await(b);
  CHECK(ra.code == errc::none);
  CHECK(ra.text == "hello");
  CHECK(rb.code == errc::none);
  CHECK(rb.text == "world");
  conn->close();
  server.worker.join();
  CHECK(server.accepted == 1);
  CHECK(server.seen.find("Range: bytes=0-4\r\n") != std::string::npos);
  CHECK(server.seen.find("Range: bytes=5-9\r\n") != std::string::npos);
}

TEST_CASE("a close after one answer hands the other request back as not answered") {
  scripted_server server(2, range_reply("hello", 0, "Connection: close\r\n"), true);
  net_service net;
  auto conn = web_seed_connection::create(net.io(), server.origin(), nullptr, 4, 5000ms);
  std::promise<outcome> a, b;
  conn->send(build_range_get(file_url(server.port), "t", 0, 5), 1000, into(a));
  conn->send(build_range_get(file_url(server.port), "t", 5, 5), 1000, into(b));
  CHECK(await(a).text == "hello");
  CHECK(await(b).code == errc::cancelled);
  // The connection is finished: later requests come back at once.
  std::promise<outcome> c;
  conn->send(build_range_get(file_url(server.port), "t", 5, 5), 1000, into(c));
  CHECK(await(c).code == errc::cancelled);
}

TEST_CASE("a server that never answers times out") {
  scripted_server server(1, "", false);
  net_service net;
  auto conn = web_seed_connection::create(net.io(), server.origin(), nullptr, 4, 300ms);
  std::promise<outcome> a;
  auto t0 = std::chrono::steady_clock::now();
  conn->send(build_range_get(file_url(server.port), "t", 0, 5), 1000, into(a));
  auto r = await(a);
  CHECK(r.code == errc::timeout);
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  conn->close();
}

TEST_CASE("a short body and a body larger than the bound are failures, not retries") {
  SUBCASE("short") {
    scripted_server server(1, "HTTP/1.1 206 P\r\nContent-Range: bytes 0-9/*\r\nContent-Length: 10\r\n\r\nhello",
                           true);
    net_service net;
    auto conn = web_seed_connection::create(net.io(), server.origin(), nullptr, 4, 5000ms);
    std::promise<outcome> a;
    conn->send(build_range_get(file_url(server.port), "t", 0, 10), 1000, into(a));
    auto r = await(a);
    CHECK(r.code == errc::io_error);
    CHECK(r.text.find("mid-response") != std::string::npos);
  }
  SUBCASE("larger than asked") {
    scripted_server server(1, range_reply(std::string(2000, 'x'), 0), false);
    net_service net;
    auto conn = web_seed_connection::create(net.io(), server.origin(), nullptr, 4, 5000ms);
    std::promise<outcome> a;
    conn->send(build_range_get(file_url(server.port), "t", 0, 2000), 500, into(a));
    auto r = await(a);
    CHECK(r.code == errc::io_error);
    CHECK_MESSAGE(r.text.find("500-byte limit") != std::string::npos, r.text);
    conn->close();
  }
}

TEST_CASE("a refused connection fails every request queued on it") {
  auto port = testing::free_port();
  net_service net;
  auto conn = web_seed_connection::create(net.io(), url{"http", "127.0.0.1", port, "/"}, nullptr, 4, 5000ms);
  std::promise<outcome> a, b;
  conn->send(build_range_get(file_url(port), "t", 0, 5), 1000, into(a));
  conn->send(build_range_get(file_url(port), "t", 5, 5), 1000, into(b));
  auto ra = await(a), rb = await(b);
  CHECK(ra.code == errc::io_error);
  CHECK(rb.code == errc::io_error);
  CHECK(ra.text.find("refused") != std::string::npos);
}

TEST_CASE("a rate limit slows the reads, and the wait for tokens is not charged to the server") {
  // 64 KiB at 32 KiB/s, with a 16 KiB burst to start: at least 1.5 s of
  // reading, five times the 300 ms the server is given per response.
  std::string body(64 * 1024, 'b');
  scripted_server server(1, range_reply(body, 0), false);
  net_service net;
  auto limit = std::make_shared<rate_limiter>(32 * 1024);
  auto conn = web_seed_connection::create(net.io(), server.origin(), nullptr, 4, 300ms, {limit});
  std::promise<outcome> a;
  auto t0 = std::chrono::steady_clock::now();
  conn->send(build_range_get(file_url(server.port), "t", 0, body.size()), body.size() + 1000, into(a));
  auto r = await(a);
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK_MESSAGE(r.code == errc::none, r.text);
  CHECK((r.text == body));
  // Tokens cannot come faster than the rate: the bytes were drawn from the bucket.
  CHECK(took >= 1200ms);
  conn->close();
}

TEST_CASE("under a rate limit a server that stalls mid-response still times out") {
  std::string reply = "HTTP/1.1 206 P\r\nContent-Range: bytes 0-65535/*\r\nContent-Length: 65536\r\n\r\n" +
                      std::string(20 * 1024, 'b');
  scripted_server server(1, reply, false);
  net_service net;
  auto limit = std::make_shared<rate_limiter>(32 * 1024);
  auto conn = web_seed_connection::create(net.io(), server.origin(), nullptr, 4, 500ms, {limit});
  std::promise<outcome> a;
  conn->send(build_range_get(file_url(server.port), "t", 0, 65536), 70000, into(a));
  auto r = await(a);
  CHECK(r.code == errc::timeout);
  conn->close();
}
