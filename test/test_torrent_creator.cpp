#include <doctest/doctest.h>

#include "temp_dir.hpp"

#include "actorrent/bencode.hpp"
#include "actorrent/create_torrent.hpp"
#include "actorrent/metainfo.hpp"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <utility>
#include <vector>

using namespace actorrent;
using actorrent::testing::temp_dir;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t KiB = 1024;
constexpr std::int64_t MiB = 1024 * KiB;

std::string random_bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(rng() & 0xff);
  return out;
}

void write(const fs::path& p, const std::string& data) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  REQUIRE(out.good());
}

// SHA-1 straight from OpenSSL's one-shot digest, not through the library's
// hasher, over slices of the data concatenated by the test itself.
std::string openssl_sha1(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  REQUIRE(EVP_Digest(data.data(), data.size(), md, &len, EVP_sha1(), nullptr) == 1);
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::vector<std::string> expected_pieces(const std::string& data, std::int64_t piece) {
  std::vector<std::string> out;
  for (std::size_t at = 0; at < data.size(); at += static_cast<std::size_t>(piece))
    out.push_back(openssl_sha1(std::string_view(data).substr(at, static_cast<std::size_t>(piece))));
  return out;
}

metainfo created(const create_options& o) {
  auto bytes = create_torrent(o);
  REQUIRE_MESSAGE(bytes.has_value(), (bytes ? "" : bytes.err().to_string()));
  auto m = parse_metainfo(*bytes);
  REQUIRE_MESSAGE(m.has_value(), (m ? "" : m.err().to_string()));
  return std::move(*m);
}

void check_pieces(const metainfo& m, const std::string& data) {
  auto want = expected_pieces(data, m.piece_length);
  REQUIRE(m.piece_hashes.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) CHECK(std::string(m.piece_hashes[i].raw()) == want[i]);
}

error refused(const create_options& o) {
  auto bytes = create_torrent(o);
  REQUIRE_FALSE(bytes.has_value());
  return bytes.err();
}

bool contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

// A tree with uneven sizes: files smaller than a piece, files across piece
// boundaries, an empty file, an empty directory, nested directories, and
// names whose order differs between whole-path and per-component sorting.
struct tree {
  temp_dir dir{"actorrent-create"};
  fs::path root = dir.path / "content";
  std::vector<std::pair<std::string, std::string>> files;  // in the expected order

  tree() {
    files = {
        {"a-c", random_bytes(100 * KiB + 7, 1)},
        {"a.b", random_bytes(17, 2)},
        {"a/x", random_bytes(64 * KiB, 3)},
        {"a/y/deep.bin", random_bytes(3 * 32 * KiB - 1, 4)},
        {"a0", std::string()},
        {"z", random_bytes(5 * KiB, 5)},
    };
    for (const auto& [rel, data] : files) write(root / rel, data);
    fs::create_directories(root / "empty" / "inner");
  }

  std::string concatenated() const {
    std::string all;
    for (const auto& f : files) all += f.second;
    return all;
  }
};

} // namespace

TEST_CASE("the default piece size is mktorrent's: 1600 pieces at most, 32 KiB to 16 MiB") {
  CHECK(default_piece_size(1) == 32 * KiB);
  CHECK(default_piece_size(50 * MiB) == 32 * KiB);
  CHECK(default_piece_size(50 * MiB + 1) == 64 * KiB);
  CHECK(default_piece_size(100 * MiB) == 64 * KiB);
  CHECK(default_piece_size(100 * MiB + 1) == 128 * KiB);
  CHECK(default_piece_size(400 * MiB) == 256 * KiB);
  CHECK(default_piece_size(512 * MiB) == 512 * KiB);
  CHECK(default_piece_size(1600 * MiB + 1) == 2 * MiB);
  CHECK(default_piece_size(12800 * MiB) == 8 * MiB);
  CHECK(default_piece_size(12800 * MiB + 1) == 16 * MiB);
  CHECK(default_piece_size(std::int64_t{1} << 42) == 16 * MiB);
}

