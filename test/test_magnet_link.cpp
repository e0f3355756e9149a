// Magnet links: what a link says, and the clear refusal of a bad one.
#include "actorrent/magnet_link.hpp"

#include <doctest/doctest.h>

#include <sstream>
#include <string>

using namespace actorrent;

namespace {

const std::string hex = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a";
// The same 20 bytes in RFC 4648 base32.
const std::string b32 = "YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK";

} // namespace

TEST_CASE("a full link: hash, name, several trackers and peers, percent-decoded") {
  auto m = parse_magnet("magnet:?xt=urn:btih:" + hex
                        + "&dn=Some%20File+name.iso"
                        + "&tr=http%3A%2F%2F127.0.0.1%3A6969%2Fannounce"
                        + "&tr=udp://tracker.example:80"
                        + "&x.pe=127.0.0.1:6881&x.pe=%5B%3A%3A1%5D%3A51413&x.pe=host.example:7");
  REQUIRE(m);
  CHECK(m->info_hash.hex() == hex);
  CHECK(m->name == "Some File name.iso");
  REQUIRE(m->trackers.size() == 2);
  CHECK(m->trackers[0] == "http://127.0.0.1:6969/announce");
  CHECK(m->trackers[1] == "udp://tracker.example:80");
  REQUIRE(m->peers.size() == 3);
  CHECK(m->peers[0] == "127.0.0.1:6881");
  CHECK(m->peers[1] == "[::1]:51413");
  CHECK(m->peers[2] == "host.example:7");
}

TEST_CASE("base32 and hex name the same hash; case does not matter") {
  auto a = parse_magnet("magnet:?xt=urn:btih:" + b32);
  auto b = parse_magnet("MAGNET:?XT=URN:BTIH:" + std::string("C12FE1C06BBA254A9DC9F519B335AA7C1367A88A"));
  auto c = parse_magnet("magnet:?xt=urn:btih:yex6dqdlxisuvhoj6um3gnnkpqjwpkek");
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(c);
  CHECK(a->info_hash.hex() == hex);
  CHECK(b->info_hash == a->info_hash);
  CHECK(c->info_hash == a->info_hash);
  CHECK(a->name.empty());
  CHECK(a->trackers.empty());
  CHECK(a->peers.empty());
}

TEST_CASE("duplicates go, unknown parameters and other xt kinds are ignored") {
  auto m = parse_magnet("magnet:?xt=urn:btmh:1220abcd&xt=urn:btih:" + hex + "&xt=urn:btih:" + hex
                        + "&tr=http://a/announce&tr=http://a/announce&tr.1=http://b/announce"
                        + "&x.pe=127.0.0.1:1&x.pe=127.0.0.1:1&xl=1234&ws=http://w/&&so=0-3");
  REQUIRE(m);
  CHECK(m->trackers == std::vector<std::string>{"http://a/announce", "http://b/announce"});
  CHECK(m->peers == std::vector<std::string>{"127.0.0.1:1"});
  CHECK(m->web_seeds == std::vector<std::string>{"http://w/"});
}

TEST_CASE("bad links are refused with the reason") {
  auto why = [](const std::string& uri) {
    auto m = parse_magnet(uri);
    REQUIRE_FALSE(m);
    CHECK(m.err().code == errc::invalid_argument);
    return m.err().message;
  };
  CHECK(why("http://example.com/?xt=urn:btih:" + hex).find("magnet:") != std::string::npos);
  CHECK(why("magnet:xt=urn:btih:" + hex).find("'?'") != std::string::npos);
  CHECK(why("magnet:?dn=x").find("no BitTorrent info-hash") != std::string::npos);
  CHECK(why("magnet:?xt=urn:btih:" + hex.substr(0, 39)).find("40 hex") != std::string::npos);
  CHECK(why("magnet:?xt=urn:btih:" + hex.substr(0, 39) + "g").find("40 hex") != std::string::npos);
  CHECK(why("magnet:?xt=urn:btih:" + b32.substr(0, 31) + "1").find("base32") != std::string::npos);
  CHECK(why("magnet:?xt=urn:btih:" + hex + "&xt=urn:btih:" + b32.substr(0, 31) + "A")
          .find("two different") != std::string::npos);
  CHECK(why("magnet:?xt=urn:btih:" + hex + "&dn=a%2").find("percent escape") != std::string::npos);
  CHECK(why("magnet:?xt=urn:btih:" + hex + "&dn=a%zz").find("dn") != std::string::npos);
  CHECK(why("magnet:?xt=urn:btih:" + hex + "&x.pe=127.0.0.1").find("x.pe") != std::string::npos);
  CHECK(why("magnet:?xt=urn:btih:" + hex + "&x.pe=127.0.0.1:0").find("x.pe") != std::string::npos);
  CHECK(why("magnet:?xt=urn:btih:" + hex + "&x.pe=127.0.0.1:70000").find("x.pe") != std::string::npos);
}

