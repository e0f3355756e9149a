#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "actorrent/bencode.hpp"
#include "file_storage.hpp"
#include "temp_dir.hpp"
#include "resume_data.hpp"

using namespace actorrent;
namespace fs = std::filesystem;

namespace {

// Each test's scratch directory.
struct temp_dir : testing::temp_dir {
  temp_dir() : testing::temp_dir("actorrent-resume") {}
};

sha1_hash hash_of(std::string_view s) { return sha1(s); }

bitfield bits(std::size_t n, std::initializer_list<std::uint32_t> set) {
  bitfield b(n);
  for (auto i : set) b.set(i);
  return b;
}

std::vector<std::uint32_t> members(const bitfield& b) {
  std::vector<std::uint32_t> out;
  for (std::uint32_t i = 0; i < b.size(); ++i)
    if (b.test(i)) out.push_back(i);
  return out;
}

resume_data sample() {
  resume_data r;
  r.info_hash = hash_of("sample");
  r.num_pieces = 21;  // not a multiple of 8: the last byte has spare bits
  r.pieces = bits(21, {0, 3, 7, 8, 20});
  r.files = {{1000, 1'700'000'000'123'456'789}, {-1, 0}, {0, 5}, {42, -3}};
  return r;
}

std::string write_text(const fs::path& p, std::size_t n, char fill) {
  fs::create_directories(p.parent_path());
  std::string data(n, fill);
  std::ofstream(p, std::ios::binary).write(data.data(), static_cast<std::streamsize>(n));
  return data;
}

void touch_later(const fs::path& p) {
  fs::last_write_time(p, fs::last_write_time(p) + std::chrono::seconds(3));
}

// Piece length 16, 6 pieces:
//   t/a  0..40  pieces 0, 1, 2
//   t/b 40..64  pieces 2, 3   (piece 2 spans a and b)
//   t/c 64..94  pieces 4, 5   (piece 5 is 14 bytes)
file_layout three_files() {
  return file_layout({layout_file{{"t", "a"}, 40, false},
                      layout_file{{"t", "b"}, 24, false},
                      layout_file{{"t", "c"}, 30, false}},
                     16);
}

// The three files written in full under `dir`.
void write_three(const fs::path& dir) {
  write_text(dir / "t" / "a", 40, 'a');
  write_text(dir / "t" / "b", 24, 'b');
  write_text(dir / "t" / "c", 30, 'c');
}

std::vector<storage::file_status> stat_now(const file_layout& l, const fs::path& dir) {
  return file_storage(l, dir).stat_files();
}

resume_data snapshot(const sha1_hash& ih, const file_layout& l, const fs::path& dir,
                     bitfield verified) {
  return resume_data{ih, l.num_pieces(), std::move(verified), stat_now(l, dir)};
}

// The encoding of `r` with `key` replaced by `v` (or removed when v is null).
std::string with_key(const resume_data& r, const std::string& key, const bencode::value* v) {
  auto decoded = bencode::decode(encode_resume(r));
  REQUIRE(decoded.has_value());
  bencode::dict d = *decoded->as_dict();
  bencode::dict out;
  bool replaced = false;
  for (auto& [k, val] : d) {
    if (k == key) {
      replaced = true;
      if (v) out.emplace_back(k, *v);
    } else {
      out.emplace_back(k, val);
    }
  }
  if (!replaced && v) out.emplace_back(key, *v);
  return bencode::encode(bencode::value(std::move(out)));
}

std::string packed_files(std::initializer_list<std::int64_t> values) {
  std::string out;
  for (auto v : values) {
    auto u = static_cast<std::uint64_t>(v);
    for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<char>((u >> s) & 0xff));
  }
  return out;
}

// Rejected with errc::resume_invalid and, when `why` is given, a message
// saying so (so a test fails if the input is refused for another reason).
void check_rejected(std::string_view bytes, std::string_view why = {}) {
  auto r = decode_resume(bytes);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.err().code == errc::resume_invalid);
  CHECK_FALSE(r.err().message.empty());
  if (!why.empty()) CHECK_MESSAGE(r.err().message.find(why) != std::string::npos, r.err().message);
}

} // namespace