TEST_CASE("a single file: its name, length and piece hashes, read back by the metainfo reader") {
  temp_dir d{"actorrent-create"};
  const std::string data = random_bytes(5 * 32 * KiB + 1234, 9);
  write(d.path / "movie.bin", data);
  create_options o;
  o.content = d.path / "movie.bin";
  auto m = created(o);
  CHECK_FALSE(m.multi_file);
  CHECK(m.name == "movie.bin");
  CHECK(m.total_length == static_cast<std::int64_t>(data.size()));
  CHECK(m.piece_length == 32 * KiB);  // the default for this size
  CHECK(m.piece_count() == 6);
  check_pieces(m, data);
  CHECK(m.created_by == "actorrent 0.1.0");
  CHECK_FALSE(m.creation_date.has_value());
}

TEST_CASE("a directory: files in byte order of their paths, sizes and offsets, hashes across files") {
  tree t;
  create_options o;
  o.content = t.root;
  o.piece_size = 16 * KiB;  // pieces that straddle files
  auto m = created(o);
  CHECK(m.multi_file);
  CHECK(m.name == "content");
  REQUIRE(m.files.size() == t.files.size());
  std::int64_t offset = 0;
  for (std::size_t i = 0; i < t.files.size(); ++i) {
    CHECK(m.files[i].path_string() == t.files[i].first);
    CHECK(m.files[i].length == static_cast<std::int64_t>(t.files[i].second.size()));
    CHECK(m.files[i].offset == offset);
    offset += m.files[i].length;
  }
  CHECK(m.total_length == offset);
  check_pieces(m, t.concatenated());
}

TEST_CASE("the same content and options give the same bytes, whatever the thread count") {
  tree t;
  create_options o;
  o.content = t.root;
  o.piece_size = 16 * KiB;
  o.trackers = {{"http://a.example/announce"}};
  std::vector<std::string> outs;
  for (unsigned threads : {1u, 2u, 3u, 8u, 0u}) {
    o.threads = threads;
    auto bytes = create_torrent(o);
    REQUIRE(bytes.has_value());
    outs.push_back(*bytes);
  }
  for (const auto& b : outs) CHECK(b == outs.front());
  // And a name given with a trailing slash is the same torrent.
  o.content = t.root.string() + "/";
  auto again = create_torrent(o);
  REQUIRE(again.has_value());
  CHECK(*again == outs.front());
}

TEST_CASE("trackers, web seeds, comment, private, source and date go where clients look") {
  temp_dir d{"actorrent-create"};
  write(d.path / "f", random_bytes(40 * KiB, 3));
  create_options o;
  o.content = d.path / "f";

  SUBCASE("one tracker: announce only; one web seed: a string") {
    o.trackers = {{"http://t1/announce"}};
    o.web_seeds = {"http://w1/f"};
    auto bytes = create_torrent(o);
    REQUIRE(bytes.has_value());
    auto top = bencode::decode(*bytes);
    REQUIRE(top.has_value());
    CHECK(top->find("announce-list") == nullptr);
    REQUIRE(top->find("url-list") != nullptr);
    CHECK(*top->find("url-list")->as_string() == "http://w1/f");
    auto m = parse_metainfo(*bytes);
    REQUIRE(m.has_value());
    CHECK(m->announce == "http://t1/announce");
    CHECK_FALSE(m->is_private);
  }
  SUBCASE("several: announce is the first, tiers as given, web seeds a list") {
    o.trackers = {{"http://t1/a"}, {"http://t2/a", "http://t3/a"}};
    o.web_seeds = {"http://w1/f", "http://w2/f"};
    o.comment = "made for a test";
    o.creation_date = 1700000000;
    auto m = created(o);
    CHECK(m.announce == "http://t1/a");
    REQUIRE(m.announce_list.size() == 2);
    CHECK(m.announce_list[0] == std::vector<std::string>{"http://t1/a"});
    CHECK(m.announce_list[1] == std::vector<std::string>{"http://t2/a", "http://t3/a"});
    CHECK(m.url_list == std::vector<std::string>{"http://w1/f", "http://w2/f"});
    CHECK(m.comment == "made for a test");
    REQUIRE(m.creation_date.has_value());
    CHECK(*m.creation_date == 1700000000);
  }
  SUBCASE("private and source are in the info dictionary: they change the info-hash") {
    auto plain = created(o);
    o.is_private = true;
    auto priv = created(o);
    CHECK(priv.is_private);
    CHECK(priv.info_hash != plain.info_hash);
    o.is_private = false;
    o.source = "SITE";
    auto sourced = created(o);
    auto info = bencode::decode(sourced.raw_info);
    REQUIRE(info.has_value());
    REQUIRE(info->find("source") != nullptr);
    CHECK(*info->find("source")->as_string() == "SITE");
    CHECK(sourced.info_hash != plain.info_hash);
    // Trackers and comments stay outside: same info-hash.
    o.source.clear();
    o.trackers = {{std::string("http://elsewhere/a")}};
    o.comment = std::string("x");
    CHECK(created(o).info_hash == plain.info_hash);
  }
}

