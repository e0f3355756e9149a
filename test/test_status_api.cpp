// The status API without sockets: routing and access, the JSON writer and
// the torrents' JSON, the reply bytes, and client names from peer ids.
#include <doctest/doctest.h>

#include "http_reply.hpp"
#include "http_request.hpp"
#include "json_writer.hpp"
#include "peer_client.hpp"
#include "status_json.hpp"
#include "status_page_html.hpp"
#include "status_routes.hpp"

#include <limits>
#include <string>

using namespace actorrent;
using namespace std::string_literals;
using kind = status_route::kind;

namespace {

http_request request(std::string method, std::string path,
                     std::vector<std::pair<std::string, std::string>> headers = {{"Host", "127.0.0.1:9"}}) {
  http_request r;
  r.method = std::move(method);
  r.path = path;
  r.target = std::move(path);
  r.headers = std::move(headers);
  return r;
}

const std::string hash(40, 'a');

} // namespace

TEST_CASE("routes: the page, the torrents, controls, and 404/405 for the rest") {
  status_access open{"", true};
  CHECK(route_status_request(request("GET", "/"), open).what == kind::page);
  CHECK(route_status_request(request("HEAD", "/"), open).what == kind::page);
  CHECK(route_status_request(request("GET", "/api/torrents"), open).what == kind::torrents);

  auto c = route_status_request(request("POST", "/api/torrents/" + std::string(40, 'A') + "/pause"), open);
  REQUIRE(c.what == kind::control);
  CHECK(c.info_hash == hash);
  CHECK(c.action == "pause");
  CHECK(route_status_request(request("POST", "/api/torrents/" + hash + "/resume"), open).action == "resume");
  CHECK(route_status_request(request("POST", "/api/torrents/" + hash + "/recheck"), open).action == "recheck");

  auto post_page = route_status_request(request("POST", "/"), open);
  REQUIRE(post_page.what == kind::reply);
  CHECK(post_page.reply.status == 405);
  REQUIRE(post_page.reply.headers.size() == 1);
  CHECK(post_page.reply.headers[0] == std::pair{"Allow"s, "GET, HEAD"s});
  CHECK(route_status_request(request("DELETE", "/api/torrents"), open).reply.status == 405);
  CHECK(route_status_request(request("GET", "/api/torrents/" + hash + "/pause"), open).reply.status == 405);

  for (const char* p : {"/nope", "/api", "/api/torrents/", "/api/torrents/abc/pause",
                        "/api/torrents/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAG/pause",
                        "/api/torrents/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/delete",
                        "/api/torrents/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/pause/x", "//"}) {
    CAPTURE(p);
    auto r = route_status_request(request("GET", p), open);
    REQUIRE(r.what == kind::reply);
    CHECK(r.reply.status == 404);
  }
}

TEST_CASE("with a token, a state change needs it: 401 without, 403 when wrong") {
  status_access locked{"s3cret", true};
  const auto path = "/api/torrents/" + hash + "/pause";
  auto none = route_status_request(request("POST", path), locked);
  REQUIRE(none.what == kind::reply);
  CHECK(none.reply.status == 401);
  auto wrong = route_status_request(
    request("POST", path, {{"Host", "127.0.0.1"}, {"Authorization", "Bearer s3cre"}}), locked);
  CHECK(wrong.reply.status == 403);
  auto longer = route_status_request(
    request("POST", path, {{"Host", "127.0.0.1"}, {"X-Actorrent-Token", "s3cret!"}}), locked);
  CHECK(longer.reply.status == 403);
  CHECK(route_status_request(request("POST", path, {{"Host", "127.0.0.1"}, {"Authorization", "bearer s3cret"}}),
                             locked).what == kind::control);
  CHECK(route_status_request(request("POST", path, {{"Host", "127.0.0.1"}, {"X-Actorrent-Token", "s3cret"}}),
                             locked).what == kind::control);
  // Reading needs no token.
  CHECK(route_status_request(request("GET", "/api/torrents"), locked).what == kind::torrents);
}