TEST_CASE("encode and decode round trip") {
  const resume_data r = sample();
  const std::string bytes = encode_resume(r);
  auto back = decode_resume(bytes);
  REQUIRE(back.has_value());
  CHECK(*back == r);
  CHECK(back->pieces.test(20));
  CHECK_FALSE(back->pieces.test(19));
  CHECK(back->files[0].mtime_ns == 1'700'000'000'123'456'789);
  CHECK(back->files[3].mtime_ns == -3);
  CHECK(encode_resume(*back) == bytes);
  // The version travels with the data.
  auto v = bencode::decode(bytes);
  REQUIRE(v.has_value());
  REQUIRE(v->find("version") != nullptr);
  CHECK(*v->find("version")->as_int() == 1);

  SUBCASE("no pieces, no files") {
    resume_data empty;
    empty.info_hash = hash_of("empty");
    auto e = decode_resume(encode_resume(empty));
    REQUIRE(e.has_value());
    CHECK(*e == empty);
  }
  SUBCASE("extreme values") {
    resume_data big = r;
    big.files = {{INT64_MAX, INT64_MIN}, {-1, INT64_MAX}};
    auto e = decode_resume(encode_resume(big));
    REQUIRE(e.has_value());
    CHECK(*e == big);
  }
}

TEST_CASE("corrupt resume data is rejected") {
  const resume_data r = sample();
  const std::string good = encode_resume(r);

  SUBCASE("every truncation") {
    for (std::size_t n = 0; n < good.size(); ++n) check_rejected(std::string_view(good).substr(0, n));
  }
  SUBCASE("trailing bytes") { check_rejected(good + "0:"); }
  SUBCASE("wrong types") {
    const bencode::value as_string("x"), as_int(std::int64_t{7}), as_list(bencode::list{1, 2});
    check_rejected(with_key(r, "version", &as_string), "\"version\"");
    check_rejected(with_key(r, "info-hash", &as_int), "\"info-hash\"");
    check_rejected(with_key(r, "num-pieces", &as_string), "\"num-pieces\"");
    check_rejected(with_key(r, "pieces", &as_list), "nesting");
    check_rejected(with_key(r, "pieces", &as_int), "\"pieces\"");
    check_rejected(with_key(r, "files", &as_int), "\"files\"");
    check_rejected(with_key(r, "files", &as_list));
    check_rejected("li1ei2ee", "not a dictionary");
    check_rejected("i1e");
    check_rejected("4:spam");
  }
  SUBCASE("missing or unknown keys, other versions") {
    for (const char* key : {"version", "info-hash", "num-pieces", "pieces", "files"})
      check_rejected(with_key(r, key, nullptr));
    const bencode::value extra(std::int64_t{1});
    check_rejected(with_key(r, "zzz", &extra), "unknown key \"zzz\"");
    const bencode::value v2(std::int64_t{2}), v0(std::int64_t{0});
    check_rejected(with_key(r, "version", &v2), "unsupported version 2");
    check_rejected(with_key(r, "version", &v0));
  }
  SUBCASE("info-hash of the wrong length") {
    const bencode::value short_hash(std::string(19, 'h')), long_hash(std::string(21, 'h'));
    check_rejected(with_key(r, "info-hash", &short_hash), "not 20 bytes");
    check_rejected(with_key(r, "info-hash", &long_hash));
  }
  SUBCASE("piece count out of range") {
    const bencode::value neg(std::int64_t{-1}), huge(std::int64_t{1} << 32);
    check_rejected(with_key(r, "num-pieces", &neg), "out of range");
    check_rejected(with_key(r, "num-pieces", &huge), "out of range");
  }
  SUBCASE("bitfield length not matching num-pieces") {
    const bencode::value two(std::string(2, '\0')), four(std::string(4, '\0')), none("");
    check_rejected(with_key(r, "pieces", &two), "2 bytes for 21 pieces");   // 21 pieces need 3 bytes
    check_rejected(with_key(r, "pieces", &four));
    check_rejected(with_key(r, "pieces", &none));
    const bencode::value twenty_four(std::int64_t{24});  // 3 bytes hold 24 too: accepted
    CHECK(decode_resume(with_key(r, "num-pieces", &twenty_four)).has_value());
    const bencode::value sixteen(std::int64_t{16});
    check_rejected(with_key(r, "num-pieces", &sixteen));
  }
  SUBCASE("spare bits set") {
    const auto& wire = r.pieces.bytes();
    std::string bytes(wire.begin(), wire.end());
    REQUIRE(bytes.size() == 3);
    bytes[2] = static_cast<char>(bytes[2] | 0x01);  // bit 23 of a 21-bit field
    const bencode::value spare(bytes);
    check_rejected(with_key(r, "pieces", &spare), "spare bit");
  }
  SUBCASE("file records") {
    const bencode::value ragged(packed_files({10, 0}).substr(0, 15));
    check_rejected(with_key(r, "files", &ragged), "not a multiple of 16");
    const bencode::value minus_two(packed_files({10, 0, -2, 0}));
    check_rejected(with_key(r, "files", &minus_two), "file 1 has size -2");
    const bencode::value most_negative(packed_files({INT64_MIN, 0}));
    check_rejected(with_key(r, "files", &most_negative));
    const bencode::value missing(packed_files({-1, 0, 0, 0}));  // -1 is a missing file: fine
    auto ok = decode_resume(with_key(r, "files", &missing));
    REQUIRE(ok.has_value());
    CHECK(ok->files == std::vector<storage::file_status>{{-1, 0}, {0, 0}});
  }
  SUBCASE("nesting and non-canonical bencoding") {
    const bencode::value nested(bencode::dict{{"a", 1}});
    check_rejected(with_key(r, "zzz", &nested));
    // "version" moved first: keys out of order, which the strict decoder refuses.
    const std::string tail = "7:versioni1ee";
    REQUIRE(good.ends_with(tail));
    const std::string unsorted = "d7:versioni1e" + good.substr(1, good.size() - 1 - tail.size()) + "e";
    REQUIRE(unsorted.size() == good.size());
    check_rejected(unsorted, "bencode_syntax");
  }
  SUBCASE("garbage never crashes and is never accepted") {
    std::mt19937 rng(7);
    for (int i = 0; i < 2000; ++i) {
      std::string junk(rng() % 200, '\0');
      for (auto& c : junk) c = static_cast<char>(rng());
      check_rejected(junk);
    }
    // Flipping any byte of a good encoding gives an error or other valid data, never a crash.
    for (std::size_t i = 0; i < good.size(); ++i) {
      std::string flipped = good;
      flipped[i] = static_cast<char>(flipped[i] ^ 0x20);
      auto d = decode_resume(flipped);
      if (d.has_value()) CHECK(encode_resume(*d) == flipped);
    }
  }
  SUBCASE("oversized input") {
    check_rejected(std::string(max_resume_size + 1, 'd'), "allowed");
  }
}

