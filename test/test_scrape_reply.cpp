// Scraping HTTP trackers (BEP 48): the scrape URL and the reply decoder.
#include "scrape_reply.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace actorrent;

namespace {

sha1_hash hash_of(char fill) {
  sha1_hash h;
  h.bytes.fill(static_cast<std::uint8_t>(fill));
  return h;
}

std::string files_reply(const sha1_hash& h, const std::string& entry) {
  return "d5:filesd20:" + std::string(h.raw()) + entry + "ee";
}

} // namespace

TEST_CASE("BEP 48: the scrape URL replaces a leading \"announce\" in the last path component") {
  auto ok = [](const char* in, const char* want) {
    auto r = scrape_url(in);
    REQUIRE_MESSAGE(r, in);
    CHECK(*r == want);
  };
  ok("http://example.com/announce", "http://example.com/scrape");
  ok("http://example.com/x/announce", "http://example.com/x/scrape");
  ok("http://example.com/announce.php", "http://example.com/scrape.php");
  ok("http://example.com/announce?x2%0644", "http://example.com/scrape?x2%0644");
  ok("http://example.com/announce?x=2/4", "http://example.com/scrape?x=2/4");
  ok("http://127.0.0.1:6969/announce?passkey=abc", "http://127.0.0.1:6969/scrape?passkey=abc");
  for (const char* none : {"http://example.com/a", "http://example.com/x%064announce",
                           "http://example.com", "http://example.com/announce/x",
                           "http://example.com/?announce", "http://example.com?/announce",
                           "example.com/announce"}) {
    auto r = scrape_url(none);
    CHECK_MESSAGE(!r, none);
    if (!r) CHECK(r.err().code == errc::invalid_argument);
  }
}

TEST_CASE("the scrape request carries the escaped info-hash") {
  auto h = hash_of('a');
  CHECK(build_scrape_request("http://t/scrape", h) == "http://t/scrape?info_hash=" + std::string(20, 'a'));
  std::string escaped;
  for (int i = 0; i < 20; ++i) escaped += "%01";
  CHECK(build_scrape_request("http://t/scrape?k=1", hash_of('\x01')) == "http://t/scrape?k=1&info_hash=" + escaped);
}

TEST_CASE("scrape replies give the torrent's counts, strictly") {
  auto h = hash_of('h');
  SUBCASE("the counts") {
    auto r = parse_scrape_reply(files_reply(h, "d8:completei5e10:downloadedi50e10:incompletei10ee"), h);
    REQUIRE(r);
    CHECK(*r == scrape_counts{5, 10, 50});
  }
  SUBCASE("extra fields and other torrents are fine") {
    auto other = hash_of('o');
    std::string body = "d5:filesd20:" + std::string(other.raw()) +
                       "d8:completei1e10:downloadedi1e10:incompletei1ee20:" + std::string(h.raw()) +
                       "d8:completei2e10:downloadedi3e10:incompletei4e4:name1:xee5:flagsd20:min_request_intervali60eee";
    auto r = parse_scrape_reply(body, h);
    REQUIRE(r);
    CHECK(*r == scrape_counts{2, 4, 3});
  }
  SUBCASE("a failure reason") {
    auto r = parse_scrape_reply("d14:failure reason9:go away!\x1b" "e", h);
    // The length prefix is 9: "go away!" plus the escape byte.
    REQUIRE_FALSE(r);
    CHECK(r.err().code == errc::tracker_failure);
    CHECK(r.err().message.find("go away!") == 0);
    CHECK(r.err().message.find('\x1b') == std::string::npos);
  }
  SUBCASE("malformed") {
    for (std::string body : {std::string("le"), std::string("d5:filesleee"), std::string("not bencode"),
                             files_reply(hash_of('x'), "d8:completei1e10:downloadedi1e10:incompletei1ee"),
                             files_reply(h, "i5e"),
                             files_reply(h, "d8:completei1e10:incompletei1ee"),
                             files_reply(h, "d8:completei-1e10:downloadedi1e10:incompletei1ee"),
                             files_reply(h, "d8:complete1:510:downloadedi1e10:incompletei1ee")}) {
      auto r = parse_scrape_reply(body, h);
      CHECK_MESSAGE(!r, body);
      if (!r) CHECK(r.err().code == errc::tracker_reply);
    }
  }
  SUBCASE("bounded") {
    std::string deep(100, 'l');
    CHECK_FALSE(parse_scrape_reply(deep + std::string(100, 'e'), h));
    std::string huge = "d5:filesd20:" + std::string(h.raw()) + "d8:completei1e10:downloadedi1e10:incompletei1e4:junk" +
                       std::to_string(2u << 20) + ":" + std::string(2u << 20, 'x') + "eee";
    auto r = parse_scrape_reply(huge, h);
    REQUIRE_FALSE(r);
    CHECK(r.err().code == errc::tracker_reply);
  }
}