TEST_CASE("without a token, state changes only on loopback") {
  const auto path = "/api/torrents/" + hash + "/resume";
  status_access lan{"", false};
  auto r = route_status_request(request("POST", path, {{"Host", "192.168.1.5:8080"}}), lan);
  REQUIRE(r.what == kind::reply);
  CHECK(r.reply.status == 403);
  CHECK(route_status_request(request("GET", "/api/torrents", {{"Host", "192.168.1.5"}}), lan).what ==
        kind::torrents);
  status_access lan_token{"t", false};
  CHECK(route_status_request(request("POST", path, {{"Host", "nas.local"}, {"X-Actorrent-Token", "t"}}),
                             lan_token).what == kind::control);
}

TEST_CASE("on loopback, only loopback host names; other origins may not change state") {
  status_access open{"", true};
  for (const char* h : {"127.0.0.1", "127.0.0.1:8080", "127.1.2.3:1", "localhost:9", "LOCALHOST", "[::1]:80"}) {
    CAPTURE(h);
    CHECK(route_status_request(request("GET", "/api/torrents", {{"Host", h}}), open).what == kind::torrents);
  }
  for (const char* h : {"evil.example:8080", "127.0.0.1.evil.example", "[::2]:80", ""}) {
    CAPTURE(h);
    CHECK(route_status_request(request("GET", "/api/torrents", {{"Host", h}}), open).reply.status == 403);
  }
  const auto path = "/api/torrents/" + hash + "/pause";
  CHECK(route_status_request(request("POST", path, {{"Host", "127.0.0.1:9"}, {"Origin", "http://evil.example"}}),
                             open).reply.status == 403);
  CHECK(route_status_request(request("POST", path, {{"Host", "127.0.0.1:9"}, {"Origin", "http://127.0.0.1:9"}}),
                             open).what == kind::control);
}

TEST_CASE("JSON strings: quotes, backslashes and control characters are escaped") {
  std::string out;
  append_json_string(out, "a\"b\\c\n\r\t\b\f\x01\x1f\x7f</script>");
  CHECK(out == R"("a\"b\\c\n\r\t\b\f\u0001\u001f\u007f\u003c/script>")");
  out.clear();
  append_json_string(out, std::string_view("nul\0here", 8));
  CHECK(out == R"("nul\u0000here")");
}

TEST_CASE("JSON strings: UTF-8 passes, bytes that are not UTF-8 become U+FFFD") {
  auto j = [](std::string_view s) {
    std::string out;
    append_json_string(out, s);
    return out;
  };
  const std::string fffd = "\xef\xbf\xbd";
  CHECK(j("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") == "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  CHECK(j("latin1 \xe9t\xe9") == "\"latin1 " + fffd + "t" + fffd + "\"");
  CHECK(j("\xc0\xaf") == "\"" + fffd + fffd + "\"");          // overlong '/'
  CHECK(j("\xe0\x80\xaf") == "\"" + fffd + fffd + fffd + "\"");  // overlong, 3 bytes
  CHECK(j("\xed\xa0\x80") == "\"" + fffd + fffd + fffd + "\"");  // surrogate D800
  CHECK(j("\xf4\x90\x80\x80") == "\"" + fffd + fffd + fffd + fffd + "\"");  // above U+10FFFF
  CHECK(j("\xe2\x82") == "\"" + fffd + fffd + "\"");          // truncated at the end
  CHECK(j("\xff") == "\"" + fffd + "\"");
}

TEST_CASE("the JSON writer places commas and nests") {
  json_writer w;
  w.begin_object().key("a").value(std::int64_t{-1}).key("b").begin_array().value(true).null()
    .value(1.5).begin_object().end_object().end_array().key("c").value("x").key("d")
    .value(std::numeric_limits<double>::quiet_NaN()).key("e").value(std::uint64_t{18446744073709551615u})
    .end_object();
  CHECK(w.str() == R"({"a":-1,"b":[true,null,1.5,{}],"c":"x","d":null,"e":18446744073709551615})");
}