TEST_CASE("resume path") {
  const auto ih = hash_of("path");
  CHECK(resume_path("/data/dl", ih) == fs::path("/data/dl/.actorrent") / (ih.hex() + ".resume"));
}

TEST_CASE("write then read a resume file") {
  temp_dir tmp;
  const resume_data r = sample();
  const auto path = resume_path(tmp.path, r.info_hash);
  REQUIRE_FALSE(fs::exists(path.parent_path()));

  REQUIRE_FALSE(write_resume_file(path, r));
  CHECK(fs::is_regular_file(path));
  CHECK_FALSE(fs::exists(fs::path(path.string() + ".tmp")));
  auto back = read_resume_file(path);
  REQUIRE(back.has_value());
  CHECK(*back == r);

  // A second write replaces the first.
  resume_data r2 = r;
  r2.pieces.set_all();
  r2.files.pop_back();
  REQUIRE_FALSE(write_resume_file(path, r2));
  back = read_resume_file(path);
  REQUIRE(back.has_value());
  CHECK(*back == r2);
  CHECK_FALSE(fs::exists(fs::path(path.string() + ".tmp")));

  SUBCASE("a stale temp file is replaced") {
    write_text(fs::path(path.string() + ".tmp"), 100, 'x');
    REQUIRE_FALSE(write_resume_file(path, r));
    back = read_resume_file(path);
    REQUIRE(back.has_value());
    CHECK(*back == r);
    CHECK_FALSE(fs::exists(fs::path(path.string() + ".tmp")));
  }
}

