// Whole aligned runs of a written piece bypass the page cache; the rest is
// written through it; both read back the same.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "file_storage.hpp"
#include "temp_dir.hpp"

using namespace actorrent;
namespace fs = std::filesystem;

namespace {

struct temp_dir : testing::temp_dir {
  temp_dir() : testing::temp_dir("actorrent-direct-write") {}
};

constexpr std::int64_t piece_len = 64 * 1024;

// One file of three whole pieces and a short last one (not a multiple of 4096).
file_layout layout() { return file_layout({layout_file{{"f"}, 3 * piece_len + 1000, false}}, piece_len); }

std::vector<std::uint8_t> content(std::size_t n, std::uint8_t seed) {
  std::vector<std::uint8_t> b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(seed + i * 13 + (i >> 9));
  return b;
}

// Pages of [offset, offset + length) of `path` in the page cache.
std::size_t resident_pages(const fs::path& path, std::int64_t offset, std::int64_t length) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  void* map = ::mmap(nullptr, static_cast<std::size_t>(offset + length), PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  REQUIRE(map != MAP_FAILED);
  const long page = ::sysconf(_SC_PAGESIZE);
  std::vector<unsigned char> vec(static_cast<std::size_t>((offset + length + page - 1) / page));
  REQUIRE(::mincore(map, static_cast<std::size_t>(offset + length), vec.data()) == 0);
  ::munmap(map, static_cast<std::size_t>(offset + length));
  std::size_t n = 0;
  for (auto i = static_cast<std::size_t>(offset / page); i < vec.size(); ++i) n += vec[i] & 1;
  return n;
}

bool takes_direct_io(const fs::path& dir) {
  const auto probe = dir / "probe";
  const int fd = ::open(probe.c_str(), O_CREAT | O_WRONLY | O_DIRECT, 0600);
  if (fd >= 0) ::close(fd);
  fs::remove(probe);
  return fd >= 0;
}

} // namespace

TEST_CASE("a whole aligned piece is written past the page cache, a short one through it") {
  temp_dir dir;
  if (!takes_direct_io(dir.path)) {
    MESSAGE("the file system under /tmp refuses O_DIRECT: nothing to check");
    return;
  }
  file_storage store(layout(), dir.path);
  REQUIRE_FALSE(store.open());
  std::vector<std::vector<std::uint8_t>> pieces;
  for (std::uint32_t p = 0; p < 4; ++p) {
    pieces.push_back(content(static_cast<std::size_t>(store.layout().piece_size(p)), std::uint8_t(p)));
    // Blocks of 16 KiB at unaligned addresses, as they come from the network.
    std::vector<std::span<const std::uint8_t>> parts;
    for (std::size_t pos = 0; pos < pieces[p].size(); pos += 16 * 1024)
      parts.emplace_back(pieces[p].data() + pos, std::min<std::size_t>(16 * 1024, pieces[p].size() - pos));
    REQUIRE_FALSE(store.write_parts(p, 0, parts));
  }
  REQUIRE_FALSE(store.flush());
  const auto file = dir.path / "f";
  // Nothing of the whole pieces was left in the page cache; the last one went through it.
  CHECK(resident_pages(file, 0, 3 * piece_len) == 0);
  CHECK(resident_pages(file, 3 * piece_len, 1000) == 1);

  std::ifstream in(file, std::ios::binary);
  std::vector<std::uint8_t> all{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::vector<std::uint8_t> expected;
  for (auto& p : pieces) expected.insert(expected.end(), p.begin(), p.end());
  CHECK(all == expected);

  // Reads through the storage (seeding) see the same bytes.
  std::vector<std::uint8_t> back(piece_len);
  REQUIRE_FALSE(store.read(1, 0, back));
  CHECK(back == pieces[1]);
}

TEST_CASE("a piece written again over itself, and a file that other writes made unaligned") {
  temp_dir dir;
  // Two files: the second starts 1000 bytes into a piece, so its runs are unaligned.
  file_layout two({layout_file{{"a"}, 1000, false}, layout_file{{"b"}, 2 * piece_len, false}}, piece_len);
  file_storage store(two, dir.path);
  REQUIRE_FALSE(store.open());
  for (int round = 0; round < 2; ++round) {
    for (std::uint32_t p = 0; p < 3; ++p) {
      auto size = static_cast<std::size_t>(store.layout().piece_size(p));
      if (size == 0) continue;
      auto data = content(size, std::uint8_t(p + round));
      std::span<const std::uint8_t> one(data);
      REQUIRE_FALSE(store.write_parts(p, 0, std::span(&one, 1)));
      std::vector<std::uint8_t> back(size);
      REQUIRE_FALSE(store.read(p, 0, back));
      CHECK(back == data);
    }
  }
  REQUIRE_FALSE(store.flush());
}
