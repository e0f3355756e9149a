#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "memory_storage.hpp"
#include "stored_piece_check.hpp"

using namespace actorrent;

namespace {

constexpr std::int64_t piece_len = 512 * 1024;  // two read chunks per piece

// 3 files, 9 pieces, the last one short; pieces cross file boundaries.
file_layout sample_layout() {
  return file_layout({layout_file{{"t", "a"}, 3 * piece_len + 1000, false},
                      layout_file{{"t", "b"}, 2 * piece_len - 1000, false},
                      layout_file{{"t", "c"}, 3 * piece_len + 12345, false}},
                     piece_len);
}

struct stored_torrent {
  memory_storage store{sample_layout()};
  std::vector<sha1_hash> hashes;
  std::vector<std::uint32_t> all;

  stored_torrent() {
    REQUIRE_FALSE(store.open());
    std::mt19937 rng(7);
    const auto& layout = store.layout();
    for (std::uint32_t p = 0; p < layout.num_pieces(); ++p) {
      std::vector<std::uint8_t> data(static_cast<std::size_t>(layout.piece_size(p)));
      for (auto& b : data) b = static_cast<std::uint8_t>(rng());
      REQUIRE_FALSE(store.write(p, 0, data));
      hashes.push_back(sha1(data));
      all.push_back(p);
    }
  }

  // One byte changed at `offset` in `piece`.
  void damage(std::uint32_t piece, std::int64_t offset) {
    std::vector<std::uint8_t> b(1);
    REQUIRE_FALSE(store.read(piece, offset, b));
    b[0] ^= 0x5a;
    REQUIRE_FALSE(store.write(piece, offset, b));
  }
};

} // namespace

TEST_CASE("stored pieces: every intact piece passes, each damaged one fails, on any thread count") {
  stored_torrent t;
  REQUIRE(t.store.layout().num_pieces() == 9);
  t.damage(1, 0);                   // first byte
  t.damage(4, piece_len - 1);       // last byte of a full piece
  t.damage(5, 256 * 1024);          // first byte of the second chunk
  t.damage(8, t.store.layout().piece_size(8) - 1);  // last byte of the short last piece
  const std::vector<std::uint32_t> want{0, 2, 3, 6, 7};
  for (unsigned threads : {1u, 2u, 3u, 16u, 0u}) {
    CAPTURE(threads);
    auto good = verify_stored_pieces(t.store, t.hashes, t.all, threads);
    REQUIRE(good);
    CHECK(*good == want);
  }
}

TEST_CASE("stored pieces: the answer keeps the order asked for and skips what cannot be checked") {
  stored_torrent t;
  t.damage(3, 12);
  const std::vector<std::uint32_t> asked{7, 3, 0, 99, 5};  // 99: no such piece
  auto good = verify_stored_pieces(t.store, t.hashes, asked, 4);
  REQUIRE(good);
  CHECK(*good == std::vector<std::uint32_t>{7, 0, 5});

  auto none = verify_stored_pieces(t.store, t.hashes, std::vector<std::uint32_t>{}, 2);
  REQUIRE(none);
  CHECK(none->empty());
}

TEST_CASE("stored pieces: a read error stops the check and is returned") {
  stored_torrent t;
  t.store.fail_reads_after(3 * piece_len, errc::io_error);
  for (unsigned threads : {1u, 2u, 4u}) {
    CAPTURE(threads);
    auto good = verify_stored_pieces(t.store, t.hashes, t.all, threads);
    REQUIRE_FALSE(good);
    CHECK(good.err().code == errc::io_error);
  }
}
