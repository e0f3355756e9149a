// Whole aligned runs of a written piece bypass the page cache (from the
// blocks themselves when they are aligned); the rest is written through it;
// both read back the same.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "block_buffer.hpp"
#include "direct_write.hpp"
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

TEST_CASE("blocks in block_buffers are written where they lie, others gathered first") {
  temp_dir dir;
  if (!takes_direct_io(dir.path)) {
    MESSAGE("the file system under /tmp refuses O_DIRECT: nothing to check");
    return;
  }
  const auto path = dir.path / "f";
  const int fd = ::open(path.c_str(), O_CREAT | O_RDWR, 0600);
  REQUIRE(fd >= 0);
  // More parts than one pwritev takes (IOV_MAX, 1024 on Linux).
  constexpr std::size_t block = 4096, count = 1100, size = block * count;
  const auto data = content(size, 3);
  std::vector<block_buffer> blocks;
  std::vector<iovec> iov;
  for (std::size_t pos = 0; pos < size; pos += block)
    blocks.push_back(block_buffer::copy_of(std::span(data).subspan(pos, block)));
  for (auto& b : blocks) iov.push_back({b.data(), b.size()});
  direct_write dw;
  REQUIRE(dw.write(fd, iov, 0) == 0);
  CHECK(dw.staged_bytes() == 0);

  // The same bytes one past an aligned address: copied to the staging buffer.
  std::vector<std::uint8_t> shifted(size + 2 * block_buffer::alignment);
  const auto skew = block_buffer::alignment + 1 -
                    reinterpret_cast<std::uintptr_t>(shifted.data()) % block_buffer::alignment;
  std::copy(data.begin(), data.end(), shifted.begin() + static_cast<std::ptrdiff_t>(skew));
  const iovec one{shifted.data() + skew, size};
  REQUIRE(dw.write(fd, std::span(&one, 1), static_cast<std::int64_t>(size)) == 0);
  CHECK(dw.staged_bytes() == size);
  ::close(fd);

  CHECK(resident_pages(path, 0, 2 * static_cast<std::int64_t>(size)) == 0);
  std::ifstream in(path, std::ios::binary);
  std::vector<std::uint8_t> all{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  REQUIRE(all.size() == 2 * size);
  CHECK(std::equal(data.begin(), data.end(), all.begin()));
  CHECK(std::equal(data.begin(), data.end(), all.begin() + static_cast<std::ptrdiff_t>(size)));
}
