// Web seeds (BEP 19) without a network: file URLs, the range requests of a
// run across files, Content-Range, which replies are accepted, and which
// blocks of failed pieces a web seed leaves to other sources.
#include <doctest/doctest.h>

#include "content_range.hpp"
#include "http_response.hpp"
#include "web_seed_plan.hpp"
#include "web_seed_refetch.hpp"

#include <chrono>

using namespace actorrent;

TEST_CASE("Content-Range: spans, unknown lengths, and what is refused") {
  auto r = parse_content_range("bytes 0-16383/1048576");
  REQUIRE(r);
  CHECK(r->first == 0);
  CHECK(r->last == 16383);
  CHECK(r->complete == 1048576);
  auto u = parse_content_range(" BYTES 5-9/* ");
  REQUIRE(u);
  CHECK(u->first == 5);
  CHECK(!u->complete);
  CHECK(to_string(*r) == "bytes 0-16383/1048576");
  CHECK(to_string(*u) == "bytes 5-9/*");
  for (const char* bad : {"bytes */100", "bytes 9-3/100", "bytes 0-99/99", "bytes 0-/10", "bytes -5/10",
                          "items 0-1/2", "bytes 0-1", "bytes 1-2/x", "bytes 0-1/2 junk", "",
                          "bytes 0-9999999999999999999/*", "bytes +1-2/3"})
    CHECK_MESSAGE(!parse_content_range(bad), bad);
}

TEST_CASE("web seed file URLs follow BEP 19") {
  CHECK(web_seed_file_url("http://h/f.iso", false, "f.iso", {"f.iso"}) == "http://h/f.iso");
  CHECK(web_seed_file_url("http://h/d/", false, "a b.iso", {"a b.iso"}) == "http://h/d/a%20b.iso");
  CHECK(web_seed_file_url("http://h/d/", true, "Dir", {"sub", "x&y.txt"}) ==
        "http://h/d/Dir/sub/x%26y.txt");
  CHECK(web_seed_file_url("http://h:81/d", true, "Dir", {"a"}) == "http://h:81/d/Dir/a");
}

TEST_CASE("a run across files becomes one range per file, padding left out") {
  std::vector<layout_file> files{{{"d", "a"}, 10, false}, {{"d", ".pad"}, 6, true},
                                 {{"d", "b"}, 0, false},  {{"d", "c"}, 40, false}};
  file_layout layout(files, 32);
  auto plan = plan_web_seed_run(layout, 0, 4, 28);
  REQUIRE(plan.size() == 2);
  CHECK(plan[0].file == 0);
  CHECK(plan[0].first == 4);
  CHECK(plan[0].length == 6);
  CHECK(plan[0].buffer_offset == 0);
  CHECK(plan[1].file == 3);
  CHECK(plan[1].first == 0);
  CHECK(plan[1].length == 16);
  CHECK(plan[1].buffer_offset == 12);
  auto last = plan_web_seed_run(layout, 1, 0, 24);
  REQUIRE(last.size() == 1);
  CHECK(last[0].first == 16);
  CHECK(last[0].length == 24);
  CHECK(plan_web_seed_run(layout, 1, 0, 25).empty());
}

TEST_CASE("range requests keep the connection") {
  auto u = parse_url("http://127.0.0.1:8080/d/f%20x?k=1");
  REQUIRE(u);
  auto req = build_range_get(*u, "actorrent", 100, 50);
  CHECK(req.rfind("GET /d/f%20x?k=1 HTTP/1.1\r\n", 0) == 0);
  CHECK(req.find("Host: 127.0.0.1:8080\r\n") != std::string::npos);
  CHECK(req.find("Range: bytes=100-149\r\n") != std::string::npos);
  CHECK(req.find("Connection: keep-alive\r\n") != std::string::npos);
  CHECK(req.find("close") == std::string::npos);
  CHECK(req.substr(req.size() - 4) == "\r\n\r\n");
}

namespace {
http_response reply(int status, std::string body, std::vector<std::pair<std::string, std::string>> h = {}) {
  http_response r;
  r.status = status;
  r.headers = std::move(h);
  r.body = std::move(body);
  return r;
}
} // namespace