TEST_CASE("piece sizes other than powers of two from 16 KiB to 64 MiB are refused") {
  temp_dir d{"actorrent-create"};
  write(d.path / "f", random_bytes(1000, 3));
  create_options o;
  o.content = d.path / "f";
  for (std::int64_t bad : {std::int64_t{1000}, 8 * KiB, 16 * KiB - 1, 48 * KiB, 128 * MiB, std::int64_t{-1}}) {
    o.piece_size = bad;
    auto e = refused(o);
    CHECK(e.code == errc::invalid_argument);
    CHECK(contains(e.message, "power of two"));
  }
  for (std::int64_t good : {16 * KiB, 64 * MiB}) {
    o.piece_size = good;
    CHECK(created(o).piece_length == good);
  }
}

TEST_CASE("0 bytes of content is refused with the reader's message") {
  temp_dir d{"actorrent-create"};
  fs::create_directories(d.path / "only-empty" / "sub");
  write(d.path / "only-empty" / "zero", "");
  fs::create_directories(d.path / "nothing" / "at" / "all");
  for (const char* name : {"only-empty", "nothing"}) {
    create_options o;
    o.content = d.path / name;
    auto e = refused(o);
    CHECK(e.code == errc::metainfo_invalid);
    CHECK(contains(e.message, "the torrent holds no data"));
    CHECK(contains(e.message, name));
  }
}

TEST_CASE("missing content, special files and names other clients would split are refused") {
  temp_dir d{"actorrent-create"};
  create_options o;
  o.content = d.path / "missing";
  auto e = refused(o);
  CHECK(e.code == errc::io_error);
  CHECK(contains(e.message, "missing"));
  CHECK(contains(e.message, "does not exist"));

  write(d.path / "dir" / "ok", "data");
  REQUIRE(::mkfifo((d.path / "dir" / "pipe").c_str(), 0600) == 0);
  o.content = d.path / "dir";
  e = refused(o);
  CHECK(contains(e.message, "pipe"));
  CHECK(contains(e.message, "fifo"));
  fs::remove(d.path / "dir" / "pipe");
  CHECK(created(o).files.size() == 1);

  write(d.path / "dir" / "back\\slash", "data");
  e = refused(o);
  CHECK(e.code == errc::unsafe_path);
  CHECK(contains(e.message, "back\\slash"));
}