TEST_CASE("a failed write leaves the previous file intact") {
  temp_dir tmp;
  const resume_data old = sample();
  const auto path = resume_path(tmp.path, old.info_hash);
  REQUIRE_FALSE(write_resume_file(path, old));

  // A directory where the temporary file must go makes the write fail.
  const fs::path blocker(path.string() + ".tmp");
  fs::create_directory(blocker);
  resume_data next = old;
  next.pieces.set_all();
  error e = write_resume_file(path, next);
  CHECK(e);
  CHECK(e.message.find(".tmp") != std::string::npos);
  CHECK(fs::is_directory(blocker));  // not ours to remove

  auto back = read_resume_file(path);
  REQUIRE(back.has_value());
  CHECK(*back == old);

  SUBCASE("no file appears when there was none") {
    const auto other = resume_path(tmp.path, hash_of("other"));
    fs::create_directory(fs::path(other.string() + ".tmp"));
    CHECK(write_resume_file(other, old));
    CHECK_FALSE(fs::exists(other));
  }
  SUBCASE("the directory cannot be created") {
    write_text(tmp.path / "file", 1, 'f');
    error e2 = write_resume_file(resume_path(tmp.path / "file", old.info_hash), old);
    CHECK(e2);
    CHECK(e2.message.find("file") != std::string::npos);
  }
}

TEST_CASE("no symlink below the download directory leads the resume file outside it") {
  temp_dir tmp;
  const auto dl = tmp.path / "dl";
  const auto outside = tmp.path / "outside";
  fs::create_directories(dl);
  fs::create_directories(outside);
  const resume_data r = sample();
  const auto path = resume_path(dl, r.info_hash);
  auto refused = [](const result<resume_data>& x) {
    return !x.has_value() && x.err().code == errc::unsafe_path;
  };

  SUBCASE("DIR/.actorrent is a symlink") {
    fs::create_directory_symlink(outside, dl / ".actorrent");
    const error e = write_resume_file(path, r);
    CHECK(e.code == errc::unsafe_path);
    CHECK(e.message.find((dl / ".actorrent").string()) != std::string::npos);
    CHECK(refused(read_resume_file(path)));
    CHECK(remove_resume_file(path).code == errc::unsafe_path);
  }
  SUBCASE("a dangling DIR/.actorrent symlink") {
    fs::create_directory_symlink(outside / "not-yet", dl / ".actorrent");
    CHECK(write_resume_file(path, r).code == errc::unsafe_path);
    CHECK_FALSE(fs::exists(outside / "not-yet"));
  }
  SUBCASE("the resume file and its temporary are symlinks") {
    fs::create_directories(path.parent_path());
    write_text(outside / "victim", 4, 'k');
    fs::create_symlink(outside / "victim", path);
    CHECK(refused(read_resume_file(path)));
    fs::create_symlink(outside / "victim-tmp", fs::path(path.string() + ".tmp"));
    CHECK(write_resume_file(path, r));  // the temporary is refused
    CHECK_FALSE(fs::exists(outside / "victim-tmp"));
    fs::remove(fs::path(path.string() + ".tmp"));
    // The file itself is replaced, the link's target untouched.
    REQUIRE_FALSE(write_resume_file(path, r));
    CHECK_FALSE(fs::is_symlink(path));
    CHECK(read_resume_file(path).has_value());
    REQUIRE_FALSE(remove_resume_file(path));
    CHECK_FALSE(fs::exists(path));
  }
  // Whatever happened, nothing was written outside the download directory.
  for (const auto& e : fs::directory_iterator(outside)) {
    CHECK(e.path().filename() == "victim");
    CHECK(fs::file_size(e.path()) == 4);
  }
}