TEST_CASE("only the bytes asked for are accepted") {
  using k = web_seed_reply::kind;
  auto ok = judge_range_reply(reply(206, "abcde", {{"Content-Range", "bytes 10-14/100"}}), 10, 5);
  CHECK(ok.what == k::data);
  CHECK(ok.text == "abcde");
  CHECK(judge_range_reply(reply(206, "abcde", {{"content-range", "bytes 10-14/*"}}), 10, 5).what == k::data);
  // Wrong span, missing header, short or long body.
  CHECK(judge_range_reply(reply(206, "abcde", {{"Content-Range", "bytes 11-15/100"}}), 10, 5).what ==
        k::failure);
  CHECK(judge_range_reply(reply(206, "abcde"), 10, 5).what == k::failure);
  CHECK(judge_range_reply(reply(206, "abcd", {{"Content-Range", "bytes 10-14/100"}}), 10, 5).what ==
        k::failure);
  CHECK(judge_range_reply(reply(206, "abcdef", {{"Content-Range", "bytes 10-14/100"}}), 10, 5).what ==
        k::failure);
  // A server without ranges: the whole file only when the whole file was asked for.
  CHECK(judge_range_reply(reply(200, "abcde"), 0, 5).what == k::data);
  CHECK(judge_range_reply(reply(200, "abcdefgh"), 0, 5).what == k::failure);
  CHECK(judge_range_reply(reply(200, "abcde"), 3, 5).what == k::failure);
  auto missing = judge_range_reply(reply(404, ""), 0, 5);
  CHECK(missing.what == k::failure);
  CHECK(missing.text.find("404") != std::string::npos);
  CHECK(judge_range_reply(reply(503, ""), 0, 5).what == k::failure);
  auto moved = judge_range_reply(reply(302, "", {{"Location", "http://o/x"}}), 0, 5);
  CHECK(moved.what == k::redirect);
  CHECK(moved.text == "http://o/x");
  CHECK(judge_range_reply(reply(302, ""), 0, 5).what == k::failure);
}

TEST_CASE("a kept-alive connection loses no byte of the next response") {
  std::string two =
    "HTTP/1.1 206 P\r\nContent-Range: bytes 0-2/6\r\nContent-Length: 3\r\n\r\nabc"
    "HTTP/1.1 206 P\r\nContent-Range: bytes 3-5/6\r\nContent-Length: 3\r\n\r\ndef";
  http_response_parser p(40 + 64);  // smaller than both responses together
  REQUIRE(p.feed(two) == http_response_parser::state::done);
  CHECK(p.response().body == "abc");
  auto rest = p.take_leftover();
  http_response_parser q;
  REQUIRE(q.feed(rest) == http_response_parser::state::done);
  CHECK(q.response().body == "def");
}

TEST_CASE("blocks of a piece that failed after the web seed served it are left to others for a while") {
  using namespace std::chrono_literals;
  // 4 pieces of 32 KiB: two blocks each.
  web_seed_refetch r(4, 32 * 1024, 1000ms);
  web_seed_refetch::clock::time_point t0{};
  block_ref a0{1, 0, 16384}, a1{1, 16384, 16384}, b0{2, 0, 16384};
  // Nothing delivered yet: everything offered is fetched.
  auto first = r.offer({a0, a1, b0}, t0);
  CHECK(first.keep == std::vector<block_ref>{a0, a1, b0});
  CHECK(first.give_back.empty());
  r.delivered(a0);
  r.delivered(a1);
  r.delivered(b0);
  // Piece 1 failed and comes back: given back, named once; a new piece is kept.
  block_ref c0{3, 0, 16384};
  auto back = r.offer({a0, a1, c0}, t0 + 10ms);
  CHECK(back.keep == std::vector<block_ref>{c0});
  CHECK(back.give_back == std::vector<block_ref>{a0, a1});
  CHECK(back.newly_returned == std::vector<std::uint32_t>{1});
  auto again = r.offer({a1}, t0 + 900ms);
  CHECK(again.give_back == std::vector<block_ref>{a1});
  CHECK(again.newly_returned.empty());
  // Nobody else took it within the second: this web seed fetches it.
  auto late = r.offer({a0, a1}, t0 + 1010ms);
  CHECK(late.keep == std::vector<block_ref>{a0, a1});
  CHECK(late.give_back.empty());
  // Fetched again and delivered again, then failed again: left to others anew.
  r.delivered(a0);
  auto twice = r.offer({a0}, t0 + 2000ms);
  CHECK(twice.give_back == std::vector<block_ref>{a0});
  // Out-of-range blocks are never taken for delivered ones.
  r.delivered(block_ref{9, 0, 16384});
  r.delivered(block_ref{0, 5 * 16384, 16384});
  CHECK(r.offer({block_ref{9, 0, 16384}}, t0 + 2000ms).keep.size() == 1);
}
