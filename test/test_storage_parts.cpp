#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <vector>

#include "file_storage.hpp"
#include "memory_storage.hpp"
#include "temp_dir.hpp"

using namespace actorrent;
namespace fs = std::filesystem;

namespace {

struct temp_dir : testing::temp_dir {
  temp_dir() : testing::temp_dir("actorrent-storage-parts") {}
};

// piece length 16, total 40 (pieces of 16, 16, 8):
//   t/a 0..10, t/.pad/0 10..16 (padding), t/sub/c 16..37, t/d 37..40
file_layout padded_layout() {
  return file_layout({layout_file{{"t", "a"}, 10, false},
                      layout_file{{"t", ".pad", "0"}, 6, true},
                      layout_file{{"t", "sub", "c"}, 21, false},
                      layout_file{{"t", "d"}, 3, false}},
                     16);
}

std::vector<std::uint8_t> file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// `data` cut into parts of the given sizes, cycling through them.
std::vector<std::span<const std::uint8_t>> cut(std::span<const std::uint8_t> data,
                                               std::vector<std::size_t> sizes) {
  std::vector<std::span<const std::uint8_t>> parts;
  std::size_t pos = 0;
  for (std::size_t i = 0; pos < data.size(); ++i) {
    auto n = std::min(sizes[i % sizes.size()], data.size() - pos);
    parts.push_back(data.subspan(pos, n));
    pos += n;
  }
  return parts;
}

} // namespace

TEST_CASE("write_parts: parts crossing file and padding boundaries land where one write would") {
  temp_dir dir;
  file_storage fs_store(padded_layout(), dir.path);
  memory_storage mem(padded_layout());
  REQUIRE_FALSE(fs_store.open());
  REQUIRE_FALSE(mem.open());
  for (std::uint32_t piece = 0; piece < 3; ++piece) {
    const auto size = static_cast<std::size_t>(fs_store.layout().piece_size(piece));
    std::vector<std::uint8_t> data(size);
    for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<std::uint8_t>(piece * 50 + i + 1);
    // Empty parts and parts ending exactly on a file boundary included.
    auto parts = cut(data, {3, 0, 7, 1, 5});
    REQUIRE_FALSE(fs_store.write_parts(piece, 0, parts));
    REQUIRE_FALSE(mem.write(piece, 0, data));
  }
  auto whole = mem.data();
  CHECK(file_bytes(dir.path / "t" / "a") == std::vector<std::uint8_t>(whole.begin(), whole.begin() + 10));
  CHECK(file_bytes(dir.path / "t" / "sub" / "c") == std::vector<std::uint8_t>(whole.begin() + 16, whole.begin() + 37));
  CHECK(file_bytes(dir.path / "t" / "d") == std::vector<std::uint8_t>(whole.begin() + 37, whole.end()));
  CHECK_FALSE(fs::exists(dir.path / "t" / ".pad"));

  // The same through the storage interface's part-by-part default.
  memory_storage by_parts(padded_layout());
  REQUIRE_FALSE(by_parts.open());
  for (std::uint32_t piece = 0; piece < 3; ++piece) {
    std::vector<std::uint8_t> data(static_cast<std::size_t>(by_parts.layout().piece_size(piece)));
    REQUIRE_FALSE(mem.read(piece, 0, data));
    REQUIRE_FALSE(by_parts.write_parts(piece, 0, cut(data, {2, 9})));
  }
  CHECK(std::vector<std::uint8_t>(by_parts.data().begin(), by_parts.data().end())
        == std::vector<std::uint8_t>(whole.begin(), whole.end()));
}

TEST_CASE("write_parts: more parts than one pwritev call takes, at an offset inside the piece") {
  temp_dir dir;
  const std::int64_t piece_len = 256 * 1024;
  file_storage store(file_layout({layout_file{{"big"}, 2 * piece_len, false}}, piece_len), dir.path);
  REQUIRE_FALSE(store.open());
  std::vector<std::uint8_t> data(static_cast<std::size_t>(piece_len - 100));
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 7 + i / 251);
  auto parts = cut(data, {13, 50, 1});  // about 12,000 parts: past IOV_MAX (1024)
  REQUIRE(parts.size() > 4096);
  REQUIRE_FALSE(store.write_parts(1, 100, parts));
  std::vector<std::uint8_t> back(data.size());
  REQUIRE_FALSE(store.read(1, 100, back));
  CHECK(back == data);
  CHECK(fs::file_size(dir.path / "big") == static_cast<std::uintmax_t>(2 * piece_len));
}

TEST_CASE("write_parts: a range outside the piece is refused and writes nothing") {
  temp_dir dir;
  file_storage store(padded_layout(), dir.path);
  REQUIRE_FALSE(store.open());
  std::vector<std::uint8_t> data(10, 0xab);
  auto parts = cut(data, {4});
  auto err = store.write_parts(2, 0, parts);  // piece 2 has 8 bytes
  CHECK(err.code == errc::invalid_argument);
  CHECK_FALSE(fs::exists(dir.path / "t" / "d"));
}