TEST_CASE("reading a resume file that is missing, corrupt or too large") {
  temp_dir tmp;
  const auto path = resume_path(tmp.path, hash_of("x"));

  auto missing = read_resume_file(path);
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.err().code == errc::io_error);
  CHECK(missing.err().message.find("no resume file") != std::string::npos);

  const std::string good = encode_resume(sample());
  write_text(path, 0, ' ');
  std::ofstream(path, std::ios::binary) << good.substr(0, good.size() / 2);
  auto half = read_resume_file(path);
  REQUIRE_FALSE(half.has_value());
  CHECK(half.err().code == errc::resume_invalid);
  CHECK(half.err().message.find(path.string()) != std::string::npos);

  fs::resize_file(path, max_resume_size + 1);  // sparse: costs no disk
  auto big = read_resume_file(path);
  REQUIRE_FALSE(big.has_value());
  CHECK(big.err().code == errc::resume_invalid);
  CHECK(big.err().message.find("more than") != std::string::npos);

  fs::remove(path);
  fs::create_directory(path);
  auto dir = read_resume_file(path);
  REQUIRE_FALSE(dir.has_value());
  CHECK(dir.err().code != errc::none);
}

TEST_CASE("plan without resume data: full check, skipping missing files") {
  temp_dir tmp;
  const auto l = three_files();
  const auto ih = hash_of("t");
  const result<resume_data> none = read_resume_file(resume_path(tmp.path, ih));
  REQUIRE_FALSE(none.has_value());

  SUBCASE("fresh download: nothing to hash") {
    auto plan = plan_recheck(none, ih, l, stat_now(l, tmp.path));
    CHECK(plan.have.size() == 6);
    CHECK(plan.check.size() == 6);
    CHECK(plan.have.none());
    CHECK(plan.check.none());
    CHECK(plan.reason.find("no resume data") != std::string::npos);
    CHECK(plan.reason.find("full check") != std::string::npos);
  }
  SUBCASE("a and b on disk, c missing") {
    write_text(tmp.path / "t" / "a", 40, 'a');
    write_text(tmp.path / "t" / "b", 24, 'b');
    auto plan = plan_recheck(none, ih, l, stat_now(l, tmp.path));
    CHECK(plan.have.none());
    CHECK(members(plan.check) == std::vector<std::uint32_t>{0, 1, 2, 3});
  }
  SUBCASE("only b on disk: the piece it shares with a is checked") {
    write_text(tmp.path / "t" / "b", 24, 'b');
    write_text(tmp.path / "t" / "c", 0, 'c');  // zero-sized counts as missing
    auto plan = plan_recheck(none, ih, l, stat_now(l, tmp.path));
    CHECK(members(plan.check) == std::vector<std::uint32_t>{2, 3});
  }
  SUBCASE("a status list of the wrong length checks everything") {
    auto plan = plan_recheck(none, ih, l, {});
    CHECK(plan.check.all());
  }
}

TEST_CASE("plan with matching resume data trusts every recorded piece") {
  temp_dir tmp;
  const auto l = three_files();
  const auto ih = hash_of("t");
  write_three(tmp.path);
  const auto path = resume_path(tmp.path, ih);
  REQUIRE_FALSE(write_resume_file(path, snapshot(ih, l, tmp.path, bits(6, {0, 1, 2, 3, 5}))));

  auto plan = plan_recheck(read_resume_file(path), ih, l, stat_now(l, tmp.path));
  CHECK(members(plan.have) == std::vector<std::uint32_t>{0, 1, 2, 3, 5});
  CHECK(plan.check.none());
  CHECK(plan.reason.find("resume data matches") != std::string::npos);
}

TEST_CASE("plan when one file's mtime changed") {
  temp_dir tmp;
  const auto l = three_files();
  const auto ih = hash_of("t");
  write_three(tmp.path);
  // Piece 3 (inside b) was not verified when the resume file was written.
  const auto r = snapshot(ih, l, tmp.path, bits(6, {0, 1, 2, 4, 5}));
  touch_later(tmp.path / "t" / "b");

  auto plan = plan_recheck(r, ih, l, stat_now(l, tmp.path));
  // b's pieces, the boundary piece 2 included, are checked, and so is its
  // unrecorded piece 3: b may hold data verified after the resume file.
  CHECK(members(plan.check) == std::vector<std::uint32_t>{2, 3});
  CHECK(members(plan.have) == std::vector<std::uint32_t>{0, 1, 4, 5});
  CHECK(plan.reason.find("file 1 (t/b) changed") != std::string::npos);
  CHECK(plan.reason.find("2 pieces to check") != std::string::npos);

  SUBCASE("two files changed") {
    touch_later(tmp.path / "t" / "c");
    auto p2 = plan_recheck(r, ih, l, stat_now(l, tmp.path));
    CHECK(members(p2.check) == std::vector<std::uint32_t>{2, 3, 4, 5});
    CHECK(members(p2.have) == std::vector<std::uint32_t>{0, 1});
    CHECK(p2.reason.find("2 files changed") != std::string::npos);
  }
}

