#include <doctest/doctest.h>

#include "loopback.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "announce_reply.hpp"
#include "http_response.hpp"
#include "tracker_url.hpp"

using namespace actorrent;
using namespace std::string_literals;
using namespace std::string_view_literals;

namespace {

// "<length>:<bytes>", so binary test strings are spelled once.
std::string bstr(std::string_view s) { return std::to_string(s.size()) + ":" + std::string(s); }

std::string compact_v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d, std::uint16_t port) {
  std::string s;
  for (std::uint8_t x : {a, b, c, d, static_cast<std::uint8_t>(port >> 8), static_cast<std::uint8_t>(port & 0xff)})
    s += static_cast<char>(x);
  return s;
}

announce_request sample_request() {
  announce_request r;
  r.announce_url = "http://tracker.example.org:6969/announce";
  r.info_hash = *sha1_hash::from_hex("0123456789abcdef0123456789abcdef01234567");
  // Spaces, '%', NUL, 0xff and CR/LF exercise every escaping path.
  std::string id = "-AT0001-a b~._%"s + '\0' + "\xff\r\nZ";
  REQUIRE(id.size() == 20);
  std::copy(id.begin(), id.end(), reinterpret_cast<char*>(r.peer_id.data()));
  r.port = 6881;
  r.uploaded = 1024;
  r.downloaded = 2048;
  r.left = 4096;
  r.numwant = 30;
  return r;
}

constexpr const char* sample_query =
    "info_hash=%01%23Eg%89%AB%CD%EF%01%23Eg%89%AB%CD%EF%01%23Eg"
    "&peer_id=-AT0001-a%20b~._%25%00%FF%0D%0AZ"
    "&port=6881&uploaded=1024&downloaded=2048&left=4096&compact=1&numwant=30";

// Same outcome whichever way the bytes are cut up.
struct outcome {
  http_response_parser::state st = http_response_parser::state::need_more;
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

outcome run_parser(const std::vector<std::string_view>& parts, bool close_at_end) {
  http_response_parser p;
  auto st = http_response_parser::state::need_more;
  for (auto part : parts) st = p.feed(part);
  if (close_at_end) st = p.finish();
  outcome o;
  o.st = st;
  if (st == http_response_parser::state::done) {
    o.status = p.response().status;
    o.headers = p.response().headers;
    o.body = p.response().body;
  }
  return o;
}

void check_all_splits(std::string_view wire, bool close_at_end) {
  outcome whole = run_parser({wire}, close_at_end);
  REQUIRE(whole.st == http_response_parser::state::done);
  for (std::size_t cut = 0; cut <= wire.size(); ++cut) {
    CAPTURE(cut);
    outcome two = run_parser({wire.substr(0, cut), wire.substr(cut)}, close_at_end);
    REQUIRE(two.st == whole.st);
    CHECK(two.status == whole.status);
    CHECK(two.headers == whole.headers);
    CHECK(two.body == whole.body);
  }
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < wire.size(); ++i) bytes.push_back(wire.substr(i, 1));
  outcome single = run_parser(bytes, close_at_end);
  REQUIRE(single.st == whole.st);
  CHECK(single.headers == whole.headers);
  CHECK(single.body == whole.body);
}

} // namespace