TEST_CASE("bounded: length, trackers, peers") {
  magnet_limits lim;
  lim.max_length = 200;
  lim.max_trackers = 2;
  lim.max_peers = 2;
  std::string base = "magnet:?xt=urn:btih:" + hex;
  auto long_link = parse_magnet(base + "&dn=" + std::string(200, 'x'), lim);
  REQUIRE_FALSE(long_link);
  CHECK(long_link.err().message.find("longer than 200") != std::string::npos);
  auto trackers = parse_magnet(base + "&tr=http://a/&tr=http://b/&tr=http://c/", lim);
  REQUIRE_FALSE(trackers);
  CHECK(trackers.err().message.find("trackers") != std::string::npos);
  auto peers = parse_magnet(base + "&x.pe=127.0.0.1:1&x.pe=127.0.0.1:2&x.pe=127.0.0.1:3", lim);
  REQUIRE_FALSE(peers);
  CHECK(peers.err().message.find("peers") != std::string::npos);
  CHECK(parse_magnet(base + "&tr=http://a/&tr=http://b/&x.pe=127.0.0.1:1&x.pe=127.0.0.1:2", lim));
}

TEST_CASE("looks_like_magnet tells links from file names") {
  CHECK(looks_like_magnet("magnet:?xt=..."));
  CHECK(looks_like_magnet("Magnet:?"));
  CHECK_FALSE(looks_like_magnet("magnet.torrent"));
  CHECK_FALSE(looks_like_magnet("./magnet:x"));
}

TEST_CASE("print_magnet shows what the link says") {
  auto m = parse_magnet("magnet:?xt=urn:btih:" + b32 + "&dn=a+b&tr=http://t/announce&x.pe=127.0.0.1:9");
  REQUIRE(m);
  std::ostringstream out;
  print_magnet(out, *m);
  auto s = out.str();
  CHECK(s.find(hex) != std::string::npos);
  CHECK(s.find("a b") != std::string::npos);
  CHECK(s.find("http://t/announce") != std::string::npos);
  CHECK(s.find("127.0.0.1:9") != std::string::npos);
}

TEST_CASE("ws: web seeds, percent-decoded, repeatable, in order, duplicates removed") {
  auto m = parse_magnet("magnet:?xt=urn:btih:" + hex
                        + "&ws=http%3A%2F%2F127.0.0.1%3A8000%2Fdir%2F"
                        + "&ws=https://mirror.example/files/a%2520b.iso"
                        + "&ws.1=http://127.0.0.1:8000/dir/&ws=&WS=http://w/x");
  REQUIRE(m);
  CHECK(m->web_seeds == std::vector<std::string>{"http://127.0.0.1:8000/dir/",
                                                 "https://mirror.example/files/a%20b.iso", "http://w/x"});
  auto none = parse_magnet("magnet:?xt=urn:btih:" + hex);
  REQUIRE(none);
  CHECK(none->web_seeds.empty());
}

TEST_CASE("ws: only http(s) URLs, bounded in number and length") {
  std::string base = "magnet:?xt=urn:btih:" + hex;
  for (std::string bad : {"ftp://h/f", "udp://h:1/", "file:///etc/passwd", "not a url", "http://"}) {
    auto m = parse_magnet(base + "&ws=" + bad);
    REQUIRE_FALSE(m);
    CHECK(m.err().code == errc::invalid_argument);
    CHECK_MESSAGE(m.err().message.find("(ws)") != std::string::npos, m.err().message);
  }
  CHECK_FALSE(parse_magnet(base + "&ws=http://h/%zz"));
  magnet_limits lim;
  lim.max_web_seeds = 2;
  lim.max_web_seed_length = 40;
  auto many = parse_magnet(base + "&ws=http://a/&ws=http://b/&ws=http://c/", lim);
  REQUIRE_FALSE(many);
  CHECK(many.err().message.find("more than 2 web seeds") != std::string::npos);
  auto long_url = parse_magnet(base + "&ws=http://a/" + std::string(40, 'x'), lim);
  REQUIRE_FALSE(long_url);
  CHECK(long_url.err().message.find("longer than 40") != std::string::npos);
  CHECK(parse_magnet(base + "&ws=http://a/&ws=http://b/&ws=http://a/", lim));
}

TEST_CASE("print_magnet lists the web seeds") {
  auto m = parse_magnet("magnet:?xt=urn:btih:" + hex + "&ws=http://w/file");
  REQUIRE(m);
  std::ostringstream out;
  print_magnet(out, *m);
  CHECK(out.str().find("web seeds: 1\n  http://w/file\n") != std::string::npos);
}
