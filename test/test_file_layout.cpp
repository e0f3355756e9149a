#include <doctest/doctest.h>

#include <random>
#include <string>

#include "file_layout.hpp"

using namespace actorrent;

namespace {

layout_file f(std::string name, std::int64_t len, bool pad = false) {
  return layout_file{{"t", std::move(name)}, len, pad};
}

// piece length 16; files: a 0..10, b empty at 10, c 10..15, d 15..18,
// e empty at 18, f 18..48, g 48..55
file_layout uneven() {
  return file_layout({f("a", 10), f("b", 0), f("c", 5), f("d", 3), f("e", 0), f("f", 30), f("g", 7)}, 16);
}

// The file holding global byte `pos`, found by a plain scan.
std::pair<std::uint32_t, std::int64_t> locate(const file_layout& l, std::int64_t pos) {
  std::int64_t start = 0;
  for (std::uint32_t i = 0; i < l.files().size(); ++i) {
    const auto len = l.files()[i].length;
    if (pos < start + len) return {i, pos - start};
    start += len;
  }
  return {UINT32_MAX, -1};
}

} // namespace

TEST_CASE("single file") {
  file_layout l({layout_file{{"one.bin"}, 100, false}}, 32);
  CHECK(l.total_length() == 100);
  CHECK(l.piece_length() == 32);
  CHECK(l.num_pieces() == 4);
  CHECK(l.piece_size(0) == 32);
  CHECK(l.piece_size(3) == 4);
  CHECK(l.piece_size(4) == 0);
  CHECK(l.file_offset(0) == 0);

  auto s = l.map(2, 5, 20);
  REQUIRE(s.size() == 1);
  CHECK(s[0].file == 0);
  CHECK(s[0].file_offset == 69);
  CHECK(s[0].length == 20);
  CHECK(s[0].buffer_offset == 0);

  auto last = l.map(3, 0, 4);
  REQUIRE(last.size() == 1);
  CHECK(last[0].file_offset == 96);
  CHECK(last[0].length == 4);
  CHECK(l.map(3, 0, 5).empty());  // the last piece is shorter

  CHECK(l.pieces_of_file(0) == std::pair<std::uint32_t, std::uint32_t>{0, 3});
}

TEST_CASE("exact multiple of the piece length has no short piece") {
  file_layout l({layout_file{{"x"}, 64, false}}, 16);
  CHECK(l.num_pieces() == 4);
  CHECK(l.piece_size(3) == 16);
}

TEST_CASE("multi-file layout with uneven sizes and empty files") {
  const auto l = uneven();
  CHECK(l.total_length() == 55);
  CHECK(l.num_pieces() == 4);
  CHECK(l.piece_size(3) == 7);
  CHECK(l.file_offset(0) == 0);
  CHECK(l.file_offset(1) == 10);
  CHECK(l.file_offset(2) == 10);
  CHECK(l.file_offset(3) == 15);
  CHECK(l.file_offset(5) == 18);
  CHECK(l.file_offset(6) == 48);
  CHECK(l.file_offset(7) == 55);  // out of range

  SUBCASE("a block spanning three files skips the empty one between them") {
    auto s = l.map(0, 8, 8);  // global 8..16
    REQUIRE(s.size() == 3);
    CHECK(s[0].file == 0);
    CHECK(s[0].file_offset == 8);
    CHECK(s[0].length == 2);
    CHECK(s[0].buffer_offset == 0);
    CHECK(s[1].file == 2);
    CHECK(s[1].file_offset == 0);
    CHECK(s[1].length == 5);
    CHECK(s[1].buffer_offset == 2);
    CHECK(s[2].file == 3);
    CHECK(s[2].file_offset == 0);
    CHECK(s[2].length == 1);
    CHECK(s[2].buffer_offset == 7);
  }
  SUBCASE("a block starting exactly where an empty file sits") {
    auto s = l.map(1, 2, 4);  // global 18..22, e is empty at 18
    REQUIRE(s.size() == 1);
    CHECK(s[0].file == 5);
    CHECK(s[0].file_offset == 0);
    CHECK(s[0].length == 4);
  }
  SUBCASE("a piece crossing from one file into the next") {
    auto s = l.map(1, 0, 16);  // global 16..32: d[1..3], f[0..14]
    REQUIRE(s.size() == 2);
    CHECK(s[0].file == 3);
    CHECK(s[0].file_offset == 1);
    CHECK(s[0].length == 2);
    CHECK(s[1].file == 5);
    CHECK(s[1].file_offset == 0);
    CHECK(s[1].length == 14);
    CHECK(s[1].buffer_offset == 2);
  }
  SUBCASE("last piece") {
    auto s = l.map(3, 0, 7);
    REQUIRE(s.size() == 1);
    CHECK(s[0].file == 6);
    CHECK(s[0].file_offset == 0);
    CHECK(s[0].length == 7);
  }
  SUBCASE("pieces_of_file") {
    using range = std::pair<std::uint32_t, std::uint32_t>;
    CHECK(l.pieces_of_file(0) == range{0, 0});
    CHECK(l.pieces_of_file(2) == range{0, 0});
    CHECK(l.pieces_of_file(3) == range{0, 1});
    CHECK(l.pieces_of_file(5) == range{1, 2});
    CHECK(l.pieces_of_file(6) == range{3, 3});
    auto empty = l.pieces_of_file(1);
    CHECK(empty.first > empty.second);
    auto missing = l.pieces_of_file(7);
    CHECK(missing.first > missing.second);
  }
  SUBCASE("out of range maps to nothing") {
    CHECK(l.map(4, 0, 1).empty());
    CHECK(l.map(UINT32_MAX, 0, 1).empty());
    CHECK(l.map(0, 16, 1).empty());
    CHECK(l.map(0, 10, 7).empty());
    CHECK(l.map(3, 6, 2).empty());
    CHECK(l.map(0, -1, 2).empty());
    CHECK(l.map(0, 0, 0).empty());
    CHECK(l.map(0, 0, -3).empty());
    CHECK_FALSE(l.map(3, 6, 1).empty());
  }
}

