#include <doctest/doctest.h>

#include "http_request.hpp"

#include <string>
#include <string_view>

using namespace actorrent;
using state = http_request_parser::state;

namespace {

state feed_all(http_request_parser& p, std::string_view in) { return p.feed(in); }

state feed_bytewise(http_request_parser& p, std::string_view in) {
  auto st = state::need_more;
  for (char c : in) {
    st = p.feed(std::string_view(&c, 1));
    if (st != state::need_more) break;
  }
  return st;
}

} // namespace

TEST_CASE("a GET request with headers, whole or byte by byte") {
  const std::string in =
    "GET /api/torrents?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAccept:  */* \r\nX-Empty:\r\n\r\n";
  for (int bytewise = 0; bytewise < 2; ++bytewise) {
    http_request_parser p;
    auto st = bytewise ? feed_bytewise(p, in) : feed_all(p, in);
    REQUIRE(st == state::done);
    const auto& r = p.request();
    CHECK(r.method == "GET");
    CHECK(r.target == "/api/torrents?x=1");
    CHECK(r.path == "/api/torrents");
    CHECK(r.query == "x=1");
    CHECK(r.version_minor == 1);
    REQUIRE(r.headers.size() == 3);
    CHECK(*r.header("host") == "127.0.0.1:8080");
    CHECK(*r.header("ACCEPT") == "*/*");
    CHECK(r.header("x-empty")->empty());
    CHECK(r.header("missing") == nullptr);
    CHECK(r.keep_alive());
  }
}

TEST_CASE("bare LF line ends and a blank line before the request line are accepted") {
  http_request_parser p;
  REQUIRE(p.feed("\r\nHEAD / HTTP/1.0\n\n") == state::done);
  CHECK(p.request().method == "HEAD");
  CHECK(p.request().version_minor == 0);
  CHECK_FALSE(p.request().keep_alive());
}

TEST_CASE("keep-alive follows the version and the Connection header") {
  auto parse = [](std::string_view in) {
    http_request_parser p;
    REQUIRE(p.feed(in) == state::done);
    return p.take_request();
  };
  CHECK_FALSE(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, Close\r\n\r\n").keep_alive());
  CHECK(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive());
  CHECK(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\n\r\n").keep_alive());
}

TEST_CASE("a POST body is read to its Content-Length") {
  http_request_parser p;
  CHECK(p.feed("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nab") == state::need_more);
  CHECK(p.feed("cde") == state::done);
  CHECK(p.request().body == "abcde");
}

TEST_CASE("pipelined requests come out one after the other") {
  http_request_parser p;
  REQUIRE(p.feed("GET /a HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nHost: h\r\n"
                 "Content-Length: 2\r\n\r\nxyGET /c HTTP/1.1\r\n") == state::done);
  CHECK(p.take_request().path == "/a");
  REQUIRE(p.next() == state::done);
  auto b = p.take_request();
  CHECK(b.path == "/b");
  CHECK(b.body == "xy");
  CHECK(p.next() == state::need_more);
  CHECK(p.feed("Host: h\r\n\r\n") == state::done);
  CHECK(p.request().path == "/c");
  CHECK(p.request().body.empty());
}

TEST_CASE("malformed requests fail with 400") {
  const char* bad[] = {
    "GET\r\n\r\n",
    "GET /\r\n\r\n",
    "GET  / HTTP/1.1\r\nHost: h\r\n\r\n",
    "GET / HTTP/1.1 extra\r\nHost: h\r\n\r\n",
    "GET http://example.com/ HTTP/1.1\r\nHost: h\r\n\r\n",
    "GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n",
    "G(T / HTTP/1.1\r\nHost: h\r\n\r\n",
    "GET / HTTP/1.x\r\nHost: h\r\n\r\n",
    "GET / FTP/1.1\r\nHost: h\r\n\r\n",
    "GET / HTTP/1.1\r\n\r\n",                       // 1.1 without Host
    "GET / HTTP/1.1\r\nHost: h\r\nNo colon\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: h\r\nBad Name: v\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: h\r\nX: a\x01b\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1x\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.0\r\n\r\n",
  };
  for (const char* in : bad) {
    CAPTURE(in);
    http_request_parser p;
    REQUIRE(p.feed(in) == state::failed);
    CHECK(p.failure_status() == 400);
    CHECK_FALSE(p.failure_reason().empty());
  }
}

TEST_CASE("other HTTP versions get 505, request bodies in chunks 501") {
  http_request_parser a;
  REQUIRE(a.feed("GET / HTTP/2.0\r\n\r\n") == state::failed);
  CHECK(a.failure_status() == 505);
  http_request_parser b;
  REQUIRE(b.feed("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n") == state::failed);
  CHECK(b.failure_status() == 501);
}

TEST_CASE("the head is bounded: a long line fails with 413 before its end arrives") {
  http_request_limits lim;
  lim.max_head = 1024;
  http_request_parser p(lim);
  CHECK(p.feed("GET /" + std::string(1000, 'a')) == state::need_more);
  REQUIRE(p.feed(std::string(100, 'a')) == state::failed);
  CHECK(p.failure_status() == 413);

  // Many short headers add up to the same bound.
  http_request_parser q(lim);
  std::string in = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < 100; ++i) in += "X-" + std::to_string(i) + ": 0123456789\r\n";
  REQUIRE(q.feed(in) == state::failed);
  CHECK(q.failure_status() == 413);
}

TEST_CASE("the number of headers is bounded") {
  http_request_limits lim;
  lim.max_headers = 3;
  http_request_parser p(lim);
  REQUIRE(p.feed("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n") == state::failed);
  CHECK(p.failure_status() == 413);
}

TEST_CASE("a body over the limit is refused from its Content-Length, before it is sent") {
  http_request_limits lim;
  lim.max_body = 10;
  http_request_parser p(lim);
  REQUIRE(p.feed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n") == state::failed);
  CHECK(p.failure_status() == 413);
  http_request_parser q(lim);
  REQUIRE(q.feed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n") ==
          state::failed);
  CHECK(q.failure_status() == 413);
  http_request_parser ok(lim);
  CHECK(ok.feed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789") == state::done);
}

TEST_CASE("a failed parser stays failed and holds nothing") {
  http_request_parser p;
  REQUIRE(p.feed("BROKEN\r\n") == state::failed);
  CHECK(p.feed("GET / HTTP/1.0\r\n\r\n") == state::failed);
  CHECK(p.next() == state::failed);
}