TEST_CASE("symbolic links are followed when they stay inside the content, refused otherwise") {
  temp_dir d{"actorrent-create"};
  const fs::path root = d.path / "content";
  const std::string inner = random_bytes(20 * KiB, 1), outer = random_bytes(10 * KiB, 2);
  write(root / "real" / "data.bin", inner);
  write(d.path / "outside.bin", outer);
  create_options o;
  o.content = root;
  o.piece_size = 16 * KiB;

  SUBCASE("a link to a file and one to a directory inside: their data is listed under the link") {
    fs::create_symlink("real/data.bin", root / "link.bin");
    fs::create_directory_symlink("real", root / "alias");
    auto m = created(o);
    REQUIRE(m.files.size() == 3);
    CHECK(m.files[0].path_string() == "alias/data.bin");
    CHECK(m.files[1].path_string() == "link.bin");
    CHECK(m.files[2].path_string() == "real/data.bin");
    check_pieces(m, inner + inner + inner);
  }
  SUBCASE("a link outside") {
    fs::create_symlink(d.path / "outside.bin", root / "escape");
    auto e = refused(o);
    CHECK(e.code == errc::unsafe_path);
    CHECK(contains(e.message, "escape"));
    CHECK(contains(e.message, "outside"));
  }
  SUBCASE("a link to nothing") {
    fs::create_symlink("gone", root / "dangling");
    auto e = refused(o);
    CHECK(contains(e.message, "dangling"));
  }
  SUBCASE("a loop") {
    fs::create_directory_symlink("..", root / "real" / "up");
    auto e = refused(o);
    CHECK(contains(e.message, "up"));
    CHECK(contains(e.message, "loop"));
  }
  SUBCASE("the content itself given as a link") {
    fs::create_directory_symlink(root, d.path / "via-link");
    o.content = d.path / "via-link";
    auto m = created(o);
    CHECK(m.name == "via-link");
    CHECK(m.files.size() == 1);
  }
}

TEST_CASE("unreadable input is an error naming the file") {
  temp_dir d{"actorrent-create"};
  write(d.path / "c" / "a.bin", random_bytes(64 * KiB, 1));
  write(d.path / "c" / "b.bin", random_bytes(64 * KiB, 2));
  create_options o;
  o.content = d.path / "c";
  o.piece_size = 16 * KiB;

  SUBCASE("a file that shrinks after it was listed") {
    // The first progress call comes before any piece is read.
    bool cut = false;
    o.on_progress = [&](const create_progress& p) {
      if (!cut && p.pieces_done == 0) {
        fs::resize_file(d.path / "c" / "b.bin", 1000);
        cut = true;
      }
    };
    auto e = refused(o);
    CHECK(cut);
    CHECK(e.code == errc::io_error);
    CHECK(contains(e.message, "b.bin"));
    CHECK(contains(e.message, "changed"));
  }
  SUBCASE("a file without read permission") {
    if (::geteuid() == 0) {
      // root reads it anyway; a file that vanishes fails the same open().
      o.on_progress = [&](const create_progress& p) {
        if (p.pieces_done == 0) fs::remove(d.path / "c" / "a.bin");
      };
      auto e = refused(o);
      CHECK(contains(e.message, "cannot read"));
      CHECK(contains(e.message, "a.bin"));
    } else {
      fs::permissions(d.path / "c" / "a.bin", fs::perms::none);
      auto e = refused(o);
      CHECK(e.code == errc::permission);
      CHECK(contains(e.message, "a.bin"));
    }
  }
}

TEST_CASE("progress starts at 0, never goes back and ends at every piece") {
  temp_dir d{"actorrent-create"};
  write(d.path / "f", random_bytes(2 * MiB, 4));
  create_options o;
  o.content = d.path / "f";
  o.piece_size = 16 * KiB;
  std::vector<create_progress> seen;
  o.on_progress = [&](const create_progress& p) { seen.push_back(p); };
  auto m = created(o);
  REQUIRE(seen.size() >= 2);
  CHECK(seen.front().pieces_done == 0);
  for (std::size_t i = 1; i < seen.size(); ++i) CHECK(seen[i].pieces_done >= seen[i - 1].pieces_done);
  CHECK(seen.back().pieces_done == m.piece_count());
  CHECK(seen.back().pieces_total == m.piece_count());
  CHECK(seen.back().bytes_total == 2 * MiB);
}