TEST_CASE("every in-range request maps to the bytes a linear scan finds") {
  const auto l = uneven();
  std::mt19937 rng(7);
  for (int iter = 0; iter < 2000; ++iter) {
    const auto piece = static_cast<std::uint32_t>(rng() % l.num_pieces());
    const auto size = l.piece_size(piece);
    const auto offset = static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(size));
    const auto length = 1 + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(size - offset));
    const auto slices = l.map(piece, offset, length);
    const auto base = static_cast<std::int64_t>(piece) * l.piece_length() + offset;
    std::int64_t covered = 0;
    for (const auto& s : slices) {
      CHECK(s.buffer_offset == covered);
      CHECK(s.length > 0);
      for (std::int64_t k = 0; k < s.length; k += std::max<std::int64_t>(1, s.length - 1)) {
        const auto [file, off] = locate(l, base + s.buffer_offset + k);
        CHECK(file == s.file);
        CHECK(off == s.file_offset + k);
      }
      covered += s.length;
    }
    CHECK(covered == length);
  }
}

TEST_CASE("make rejects layouts the constructor would have to bend") {
  CHECK_FALSE(file_layout::make({f("a", 10)}, 0).has_value());
  CHECK(file_layout::make({f("a", 10)}, 0).err().code == errc::invalid_argument);
  CHECK_FALSE(file_layout::make({f("a", -1)}, 16).has_value());
  CHECK_FALSE(file_layout::make({f("a", INT64_MAX), f("b", 1)}, 16).has_value());
  CHECK_FALSE(file_layout::make({f("a", std::int64_t{1} << 40)}, 1).has_value());
  auto ok = file_layout::make({f("a", 10), f("b", 7)}, 4);
  REQUIRE(ok.has_value());
  CHECK(ok->num_pieces() == 5);
}

TEST_CASE("validate_paths rejects each unsafe kind and names the file") {
  auto check_bad = [](std::vector<std::string> path) {
    std::vector<layout_file> files{layout_file{{"ok"}, 1, false}, layout_file{path, 1, false}};
    const auto e = validate_paths(files);
    CHECK(e.code == errc::unsafe_path);
    CHECK(e.message.find("file 1") != std::string::npos);
  };
  check_bad({});
  check_bad({"t", ""});
  check_bad({"t", "."});
  check_bad({"t", ".."});
  check_bad({".."});
  check_bad({"t", "a/b"});
  check_bad({"/etc", "passwd"});
  check_bad({"t", "a\\..\\b"});
  check_bad({"t", std::string("a\0b", 3)});
  check_bad({"t", "CON"});
  check_bad({"lpt3 "});

  std::vector<layout_file> dup{layout_file{{"t", "x"}, 1, false}, layout_file{{"t", "x"}, 2, false}};
  CHECK(validate_paths(dup).code == errc::unsafe_path);
  std::vector<layout_file> dir_clash{layout_file{{"t", "x", "y"}, 1, false}, layout_file{{"t", "x"}, 2, false}};
  CHECK(validate_paths(dir_clash).code == errc::unsafe_path);

  std::vector<layout_file> good{layout_file{{"t", "x"}, 1, false},
                                layout_file{{"t", ".pad", "1"}, 3, true},
                                layout_file{{"t", ".pad", "1"}, 3, true},  // padding may repeat
                                layout_file{{"t", "xy"}, 1, false},
                                layout_file{{"t", "sub", "x"}, 1, false},
                                layout_file{{"t", "..."}, 1, false},
                                layout_file{{"t", ".hidden"}, 1, false},
                                layout_file{{"t", "lpt3.txt"}, 1, false},  // a file, off Windows
                                layout_file{{"t", "aux.c"}, 1, false}};
  CHECK_FALSE(validate_paths(good));
}