TEST_CASE("percent_encode keeps exactly the unreserved bytes") {
  const std::string_view unreserved = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
  std::string all;
  std::string expected_all;
  for (int b = 0; b < 256; ++b) {
    char c = static_cast<char>(b);
    all += c;
    std::string expected;
    if (unreserved.find(c) != std::string_view::npos) {
      expected = std::string(1, c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", b);
      expected = buf;
    }
    CAPTURE(b);
    CHECK(percent_encode(std::string_view(&c, 1)) == expected);
    expected_all += expected;
  }
  CHECK(percent_encode(all) == expected_all);
  CHECK(percent_encode(all).size() == 66 + 3 * (256 - 66));
  CHECK(percent_encode("") == "");
}

TEST_CASE("build_announce_url") {
  announce_request r = sample_request();
  const std::string base = "http://tracker.example.org:6969/announce";

  SUBCASE("no event, no key, no tracker id") {
    CHECK(build_announce_url(r) == base + "?" + sample_query);
  }
  SUBCASE("existing query is extended with '&'") {
    r.announce_url = base + "?passkey=s3cr3t";
    CHECK(build_announce_url(r) == base + "?passkey=s3cr3t&" + sample_query);
  }
  SUBCASE("a trailing '?' or '&' gets no second separator; a fragment is dropped") {
    r.announce_url = base + "?";
    CHECK(build_announce_url(r) == base + "?" + sample_query);
    r.announce_url = base + "?a=1&";
    CHECK(build_announce_url(r) == base + "?a=1&" + sample_query);
    r.announce_url = base + "#frag";
    CHECK(build_announce_url(r) == base + "?" + sample_query);
  }
  SUBCASE("events") {
    r.event = announce_event::started;
    CHECK(build_announce_url(r) == base + "?" + sample_query + "&event=started");
    r.event = announce_event::completed;
    CHECK(build_announce_url(r) == base + "?" + sample_query + "&event=completed");
    r.event = announce_event::stopped;
    CHECK(build_announce_url(r) == base + "?" + sample_query + "&event=stopped");
    r.event = announce_event::none;
    CHECK(build_announce_url(r).find("event") == std::string::npos);
  }
  SUBCASE("key and tracker id only when set, escaped") {
    r.key = "k/1 2";
    CHECK(build_announce_url(r) == base + "?" + sample_query + "&key=k%2F1%202");
    r.tracker_id = "id&x";
    r.event = announce_event::started;
    CHECK(build_announce_url(r) ==
          base + "?" + sample_query + "&event=started&key=k%2F1%202&trackerid=id%26x");
    r.key.clear();
    CHECK(build_announce_url(r) == base + "?" + sample_query + "&event=started&trackerid=id%26x");
  }
  SUBCASE("compact off, negative numwant") {
    r.compact = false;
    r.numwant = -5;
    std::string q = sample_query;
    q.replace(q.find("compact=1"), 9, "compact=0");
    q.replace(q.find("numwant=30"), 10, "numwant=0");
    CHECK(build_announce_url(r) == base + "?" + q);
  }
}

TEST_CASE("parse_url accepts tracker URLs") {
  auto u = parse_url("http://tracker.example.org/announce");
  REQUIRE(u);
  CHECK(u->scheme == "http");
  CHECK(u->host == "tracker.example.org");
  CHECK(u->port == 80);
  CHECK(u->target == "/announce");

  u = parse_url("http://tracker.example.org:6969/announce?passkey=abc#frag");
  REQUIRE(u);
  CHECK(u->port == 6969);
  CHECK(u->target == "/announce?passkey=abc");

  u = parse_url("http://10.0.0.1");
  REQUIRE(u);
  CHECK(u->host == "10.0.0.1");
  CHECK(u->target == "/");

  u = parse_url("http://example.org?x=1");
  REQUIRE(u);
  CHECK(u->target == "/?x=1");

  u = parse_url("HTTPS://Example.org/a");
  REQUIRE(u);
  CHECK(u->scheme == "https");
  CHECK(u->port == 443);
  CHECK(u->host == "Example.org");

  u = parse_url("http://[::1]:6969/announce");
  REQUIRE(u);
  CHECK(u->host == "::1");
  CHECK(u->port == 6969);
  CHECK(u->target == "/announce");

  u = parse_url("https://[2001:db8::1]/x");
  REQUIRE(u);
  CHECK(u->host == "2001:db8::1");
  CHECK(u->port == 443);

  u = parse_url("udp://tracker.opentrackr.org:1337/announce");
  REQUIRE(u);
  CHECK(u->scheme == "udp");
  CHECK(u->port == 1337);

  u = parse_url("http://example.org/caf\xc3\xa9");
  REQUIRE(u);
  CHECK(u->target == "/caf%C3%A9");
}

TEST_CASE("parse_url rejects junk") {
  for (std::string_view bad :
       {"ftp://example.org/", "http:///announce", "http://:80/", "http://host:0/",
        "http://host:70000/", "http://host:/", "http://host:abc/", "http://host:-1/", "garbage", "",
        "://host/", "http://user:pw@host/", "http://host/a b", "http://host/a\r\nX: y",
        "udp://host/announce", "http://[::1/", "http://[zz::1]:80/", "http://[::1]x/", "http://1.2.3/",
        "http://300.1.1.1/", "http://ho$t/", "http://[::1]:99999/"}) {
    CAPTURE(bad);
    auto u = parse_url(bad);
    CHECK_FALSE(u.has_value());
    if (!u) CHECK(u.err().code == errc::invalid_argument);
  }
  CHECK_FALSE(parse_url("http://example.org/" + std::string(9000, 'a')).has_value());
}

TEST_CASE("build_http_get") {
  url u{"http", "tracker.example.org", 80, "/announce?x=1"};
  CHECK(build_http_get(u, "actorrent/0.1") ==
        "GET /announce?x=1 HTTP/1.1\r\nHost: tracker.example.org\r\nUser-Agent: actorrent/0.1\r\n"
        "Accept-Encoding: identity\r\nConnection: close\r\n\r\n");
  auto v6 = parse_url("http://[::1]:6969/announce");
  REQUIRE(v6);
  CHECK(build_http_get(*v6, "ua\r\nEvil: 1") ==
        "GET /announce HTTP/1.1\r\nHost: [::1]:6969\r\nUser-Agent: uaEvil: 1\r\n"
        "Accept-Encoding: identity\r\nConnection: close\r\n\r\n");
  auto tls = parse_url("https://example.org");
  REQUIRE(tls);
  CHECK(build_http_get(*tls, "x").find("GET / HTTP/1.1\r\nHost: example.org\r\n") == 0);
}

TEST_CASE("parse_endpoint and peer_endpoint::to_string") {
  auto e = parse_endpoint("1.2.3.4:6881");
  REQUIRE(e);
  CHECK(e->host == "1.2.3.4");
  CHECK(e->port == 6881);
  CHECK(e->to_string() == "1.2.3.4:6881");

  e = parse_endpoint("[::1]:6881");
  REQUIRE(e);
  CHECK(e->host == "::1");
  CHECK(e->to_string() == "[::1]:6881");

  e = parse_endpoint("peer.example.net:65535");
  REQUIRE(e);
  CHECK(e->host == "peer.example.net");
  CHECK(e->port == 65535);

  for (std::string_view bad : {":80", "1.2.3.4:0", "1.2.3.4:65536", "::1:80", "1.2.3.4", "[::1]",
                               "[::1]80", "[::g]:80", "1.2.3.4:", "a b:1", "1.2.3.4:+1"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_endpoint(bad).has_value());
  }
  CHECK(peer_endpoint{"1.2.3.4", 1} < peer_endpoint{"1.2.3.4", 2});
}

TEST_CASE("HTTP response with Content-Length") {
  std::string wire = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-length: 5\r\n\r\nhello";
  auto r = parse_http_response(wire + "trailing junk is ignored");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->reason == "OK");
  CHECK(r->body == "hello");
  REQUIRE(r->header("CONTENT-TYPE") != nullptr);
  CHECK(*r->header("content-type") == "text/plain");
  CHECK(r->header("X-Missing") == nullptr);
  check_all_splits(wire, false);

  // Bare LF line ends, no reason phrase, header value whitespace trimmed.
  r = parse_http_response("HTTP/1.0 200\nContent-Length:  3 \n\nabc");
  REQUIRE(r);
  CHECK(r->reason.empty());
  CHECK(*r->header("Content-Length") == "3");
  CHECK(r->body == "abc");
}