TEST_CASE("plan when a file is now missing drops its pieces") {
  temp_dir tmp;
  const auto l = three_files();
  const auto ih = hash_of("t");
  write_three(tmp.path);
  const auto r = snapshot(ih, l, tmp.path, bits(6, {0, 1, 2, 3, 4, 5}));
  fs::remove(tmp.path / "t" / "b");

  auto plan = plan_recheck(r, ih, l, stat_now(l, tmp.path));
  CHECK(members(plan.have) == std::vector<std::uint32_t>{0, 1, 4, 5});
  CHECK(plan.check.none());  // piece 2 needs b's bytes too: it cannot pass
  CHECK(plan.reason.find("file 1 (t/b) missing") != std::string::npos);

  SUBCASE("emptied counts as missing") {
    write_text(tmp.path / "t" / "b", 0, 'b');
    auto p2 = plan_recheck(r, ih, l, stat_now(l, tmp.path));
    CHECK(members(p2.have) == std::vector<std::uint32_t>{0, 1, 4, 5});
    CHECK(p2.check.none());
  }
}

TEST_CASE("plan when a file was truncated") {
  temp_dir tmp;
  const auto l = three_files();
  const auto ih = hash_of("t");
  write_three(tmp.path);
  const auto before = stat_now(l, tmp.path);
  const auto r = resume_data{ih, 6, bits(6, {0, 1, 2, 3, 4, 5}), before};
  const auto mtime = fs::last_write_time(tmp.path / "t" / "a");
  fs::resize_file(tmp.path / "t" / "a", 20);
  // Put the old mtime back, so only the size tells.
  fs::last_write_time(tmp.path / "t" / "a", mtime);
  const auto now = stat_now(l, tmp.path);
  REQUIRE(now[0].mtime_ns == before[0].mtime_ns);
  REQUIRE(now[0].size == 20);

  auto plan = plan_recheck(r, ih, l, now);
  CHECK(members(plan.check) == std::vector<std::uint32_t>{0, 1, 2});
  CHECK(members(plan.have) == std::vector<std::uint32_t>{3, 4, 5});
  CHECK(plan.reason.find("file 0 (t/a) changed") != std::string::npos);
}

TEST_CASE("plan with resume data for something else: full check") {
  temp_dir tmp;
  const auto l = three_files();
  const auto ih = hash_of("t");
  write_text(tmp.path / "t" / "a", 40, 'a');
  write_text(tmp.path / "t" / "b", 24, 'b');
  const auto now = stat_now(l, tmp.path);
  const auto all = bits(6, {0, 1, 2, 3, 4, 5});

  SUBCASE("another info-hash") {
    auto plan = plan_recheck(resume_data{hash_of("other"), 6, all, now}, ih, l, now);
    CHECK(plan.have.none());
    CHECK(members(plan.check) == std::vector<std::uint32_t>{0, 1, 2, 3});
    CHECK(plan.reason.find("another torrent") != std::string::npos);
  }
  SUBCASE("another piece count") {
    auto plan = plan_recheck(resume_data{ih, 7, bitfield(7, true), now}, ih, l, now);
    CHECK(plan.have.none());
    CHECK(members(plan.check) == std::vector<std::uint32_t>{0, 1, 2, 3});
  }
  SUBCASE("another file count") {
    auto fewer = now;
    fewer.pop_back();
    auto plan = plan_recheck(resume_data{ih, 6, all, fewer}, ih, l, now);
    CHECK(plan.have.none());
    CHECK(members(plan.check) == std::vector<std::uint32_t>{0, 1, 2, 3});
  }
  SUBCASE("corrupt data") {
    result<resume_data> bad = decode_resume("garbage");
    REQUIRE_FALSE(bad.has_value());
    auto plan = plan_recheck(bad, ih, l, now);
    CHECK(plan.have.none());
    CHECK(members(plan.check) == std::vector<std::uint32_t>{0, 1, 2, 3});
    CHECK(plan.reason.find("resume_invalid") != std::string::npos);
  }
}