TEST_CASE("torrents_json carries every field a page or a script needs") {
  torrent_status st;
  st.info_hash = *sha1_hash::from_hex("0123456789abcdef0123456789abcdef01234567");
  st.name = "bad\xffname \"q\"";
  st.state = torrent_state::downloading;
  st.progress.bytes_have = 250;
  st.progress.bytes_total = 1000;
  st.download_rate = 2048;
  st.upload_rate = 0.5;
  st.files.push_back({"dir/a\nb.bin", 1000, 250});
  peer_connection pc;
  pc.address = "127.0.0.1:6881";
  pc.client = "libtorrent 2.0.8.0";
  pc.incoming = true;
  pc.seed = true;
  pc.download_rate = 100;
  st.connections.push_back(pc);
  tracker_status ts;
  ts.url = "http://127.0.0.1:1/announce";
  ts.last_result = "ok";
  ts.next_announce = 1800;
  ts.seeders = 3;
  st.trackers.push_back(ts);
  auto json = torrents_json({st});
  CHECK(json.find(R"("name":"bad)" "\xef\xbf\xbd" R"(name \"q\"")") != std::string::npos);
  CHECK(json.find(R"("info_hash":"0123456789abcdef0123456789abcdef01234567")") != std::string::npos);
  CHECK(json.find(R"("state":"downloading","progress":0.25,"bytes_done":250,"bytes_total":1000)") !=
        std::string::npos);
  CHECK(json.find(R"("download_rate":2048,"upload_rate":0.5)") != std::string::npos);
  CHECK(json.find(R"("files":[{"path":"dir/a\nb.bin","size":1000,"done":250,"priority":1}])") !=
        std::string::npos);
  CHECK(json.find(R"("address":"127.0.0.1:6881","client":"libtorrent 2.0.8.0","download_rate":100)") !=
        std::string::npos);
  CHECK(json.find(R"("flags":"ICs","incoming":true,"handshaken":false)") != std::string::npos);
  CHECK(json.find(R"("trackers":[{"url":"http://127.0.0.1:1/announce","last_result":"ok","message":"",)"
                  R"("next_announce":1800,"peers":0,"seeders":3,"leechers":null}])") != std::string::npos);
  CHECK(torrents_json({}) == R"({"torrents":[]})");

  // A file selection: progress is of the wanted bytes, which are given too.
  st.progress.total_wanted = 500;
  st.progress.total_wanted_done = 250;
  st.files.front().priority = 0;
  json = torrents_json({st});
  CHECK(json.find(R"("progress":0.5,)") != std::string::npos);
  CHECK(json.find(R"("bytes_wanted":500,"bytes_wanted_done":250)") != std::string::npos);
  CHECK(json.find(R"("done":250,"priority":0})") != std::string::npos);
}

TEST_CASE("reply bytes: status line, lengths, HEAD without the body") {
  auto r = json_error(413, "too big");
  CHECK(r.body == R"({"error":"too big"})");
  auto full = format_http_reply(r, false, false);
  CHECK(full.rfind("HTTP/1.1 413 Content Too Large\r\n", 0) == 0);
  CHECK(full.find("Content-Length: 19\r\n") != std::string::npos);
  CHECK(full.find("Connection: close\r\n") != std::string::npos);
  CHECK(full.substr(full.size() - 19) == r.body);
  auto head = format_http_reply(r, true, true);
  CHECK(head.find("Content-Length: 19\r\n") != std::string::npos);
  CHECK(head.find("Connection: keep-alive\r\n") != std::string::npos);
  CHECK(head.substr(head.size() - 4) == "\r\n\r\n");
}

TEST_CASE("the page is self-contained: no external scripts, styles or images") {
  auto page = status_page_html();
  CHECK(page.find("<!DOCTYPE html>") == 0);
  CHECK(page.find("/api/torrents") != std::string_view::npos);
  CHECK(page.find("src=") == std::string_view::npos);
  CHECK(page.find("<link") == std::string_view::npos);
  CHECK(page.find("innerHTML") == std::string_view::npos);
}

TEST_CASE("client names from peer ids") {
  CHECK(client_from_peer_id("-LT2080-abcdefghijkl") == "libtorrent 2.0.8.0");
  CHECK(client_from_peer_id("-TR3000-abcdefghijkl") == "Transmission 3.0.0.0");
  CHECK(client_from_peer_id("-AR0100-abcdefghijkl") == "actorrent 0.1.0.0");
  CHECK(client_from_peer_id("-ZZ1B00-abcdefghijkl") == "ZZ 1.11.0.0");
  CHECK(client_from_peer_id("A2-1-36-0-abcdefghij") == "aria2 1.36.0");
  CHECK(client_from_peer_id("A2-1-x-0-abcdefghijk").empty());
  CHECK(client_from_peer_id(std::string(20, '\0')).empty());
  CHECK(client_from_peer_id("-\xff\xfe" "1234-abcdefghijkl").empty());
  CHECK(client_from_peer_id("short").empty());
}