TEST_CASE("HTTP chunked body with extensions and trailers") {
  std::string wire =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 999\r\n\r\n"
      "5\r\nd8:in\r\n"
      "A;name=value\r\ntervali60e\r\n"
      "0a ; ext\r\n5:peers0:e\r\n"
      "000\r\nX-Trailer: 1\r\nX-Other: 2\r\n\r\n";
  auto r = parse_http_response(wire);
  REQUIRE(r);
  CHECK(r->body == "d8:intervali60e5:peers0:e");
  CHECK(r->header("X-Trailer") == nullptr);  // trailers are not merged into the headers
  check_all_splits(wire, false);

  // A chunked reply is complete before the connection closes.
  http_response_parser p;
  CHECK(p.feed(wire) == http_response_parser::state::done);
}

TEST_CASE("HTTP/1.0 body until close") {
  std::string wire = "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nd8:intervali5ee";
  http_response_parser p;
  CHECK(p.feed(wire) == http_response_parser::state::need_more);
  CHECK(p.finish() == http_response_parser::state::done);
  CHECK(p.response().body == "d8:intervali5ee");
  check_all_splits(wire, true);

  auto r = parse_http_response("HTTP/1.1 200 OK\r\n\r\n");
  REQUIRE(r);
  CHECK(r->body.empty());
}