TEST_CASE("plan ignores padding files") {
  temp_dir tmp;
  // Piece length 16: t/a 0..10, pad 10..16, t/b 16..40 (pieces 1, 2).
  const file_layout l({layout_file{{"t", "a"}, 10, false},
                       layout_file{{"t", ".pad", "6"}, 6, true},
                       layout_file{{"t", "b"}, 24, false}},
                      16);
  const auto ih = hash_of("pad");
  write_text(tmp.path / "t" / "a", 10, 'a');
  write_text(tmp.path / "t" / "b", 24, 'b');
  auto recorded = stat_now(l, tmp.path);
  recorded[1] = {-1, 12345};  // whatever was recorded for padding does not matter
  const resume_data r{ih, 3, bits(3, {0, 1, 2}), recorded};

  auto plan = plan_recheck(r, ih, l, stat_now(l, tmp.path));
  CHECK(members(plan.have) == std::vector<std::uint32_t>{0, 1, 2});
  CHECK(plan.check.none());
  CHECK(plan.reason.find("resume data matches") != std::string::npos);

  // Without resume data a piece of padding only would still be checked: it
  // is zeros and passes at once.
  const file_layout all_pad({layout_file{{"t", "a"}, 16, false},
                             layout_file{{"t", ".pad", "16"}, 16, true}},
                            16);
  auto fresh = plan_recheck(decode_resume(""), ih, all_pad, {{-1, 0}, {16, 0}});
  CHECK(members(fresh.check) == std::vector<std::uint32_t>{1});
}

TEST_CASE("plan refuses to trust pieces whose bytes cannot be on disk") {
  temp_dir tmp;
  const auto l = three_files();
  const auto ih = hash_of("t");
  write_text(tmp.path / "t" / "a", 40, 'a');
  // The record says c was missing and still claims its pieces: c is still
  // missing, so nothing changed, but those pieces cannot be there.
  const auto now = stat_now(l, tmp.path);
  REQUIRE(now[2].size == -1);
  auto plan = plan_recheck(resume_data{ih, 6, bits(6, {0, 1, 4, 5}), now}, ih, l, now);
  CHECK(members(plan.have) == std::vector<std::uint32_t>{0, 1});
  CHECK(plan.check.none());
  CHECK(plan.reason.find("beyond the end") != std::string::npos);
}

TEST_CASE("resume data written after real storage writes") {
  temp_dir tmp;
  const auto l = three_files();
  const auto ih = hash_of("t");
  file_storage st(l, tmp.path);
  REQUIRE_FALSE(st.open());
  std::vector<std::uint8_t> piece(16, 0x5a);
  for (std::uint32_t p : {0u, 1u})
    REQUIRE_FALSE(st.write(p, 0, piece));
  REQUIRE_FALSE(st.flush());

  const auto path = resume_path(tmp.path, ih);
  REQUIRE_FALSE(write_resume_file(path, resume_data{ih, 6, bits(6, {0, 1}), st.stat_files()}));
  // The resume file lives under the download directory without disturbing the torrent's files.
  auto plan = plan_recheck(read_resume_file(path), ih, l, st.stat_files());
  CHECK(members(plan.have) == std::vector<std::uint32_t>{0, 1});
  CHECK(plan.check.none());
  CHECK(plan.reason.find("resume data matches") != std::string::npos);

  // Data written to c after the save (then a crash before the next one):
  // c changed, so its pieces are checked although the record never had them.
  REQUIRE_FALSE(st.write(4, 0, piece));
  REQUIRE_FALSE(st.flush());
  auto after = plan_recheck(read_resume_file(path), ih, l, st.stat_files());
  CHECK(members(after.check) == std::vector<std::uint32_t>{4, 5});
  CHECK(members(after.have) == std::vector<std::uint32_t>{0, 1});
  CHECK(after.reason.find("file 2 (t/c) changed") != std::string::npos);
}
