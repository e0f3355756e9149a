// Fetching metadata: the size bound, pieces spread over peers, the hash
// check and the blame for bad metadata.
#include "metadata_download.hpp"

#include "actorrent/metainfo.hpp"
#include "actorrent/sha1_hash.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace actorrent;

namespace {

std::string sample(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 13 + 1);
  return s;
}

std::span<const std::uint8_t> piece_of(const std::string& md, std::uint32_t piece) {
  auto begin = std::size_t{piece} * metadata_piece_size;
  auto len = std::min(metadata_piece_size, md.size() - begin);
  return {reinterpret_cast<const std::uint8_t*>(md.data()) + begin, len};
}

} // namespace

TEST_CASE("sizes over the bound or not positive are refused") {
  metadata_download d(sha1(std::string_view("x")), 4 << 20);
  CHECK(d.on_offer(1, (4 << 20) + 1).code == errc::wire_limit);
  CHECK(d.on_offer(2, 0).code == errc::wire_protocol);
  CHECK(d.on_offer(3, -5).code == errc::wire_protocol);
  CHECK(d.size() == 0);
  CHECK_FALSE(d.next_request(1));
  CHECK_FALSE(d.on_offer(4, 4 << 20));
  CHECK(d.pieces_total() == 256);
}

TEST_CASE("pieces spread over two peers, assembled, and the hash accepted") {
  const auto md = sample(40000);
  metadata_download d(sha1(md), 1 << 20, 2);
  REQUIRE_FALSE(d.on_offer(1, 40000));
  REQUIRE_FALSE(d.on_offer(2, 40000));
  CHECK(d.pieces_total() == 3);
  CHECK(d.next_request(1) == 0u);
  CHECK(d.next_request(1) == 1u);
  CHECK_FALSE(d.next_request(1));  // two in flight
  CHECK(d.next_request(2) == 2u);
  CHECK_FALSE(d.next_request(2));  // nothing left
  CHECK_FALSE(d.on_piece(2, 2, 40000, piece_of(md, 2)));
  // Peer 1 refuses piece 1: it goes to whoever asks next.
  d.on_reject(1, 1);
  CHECK(d.next_request(2) == 1u);
  CHECK_FALSE(d.on_piece(1, 0, 40000, piece_of(md, 0)));
  CHECK_FALSE(d.complete());
  CHECK_FALSE(d.on_piece(2, 1, 40000, piece_of(md, 1)));
  REQUIRE(d.complete());
  auto out = d.finish();
  REQUIRE(out.metadata);
  CHECK(*out.metadata == md);
  CHECK(out.senders.empty());
}

TEST_CASE("protocol breaches by a sender are errors; late pieces are not used") {
  const auto md = sample(20000);
  metadata_download d(sha1(md), 1 << 20);
  REQUIRE_FALSE(d.on_offer(1, 20000));
  REQUIRE_FALSE(d.on_offer(2, 20000));
  REQUIRE(d.next_request(1) == 0u);
  CHECK(d.on_piece(1, 0, 30000, piece_of(md, 0)).code == errc::wire_protocol);  // total differs
  CHECK(d.on_piece(9, 0, 20000, piece_of(md, 0)).code == errc::wire_protocol);  // offered nothing
  std::vector<std::uint8_t> short_piece(100, 1);
  CHECK(d.on_piece(1, 0, 20000, short_piece).code == errc::wire_protocol);
  // Peer 2 was not asked for piece 0: not used, not an error.
  CHECK_FALSE(d.on_piece(2, 0, 20000, piece_of(md, 0)));
  CHECK(d.pieces_have() == 0);
}

