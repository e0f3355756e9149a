#include "ban_policy.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace actorrent;
using hosts = std::vector<std::string>;

namespace {

sha1_hash digest_of(const std::string& s) { return sha1(s); }

block_origin blk(std::uint32_t begin, std::string host, const std::string& content) {
  return {begin, std::move(host), digest_of(content)};
}

block_digest good_blk(std::uint32_t begin, const std::string& content) {
  return {begin, digest_of(content)};
}

} // namespace

TEST_CASE("a host that alone sent a bad piece is banned at once, and once") {
  ban_policy bp;
  std::vector<block_origin> piece{blk(0, "10.0.0.9", "bad"), blk(16384, "10.0.0.9", "b")};
  CHECK(bp.on_piece_failed(3, piece) == hosts{"10.0.0.9"});
  CHECK(bp.banned("10.0.0.9"));
  CHECK(bp.on_piece_failed(4, piece).empty());
  CHECK_FALSE(bp.awaits_judgement(3));
}

TEST_CASE("a shared failure bans nobody until the piece passes; then exactly the liar") {
  ban_policy bp;
  // Block 0 from the liar (corrupt), block 1 from an honest host.
  std::vector<block_origin> failed{blk(0, "liar", "garbage"), blk(16384, "honest", "good-1")};
  CHECK(bp.on_piece_failed(7, failed).empty());
  CHECK(bp.awaits_judgement(7));
  CHECK_FALSE(bp.banned("honest"));
  CHECK_FALSE(bp.banned("liar"));
  // Fetched again from honest hosts: it passes; the good digests judge.
  std::vector<block_digest> good{good_blk(0, "good-0"), good_blk(16384, "good-1")};
  CHECK(bp.on_piece_passed(7, good) == hosts{"liar"});
  CHECK(bp.banned("liar"));
  CHECK_FALSE(bp.banned("honest"));
  CHECK_FALSE(bp.awaits_judgement(7));
}

TEST_CASE("an honest host that shares many failures with a liar is never banned") {
  // The situation a strike count gets wrong: the honest host is in every
  // failed piece, and early on it has few passes.
  ban_policy bp;
  for (std::uint32_t piece = 0; piece < 10; ++piece) {
    std::vector<block_origin> failed{blk(0, "honest", "good"), blk(16384, "liar", "junk")};
    CHECK(bp.on_piece_failed(piece, failed).empty());
  }
  std::vector<block_digest> good{good_blk(0, "good"), good_blk(16384, "fine")};
  CHECK(bp.on_piece_passed(0, good) == hosts{"liar"});
  for (std::uint32_t piece = 1; piece < 10; ++piece) CHECK(bp.on_piece_passed(piece, good).empty());
  CHECK_FALSE(bp.banned("honest"));
}

TEST_CASE("a host that disconnected before the check is judged all the same") {
  // The policy never hears of connections: what a host sent stays with the
  // host, whether or not it is still connected when the verdict comes.
  ban_policy bp;
  std::vector<block_origin> failed{blk(0, "gone", "junk"), blk(16384, "here", "ok")};
  bp.on_piece_failed(1, failed);
  std::vector<block_digest> good{good_blk(0, "fine"), good_blk(16384, "ok")};
  CHECK(bp.on_piece_passed(1, good) == hosts{"gone"});
}

TEST_CASE("bounded: the oldest failed pieces are forgotten first") {
  ban_policy bp(2);
  std::vector<block_origin> failed{blk(0, "a", "x"), blk(16384, "b", "y")};
  bp.on_piece_failed(1, failed);
  bp.on_piece_failed(2, failed);
  bp.on_piece_failed(3, failed);
  CHECK(bp.pieces_awaiting_judgement() == 2);
  CHECK_FALSE(bp.awaits_judgement(1));
  CHECK(bp.awaits_judgement(3));
  // Repeated failures of one piece keep a few, not all.
  for (int i = 0; i < 100; ++i) bp.on_piece_failed(3, failed);
  CHECK(bp.pieces_awaiting_judgement() == 2);
}

TEST_CASE("a web seed (a URL) is forgiven one bad piece and banned at the second") {
  ban_policy bp;
  const std::string url = "http://127.0.0.1:8000/files/";
  CHECK(ban_policy::is_web_seed(url));
  CHECK_FALSE(ban_policy::is_web_seed("10.0.0.9"));
  CHECK_FALSE(ban_policy::is_web_seed("[::1]"));
  std::vector<block_origin> piece{blk(0, url, "old"), blk(16384, url, "old-1")};
  CHECK(bp.on_piece_failed(3, piece).empty());
  CHECK_FALSE(bp.banned(url));
  // The same piece fetched again passes: the forgiven failure is not
  // judged a second time.
  CHECK_FALSE(bp.awaits_judgement(3));
  CHECK(bp.on_piece_failed(5, piece) == hosts{url});
  CHECK(bp.banned(url));
  CHECK(bp.on_piece_failed(6, piece).empty());
}

TEST_CASE("a web seed's blocks proven wrong in a shared piece count as one of its two failures") {
  ban_policy bp;
  const std::string url = "https://mirror.example/f.iso";
  std::vector<block_origin> shared{blk(0, url, "garbage"), blk(16384, "10.0.0.2", "good-1")};
  CHECK(bp.on_piece_failed(7, shared).empty());
  std::vector<block_digest> good{good_blk(0, "good-0"), good_blk(16384, "good-1")};
  CHECK(bp.on_piece_passed(7, good).empty());  // the first failure charged to the URL
  CHECK_FALSE(bp.banned(url));
  CHECK_FALSE(bp.banned("10.0.0.2"));
  std::vector<block_origin> alone{blk(0, url, "x"), blk(16384, url, "y")};
  CHECK(bp.on_piece_failed(8, alone) == hosts{url});
}

TEST_CASE("web seeds may be banned at their first failure when so configured") {
  ban_policy bp(1024, 1);
  std::vector<block_origin> piece{blk(0, "http://w/", "bad")};
  CHECK(bp.on_piece_failed(1, piece) == hosts{"http://w/"});
}