TEST_CASE("HTTP body is binary safe") {
  // A compact peer entry "d8:\0\r\n" is 100.56.58.0 port 0x0d0a.
  std::string entry = "d8:"s + '\0' + "\r\n";
  std::string body = "d8:intervali60e5:peers" + bstr(entry) + "e";
  std::string wire = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  auto r = parse_http_response(wire);
  REQUIRE(r);
  CHECK(r->body == body);
  check_all_splits(wire, false);

  // Chunk sizes are hex; body.size() < 10 would make decimal and hex agree by luck.
  REQUIRE(body.size() >= 10);
  char hex[16];
  std::snprintf(hex, sizeof hex, "%zx", body.size());
  std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"s + hex + "\r\n" + body + "\r\n0\r\n\r\n";
  r = parse_http_response(chunked);
  REQUIRE(r);
  CHECK(r->body == body);
  check_all_splits(chunked, false);

  auto reply = parse_announce_reply(r->body);
  REQUIRE(reply);
  REQUIRE(reply->peers.size() == 1);
  CHECK(reply->peers[0] == peer_endpoint{"100.56.58.0", 0x0d0a});
}

TEST_CASE("HTTP failures") {
  auto failed = [](std::string_view wire) {
    auto r = parse_http_response(wire);
    if (r) return false;
    CHECK(r.err().code == errc::tracker_http);
    return true;
  };
  CHECK(failed(""));
  CHECK(failed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"));             // truncated body
  CHECK(failed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n"));                      // truncated head
  CHECK(failed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"));  // truncated chunk
  CHECK(failed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"));  // no last chunk
  CHECK(failed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n"));
  CHECK(failed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"));
  CHECK(failed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\n"));
  CHECK(failed("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"));
  CHECK(failed("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 1\r\n\r\nx"));
  CHECK(failed("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"));
  CHECK(failed("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx"));
  CHECK(failed("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n"));
  CHECK(failed("HTTP/2 200 OK\r\n\r\n"));
  CHECK(failed("HTTP/1.1 20 OK\r\n\r\n"));
  CHECK(failed("HTTP/1.1 200OK\r\n\r\n"));
  CHECK(failed("ICY 200 OK\r\n\r\n"));
  CHECK(failed("HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n"));
  CHECK(failed("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n"));
  CHECK(failed("HTTP/1.1 200 OK\r\n folded-first\r\n\r\n"));
  CHECK(failed("HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n"));

  std::string many = "HTTP/1.1 200 OK\r\n";
  for (int i = 0; i < 101; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  CHECK(failed(many + "Content-Length: 0\r\n\r\n"));
  CHECK(failed("HTTP/1.1 200 OK\r\nX: " + std::string(9000, 'a') + "\r\n\r\n"));
  // An endless line is refused before its end arrives.
  http_response_parser endless;
  CHECK(endless.feed("HTTP/1.1 200 OK\r\nX: " + std::string(9000, 'a')) == http_response_parser::state::failed);
}

TEST_CASE("HTTP size bound") {
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\n";
  {
    http_response_parser p(100);
    CHECK(p.feed(head) == http_response_parser::state::failed);  // refused from the header alone
    CHECK(p.failure().code == errc::tracker_http);
  }
  {
    http_response_parser p(100);
    CHECK(p.feed("HTTP/1.0 200 OK\r\n\r\n") == http_response_parser::state::need_more);
    CHECK(p.feed(std::string(60, 'x')) == http_response_parser::state::need_more);
    CHECK(p.feed(std::string(60, 'x')) == http_response_parser::state::failed);
  }
  {
    http_response_parser p(100);
    CHECK(p.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n") ==
          http_response_parser::state::failed);  // the first chunk alone would pass the bound
  }
  {
    // Exactly at the bound is fine.
    std::string wire = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789";
    http_response_parser p(wire.size());
    CHECK(p.feed(wire) == http_response_parser::state::done);
    http_response_parser q(wire.size() - 1);
    CHECK(q.feed(wire) == http_response_parser::state::failed);
  }
  auto big = parse_http_response("HTTP/1.0 200 OK\r\n\r\n" + std::string((4u << 20) + 1, 'x'));
  CHECK_FALSE(big.has_value());
}

TEST_CASE("HTTP header line at the length bound, whichever way it arrives") {
  // 8192 bytes of line before its CRLF: accepted at once, so also when the CR
  // arrives before the LF (it is not part of the line).
  std::string line = "X-Long: ";
  line += std::string(8192 - line.size(), 'a');
  const std::string wire = "HTTP/1.1 200 OK\r\n" + line + "\r\nContent-Length: 2\r\n\r\nok";
  auto whole = parse_http_response(wire);
  REQUIRE(whole);
  CHECK(whole->headers.front().second.size() == 8192 - 8);
  const std::size_t cr = wire.find('\r', 17);
  outcome split = run_parser({std::string_view(wire).substr(0, cr + 1),
                              std::string_view(wire).substr(cr + 1)}, false);
  CHECK(split.st == http_response_parser::state::done);
  CHECK(split.headers == whole->headers);
  check_all_splits(wire, false);

  // One byte more is refused at once and in pieces alike.
  const std::string over = "HTTP/1.1 200 OK\r\n" + line + "a\r\nContent-Length: 0\r\n\r\n";
  CHECK_FALSE(parse_http_response(over));
  CHECK(run_parser({std::string_view(over).substr(0, cr + 2), std::string_view(over).substr(cr + 2)},
                   false).st == http_response_parser::state::failed);
}

TEST_CASE("HTTP status codes are kept") {
  auto r = parse_http_response("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found");
  REQUIRE(r);
  CHECK(r->status == 404);
  CHECK(r->reason == "Not Found");
  CHECK(r->body == "not found");

  // Interim 100 responses are skipped; 204 has no body even without a length.
  r = parse_http_response("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "ok");
  http_response_parser p;
  CHECK(p.feed("HTTP/1.1 204 No Content\r\n\r\n") == http_response_parser::state::done);
  CHECK(p.response().status == 204);

  // Obsolete folding joins the lines.
  r = parse_http_response("HTTP/1.1 503 Busy\r\nX-A: one\r\n  two\r\nContent-Length: 0\r\n\r\n");
  REQUIRE(r);
  CHECK(r->status == 503);
  CHECK(*r->header("x-a") == "one two");
}

TEST_CASE("announce reply: compact peers") {
  std::string peers = compact_v4(127, 0, 0, 1, 6881) + compact_v4(10, 0, 0, 2, 0x0d0a) +
                      compact_v4(192, 168, 1, 255, 0) + compact_v4(255, 255, 255, 255, 65535) +
                      compact_v4(1, 2, 3, 4, 0x0a0d) + compact_v4(127, 0, 0, 1, 6881);
  std::string body = "d8:completei7e10:incompletei3e8:intervali900e12:min intervali300e5:peers" + bstr(peers) +
                     "10:tracker id4:T-ID15:warning message7:go awaye";
  auto r = parse_announce_reply(body);
  REQUIRE(r);
  CHECK(r->failure_reason.empty());
  CHECK(r->warning_message == "go away");
  CHECK(r->interval == 900);
  CHECK(r->min_interval == 300);
  CHECK(r->complete == 7);
  CHECK(r->incomplete == 3);
  CHECK(r->tracker_id == "T-ID");
  // Port 0 dropped, the repeated peer kept once.
  std::vector<peer_endpoint> expected{{"127.0.0.1", 6881}, {"10.0.0.2", 3338}, {"255.255.255.255", 65535},
                                      {"1.2.3.4", 2573}};
  CHECK(r->peers == expected);

  auto empty = parse_announce_reply("d8:intervali60e5:peers0:e");
  REQUIRE(empty);
  CHECK(empty->peers.empty());
  CHECK_FALSE(empty->min_interval.has_value());
  CHECK_FALSE(empty->complete.has_value());
}

TEST_CASE("announce reply: dictionary peers") {
  std::string body =
      "d8:intervali60e5:peersl"
      "d2:ip9:127.0.0.17:peer id20:AAAAAAAAAAAAAAAAAAAA4:porti6881ee"
      "d2:ip16:peer.example.net4:porti51413ee"
      "d2:ip15:0:0:0:0:0:0:0:14:porti7000ee"      // IPv6, normalised to "::1"
      "d2:ip5:1.2.34:porti1ee"                    // not an address nor a name
      "d2:ip8:10.0.0.14:porti0ee"                 // port 0
      "d2:ip8:10.0.0.14:porti70000ee"             // port out of range
      "d2:ip8:10.0.0.1e"                          // no port
      "d2:ipi5e4:porti1ee"                        // ip not a string
      "d2:ip8:10.0.0.24:port4:1234e"              // port not an int
      "i5e"                                       // not a dict
      "d2:ip7:a b.com4:porti1ee"                  // bad host name
      "d4:porti9999e2:ip8:10.0.0.9e"              // unsorted keys are fine
      "ee";
  auto r = parse_announce_reply(body);
  REQUIRE(r);
  std::vector<peer_endpoint> expected{
      {"127.0.0.1", 6881}, {"peer.example.net", 51413}, {"::1", 7000}, {"10.0.0.9", 9999}};
  CHECK(r->peers == expected);
}

TEST_CASE("announce reply: at most max_reply_peers peers are kept, the rest counted") {
  const std::size_t sent = max_reply_peers + 1500;
  std::string compact;
  std::string dict = "d8:intervali60e5:peersl";
  for (std::size_t i = 0; i < sent; ++i) {
    auto c = static_cast<std::uint8_t>(i >> 8), d = static_cast<std::uint8_t>(i & 0xff);
    compact += compact_v4(10, 1, c, d, 6881);
    dict += "d2:ip" + bstr("10.1." + std::to_string(c) + "." + std::to_string(d)) + "4:porti6881ee";
  }
  dict += "ee";
  for (const auto& body : {"d8:intervali60e5:peers" + bstr(compact) + "e", dict}) {
    auto r = parse_announce_reply(body);
    REQUIRE(r);
    REQUIRE(r->peers.size() == max_reply_peers);
    CHECK(r->peers_ignored == sent - max_reply_peers);
    // The first ones, in order.
    CHECK(r->peers.front() == peer_endpoint{"10.1.0.0", 6881});
    CHECK(r->peers.back() == peer_endpoint{"10.1.3.231", 6881});
  }
  // At the bound nothing is ignored.
  auto exact = parse_announce_reply("d8:intervali60e5:peers" +
                                    bstr(compact.substr(0, 6 * max_reply_peers)) + "e");
  REQUIRE(exact);
  CHECK(exact->peers.size() == max_reply_peers);
  CHECK(exact->peers_ignored == 0);
}

TEST_CASE("announce reply: a body that is not bencode is quoted in the error") {
  auto html = parse_announce_reply("<!DOCTYPE html>\n<html><body>" + std::string(200, 'x'));
  REQUIRE_FALSE(html);
  CHECK(html.err().message.find("the reply starts with \"<!DOCTYPE html>\\x0a<html>") != std::string::npos);
  CHECK(html.err().message.find("(228 bytes)") != std::string::npos);
  CHECK(body_excerpt("") == "nothing (empty body)");
  CHECK(body_excerpt("ab\x1b[2J") == "\"ab\\x1b[2J\"");  // no terminal control gets through
}

TEST_CASE("resolve_location") {
  auto base = parse_url("http://tracker.example:8080/announce?x=1");
  REQUIRE(base);
  auto abs = resolve_location(*base, "https://other.example/a?b=2");
  REQUIRE(abs);
  CHECK(to_string(*abs) == "https://other.example:443/a?b=2");
  auto path = resolve_location(*base, "/moved?info_hash=%AB");
  REQUIRE(path);
  CHECK(to_string(*path) == "http://tracker.example:8080/moved?info_hash=%AB");
  auto v6 = parse_url("http://[::1]:6969/announce");
  REQUIRE(v6);
  auto p6 = resolve_location(*v6, "/x");
  REQUIRE(p6);
  CHECK(p6->host == "::1");
  CHECK(p6->port == 6969);
  for (const char* bad : {"", "relative/path", "//host/x", "udp://t.example:1/a", "ftp://x/y",
                          "/a b", "http://user@host/"})
    CHECK_FALSE(resolve_location(*base, bad));
}

TEST_CASE("announce reply: peers6 merged with peers") {
  std::string v6a(16, '\0');
  v6a[15] = 1;  // ::1
  std::string v6b = "\x20\x01\x0d\xb8"s + std::string(11, '\0') + "\x05";  // 2001:db8::5
  std::string peers6 = v6a + "\x1a\xe1" + v6b + "\xc8\xd5" + v6a + "\x00\x00"s;
  std::string body = "d8:intervali60e5:peers" + bstr(compact_v4(127, 0, 0, 1, 1)) + "6:peers6" + bstr(peers6) + "e";
  auto r = parse_announce_reply(body);
  REQUIRE(r);
  std::vector<peer_endpoint> expected{{"127.0.0.1", 1}, {"::1", 6881}, {"2001:db8::5", 51413}};
  CHECK(r->peers == expected);
  CHECK(r->peers[2].to_string() == "[2001:db8::5]:51413");
}

TEST_CASE("announce reply: failure reason") {
  auto r = parse_announce_reply("d14:failure reason6:denied8:intervali3600e5:peers3:abce");
  REQUIRE(r);
  CHECK(r->failure_reason == "denied");
  CHECK(r->interval == 3600);
  CHECK(r->peers.empty());
  CHECK_FALSE(parse_announce_reply("d14:failure reasoni1ee").has_value());
}

TEST_CASE("announce reply: interval clamping") {
  auto interval_of = [](std::string_view v) {
    auto r = parse_announce_reply("d8:interval" + std::string(v) + "12:min interval" + std::string(v) + "e");
    REQUIRE(r);
    CHECK(r->min_interval == r->interval);
    return r->interval;
  };
  CHECK(interval_of("i0e") == min_announce_interval);
  CHECK(interval_of("i-50e") == min_announce_interval);
  CHECK(interval_of("i1000000000e") == max_announce_interval);
  CHECK(interval_of("i42e") == 42);
  auto r = parse_announce_reply("de");
  REQUIRE(r);
  CHECK(r->interval == 1800);
  r = parse_announce_reply("d8:completei-1ee");
  REQUIRE(r);
  CHECK_FALSE(r->complete.has_value());
}

TEST_CASE("announce reply: malformed") {
  for (std::string bad : {"d8:intervali60e5:peers7:abcdefge"s, "li1ee"s, "d8:interval3:abce"s,
                          "d8:intervali60e"s, ""s, "d8:intervali60e5:peersi5ee"s,
                          "d8:intervali60e6:peers617:" + std::string(17, 'x') + "e",
                          "d6:peers6i1ee"s, "d12:min intervalle"s, "d8:completedee"s,
                          "d15:warning messagei1ee"s, "d10:tracker idi1ee"s, "d8:intervali60ee trailing"s,
                          "d1:ai1e1:ai2ee"s}) {
    CAPTURE(bad);
    auto r = parse_announce_reply(bad);
    CHECK_FALSE(r.has_value());
    if (!r) CHECK(r.err().code == errc::tracker_reply);
  }
}

// ---------------------------------------------------------------------------
// Against a real tracker: opentracker on 127.0.0.1.

namespace {

namespace fs = std::filesystem;

using testing::free_port;

int connect_local(std::uint16_t port) {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return -1;
  timeval tv{5, 0};
  ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(s);
    return -1;
  }
  return s;
}

// Sends the request and parses what comes back until the server closes or
// the response is complete; every call is bounded by the socket timeouts.
result<http_response> http_exchange(std::uint16_t port, const std::string& request) {
  int s = connect_local(port);
  if (s < 0) return error{errc::io_error, "connect failed"};
  std::size_t sent = 0;
  while (sent < request.size()) {
    auto n = ::send(s, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      ::close(s);
      return error{errc::io_error, "send failed"};
    }
    sent += static_cast<std::size_t>(n);
  }
  http_response_parser p;
  auto st = http_response_parser::state::need_more;
  char buf[4096];
  while (st == http_response_parser::state::need_more) {
    auto n = ::recv(s, buf, sizeof buf, 0);
    if (n < 0) {
      ::close(s);
      return error{errc::timeout, "recv failed or timed out"};
    }
    st = n == 0 ? p.finish() : p.feed(std::string_view(buf, static_cast<std::size_t>(n)));
  }
  ::close(s);
  if (st == http_response_parser::state::failed) return p.failure();
  return p.response();
}

class opentracker_process {
public:
  opentracker_process(const fs::path& dir, std::uint16_t port) {
    pid_ = ::fork();
    if (pid_ == 0) {
      int devnull = ::open("/dev/null", O_RDWR);
      if (devnull >= 0) {
        ::dup2(devnull, 1);
        ::dup2(devnull, 2);
      }
      std::string p = std::to_string(port);
      std::string d = dir.string();
      // The whitelist path is read after opentracker chroots into -d.
      ::execl("/usr/bin/opentracker", "opentracker", "-i", "127.0.0.1", "-p", p.c_str(), "-P", p.c_str(), "-d",
              d.c_str(), "-w", "whitelist", static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~opentracker_process() { stop(); }
  opentracker_process(const opentracker_process&) = delete;
  opentracker_process& operator=(const opentracker_process&) = delete;

  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

private:
  pid_t pid_ = -1;
};

} // namespace

TEST_CASE("announce to a real opentracker") {
  const char* binary = "/usr/bin/opentracker";
  if (::access(binary, X_OK) != 0 || ::geteuid() != 0) {
    // opentracker chroots into its directory, which needs root.
    WARN_MESSAGE(false, "skipped: needs /usr/bin/opentracker and root");
    return;
  }
  char tmpl[] = "/tmp/actorrent-opentracker-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  fs::path dir = tmpl;
  // Removed however the test ends; declared before the tracker so the
  // tracker is stopped first.
  struct remove_dir {
    fs::path p;
    ~remove_dir() {
      std::error_code ec;
      fs::remove_all(p, ec);
    }
  } cleanup{dir};
  sha1_hash info_hash = sha1(std::string_view("actorrent tracker protocol test"));
  {
    std::ofstream wl(dir / "whitelist");
    wl << info_hash.hex() << "\n";
  }
  // opentracker reads the whitelist after dropping to user "nobody".
  fs::permissions(dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                           fs::perms::others_read | fs::perms::others_exec);

  // The port probe and opentracker's bind can race with other programs; a
  // few attempts with fresh ports make that harmless.
  std::uint16_t port = 0;
  std::unique_ptr<opentracker_process> tracker;
  for (int attempt = 0; attempt < 3 && !tracker; ++attempt) {
    port = free_port();
    auto t = std::make_unique<opentracker_process>(dir, port);
    bool ready = false;
    for (int i = 0; i < 250 && !ready && t->running(); ++i) {
      int s = connect_local(port);
      if (s >= 0) {
        ::close(s);
        ready = true;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    if (ready) tracker = std::move(t);
  }
  REQUIRE_MESSAGE(tracker, "opentracker did not start");

  auto announce = [&](const announce_request& r) -> result<announce_reply> {
    auto u = parse_url(build_announce_url(r));
    if (!u) return u.err();
    auto resp = http_exchange(port, build_http_get(*u, "actorrent-test/0.1"));
    if (!resp) return resp.err();
    if (resp->status != 200) return error{errc::tracker_http, "status " + std::to_string(resp->status)};
    return parse_announce_reply(resp->body);
  };

  announce_request req;
  req.announce_url = "http://127.0.0.1:" + std::to_string(port) + "/announce";
  req.info_hash = info_hash;
  std::string first_id = "-AT0001-\r\n\0first____"s;
  REQUIRE(first_id.size() == 20);
  std::copy(first_id.begin(), first_id.end(), reinterpret_cast<char*>(req.peer_id.data()));
  req.port = 0x0d0a;  // CR LF as the port bytes
  req.left = 1000;
  req.event = announce_event::started;

  // The whitelist may be loaded a moment after the port opens. A "stopped"
  // announce tells when it is active without adding a peer to the swarm.
  {
    announce_request probe = req;
    probe.event = announce_event::stopped;
    probe.port = 1;
    bool whitelisted = false;
    for (int i = 0; i < 100 && !whitelisted; ++i) {
      auto r = announce(probe);
      REQUIRE_MESSAGE(r, (r ? "" : r.err().to_string()));
      whitelisted = r->failure_reason.empty();
      if (!whitelisted) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE_MESSAGE(whitelisted, "opentracker never accepted the whitelisted info-hash");
  }

  auto first = announce(req);
  REQUIRE_MESSAGE(first, (first ? "" : first.err().to_string()));
  CHECK_MESSAGE(first->failure_reason.empty(), first->failure_reason);
  CHECK(first->interval >= 1);
  CHECK(first->incomplete == 1);

  announce_request second = req;
  std::string second_id = "-AT0001-second______";
  std::copy(second_id.begin(), second_id.end(), reinterpret_cast<char*>(second.peer_id.data()));
  second.port = 51413;
  second.left = 0;
  second.event = announce_event::completed;
  auto reply = announce(second);
  REQUIRE_MESSAGE(reply, (reply ? "" : reply.err().to_string()));
  CHECK(reply->failure_reason.empty());
  CHECK(reply->complete == 1);
  CHECK(reply->incomplete == 1);
  bool sees_first = false;
  for (const auto& p : reply->peers) sees_first |= p == peer_endpoint{"127.0.0.1", 0x0d0a};
  CHECK(sees_first);

  // A hash off the whitelist is refused with a failure reason.
  announce_request unknown = req;
  unknown.info_hash = sha1(std::string_view("not whitelisted"));
  auto refused = announce(unknown);
  REQUIRE(refused);
  CHECK_FALSE(refused->failure_reason.empty());

  tracker->stop();
}