TEST_CASE("wrong metadata: the senders are named, then one peer at a time so blame is exact") {
  const auto md = sample(40000);
  auto bad = md;
  bad[20000] ^= 1;  // in piece 1
  metadata_download d(sha1(md), 1 << 20, 4);
  REQUIRE_FALSE(d.on_offer(1, 40000));  // honest
  REQUIRE_FALSE(d.on_offer(2, 40000));  // liar
  REQUIRE_FALSE(d.on_offer(3, 40000));  // honest
  REQUIRE(d.next_request(1) == 0u);
  REQUIRE(d.next_request(2) == 1u);
  REQUIRE(d.next_request(3) == 2u);
  CHECK_FALSE(d.on_piece(1, 0, 40000, piece_of(md, 0)));
  CHECK_FALSE(d.on_piece(2, 1, 40000, piece_of(bad, 1)));
  CHECK_FALSE(d.on_piece(3, 2, 40000, piece_of(md, 2)));
  REQUIRE(d.complete());
  auto out = d.finish();
  CHECK_FALSE(out.metadata);
  CHECK(out.senders == std::vector<peer_key>{1, 2, 3});
  // Every sender is suspect now; they offer again on new connections.
  REQUIRE_FALSE(d.on_offer(2, 40000));
  REQUIRE_FALSE(d.on_offer(3, 40000));
  // Single source: the first to ask gets every piece, the other waits.
  CHECK(d.next_request(2) == 0u);
  CHECK_FALSE(d.next_request(3));
  CHECK(d.next_request(2) == 1u);
  CHECK(d.next_request(2) == 2u);
  for (std::uint32_t i = 0; i < 3; ++i) CHECK_FALSE(d.on_piece(2, i, 40000, piece_of(bad, i)));
  out = d.finish();
  CHECK_FALSE(out.metadata);
  CHECK(out.senders == std::vector<peer_key>{2});  // exactly the liar
  CHECK(d.next_request(3) == 0u);
  for (std::uint32_t i = 0; i < 3; ++i) {
    if (i > 0) CHECK(d.next_request(3) == i);
    CHECK_FALSE(d.on_piece(3, i, 40000, piece_of(md, i)));
  }
  out = d.finish();
  REQUIRE(out.metadata);
  CHECK(*out.metadata == md);
}

TEST_CASE("a peer that leaves gives its pieces back; with no peer of that size another size starts") {
  const auto md = sample(20000);
  metadata_download d(sha1(md), 1 << 20);
  REQUIRE_FALSE(d.on_offer(1, 50000));  // a different (lying) size first
  REQUIRE_FALSE(d.on_offer(2, 20000));
  CHECK(d.size() == 50000);
  CHECK_FALSE(d.next_request(2));  // waits: not the attempt's size
  REQUIRE(d.next_request(1) == 0u);
  d.on_peer_gone(1);
  CHECK(d.size() == 20000);
  CHECK(d.next_request(2) == 0u);
  CHECK(d.next_request(2) == 1u);
  CHECK_FALSE(d.on_piece(2, 0, 20000, piece_of(md, 0)));
  CHECK_FALSE(d.on_piece(2, 1, 20000, piece_of(md, 1)));
  auto out = d.finish();
  REQUIRE(out.metadata);
  CHECK(*out.metadata == md);
}

TEST_CASE("the saved .torrent keeps the info dictionary's bytes and names the trackers") {
  std::string info = "d6:lengthi5e4:name1:a12:piece lengthi16384e6:pieces20:"
                     + std::string(20, 'h') + "e";
  auto t = torrent_file_from_metadata(info, {"http://a/announce", "udp://b:1"});
  CHECK(t == "d8:announce17:http://a/announce13:announce-listll17:http://a/announceel9:udp://b:1ee4:info"
               + info + "e");
  CHECK(torrent_file_from_metadata(info, {}) == "d4:info" + info + "e");
}

TEST_CASE("the saved .torrent lists the link's web seeds as url-list, which the metainfo then uses") {
  std::string info = "d6:lengthi5e4:name1:a12:piece lengthi16384e6:pieces20:"
                     + std::string(20, 'h') + "e";
  auto t = torrent_file_from_metadata(info, {"http://a/announce"}, {"http://w/a", "https://x/"});
  CHECK(t == "d8:announce17:http://a/announce13:announce-listll17:http://a/announceee4:info" + info
               + "8:url-listl10:http://w/a10:https://x/ee");
  auto meta = parse_metainfo(t);
  REQUIRE(meta);
  CHECK(meta->url_list == std::vector<std::string>{"http://w/a", "https://x/"});
  CHECK(meta->info_hash == sha1(info));
}
