#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <csignal>
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "file_storage.hpp"
#include "temp_dir.hpp"
#include "memory_storage.hpp"

using namespace actorrent;
namespace fs = std::filesystem;

namespace {

// Each test's scratch directory.
struct temp_dir : testing::temp_dir {
  temp_dir() : testing::temp_dir("actorrent-storage") {}
};

// piece length 16, total 40 (pieces of 16, 16, 8):
//   t/a 0..10, t/b empty, t/.pad/0 10..16 (padding), t/sub/c 16..37, t/d 37..40
file_layout sample_layout() {
  return file_layout({layout_file{{"t", "a"}, 10, false},
                      layout_file{{"t", "b"}, 0, false},
                      layout_file{{"t", ".pad", "0"}, 6, true},
                      layout_file{{"t", "sub", "c"}, 21, false},
                      layout_file{{"t", "d"}, 3, false}},
                     16);
}

std::vector<std::uint8_t> random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(1 + rng() % 255);  // never zero
  return out;
}

std::vector<std::uint8_t> slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string numbered(std::string prefix, int i) {
  prefix += std::to_string(i);
  return prefix;
}

struct block {
  std::uint32_t piece;
  std::int64_t offset;
  std::int64_t length;
};

// Blocks of 5 bytes (shorter at each piece's end), so many straddle files.
std::vector<block> blocks_of(const file_layout& l, unsigned shuffle_seed) {
  std::vector<block> out;
  for (std::uint32_t p = 0; p < l.num_pieces(); ++p)
    for (std::int64_t o = 0; o < l.piece_size(p); o += 5)
      out.push_back(block{p, o, std::min<std::int64_t>(5, l.piece_size(p) - o)});
  std::mt19937 rng(shuffle_seed);
  std::shuffle(out.begin(), out.end(), rng);
  return out;
}

std::span<const std::uint8_t> at(const std::vector<std::uint8_t>& v, const file_layout& l, const block& b) {
  return std::span<const std::uint8_t>(v).subspan(
    static_cast<std::size_t>(b.piece * l.piece_length() + b.offset), static_cast<std::size_t>(b.length));
}

// What every storage must do, seen through the interface. `data` is the
// torrent content; padding must come back as zeros whatever was written.
void exercise(storage& st) {
  const auto& l = st.layout();
  REQUIRE_FALSE(st.open());

  auto status = st.stat_files();
  REQUIRE(status.size() == 5);
  CHECK(status[0].size == -1);
  CHECK(status[1].size == 0);  // zero-length files exist after open()
  CHECK(status[2].size == 6);  // padding reports its length
  CHECK(status[3].size == -1);

  std::vector<std::uint8_t> zeros(16, 0), buf(16, 0xee);
  CHECK_FALSE(st.read(0, 0, buf));
  CHECK(buf == zeros);

  const auto data = random_bytes(static_cast<std::size_t>(l.total_length()), 1);
  auto expected = data;
  std::fill(expected.begin() + 10, expected.begin() + 16, 0);

  for (const auto& b : blocks_of(l, 2)) CHECK_FALSE(st.write(b.piece, b.offset, at(data, l, b)));
  CHECK_FALSE(st.flush());

  for (std::uint32_t p = 0; p < l.num_pieces(); ++p) {
    std::vector<std::uint8_t> piece(static_cast<std::size_t>(l.piece_size(p)));
    REQUIRE_FALSE(st.read(p, 0, piece));
    const auto from = expected.begin() + static_cast<std::ptrdiff_t>(p * l.piece_length());
    CHECK(std::equal(piece.begin(), piece.end(), from));
  }
  // Reads in other shapes than the writes.
  for (const auto& b : blocks_of(l, 3)) {
    std::vector<std::uint8_t> out(static_cast<std::size_t>(b.length));
    REQUIRE_FALSE(st.read(b.piece, b.offset, out));
    CHECK(std::equal(out.begin(), out.end(), at(expected, l, b).begin()));
  }

  status = st.stat_files();
  CHECK(status[0].size == 10);
  CHECK(status[1].size == 0);
  CHECK(status[3].size == 21);
  CHECK(status[4].size == 3);

  std::vector<std::uint8_t> one(1);
  CHECK(st.write(3, 0, one).code == errc::invalid_argument);
  CHECK(st.write(2, 8, one).code == errc::invalid_argument);
  CHECK(st.write(0, 10, std::vector<std::uint8_t>(7)).code == errc::invalid_argument);
  std::vector<std::uint8_t> two(2);
  CHECK(st.read(2, 7, two).code == errc::invalid_argument);
  CHECK(st.read(0, -1, one).code == errc::invalid_argument);
}

// Runs fn in a child process and returns what it wrote to the pipe, waiting
// at most 10 s.
template <class Fn>
std::string in_child(Fn fn) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    const std::string out = fn();
    ssize_t ignored = ::write(fds[1], out.data(), out.size());
    (void)ignored;
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string out;
  char buf[512];
  for (;;) {
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0) {
      ::kill(pid, SIGKILL);
      break;
    }
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return out;
}

} // namespace

TEST_CASE("file_storage: out-of-order writes across files read back and land on disk exactly") {
  temp_dir tmp;
  const auto dl = tmp.path / "dl";
  file_storage st(sample_layout(), dl);
  CHECK(st.write(0, 0, std::vector<std::uint8_t>(4)).code == errc::invalid_argument);  // not open
  exercise(st);

  const auto data = random_bytes(40, 1);
  CHECK(slurp(dl / "t" / "a") == std::vector<std::uint8_t>(data.begin(), data.begin() + 10));
  CHECK(slurp(dl / "t" / "sub" / "c") == std::vector<std::uint8_t>(data.begin() + 16, data.begin() + 37));
  CHECK(slurp(dl / "t" / "d") == std::vector<std::uint8_t>(data.begin() + 37, data.end()));
  CHECK(fs::is_regular_file(dl / "t" / "b"));
  CHECK(fs::file_size(dl / "t" / "b") == 0);
  CHECK_FALSE(fs::exists(dl / "t" / ".pad"));
  CHECK(st.file_path(3) == dl / "t" / "sub" / "c");

  auto status = st.stat_files();
  CHECK(status[0].mtime_ns > 0);
}

TEST_CASE("file_storage: files appear lazily, at full size, sparse") {
  temp_dir tmp;
  const auto dl = tmp.path / "dl";
  file_storage st(sample_layout(), dl);
  REQUIRE_FALSE(st.open());
  CHECK(fs::is_directory(dl / "t" / "sub"));
  CHECK_FALSE(fs::exists(dl / "t" / "a"));
  CHECK_FALSE(fs::exists(dl / "t" / "sub" / "c"));
  CHECK(fs::exists(dl / "t" / "b"));

  const std::vector<std::uint8_t> tail{7, 8, 9};
  REQUIRE_FALSE(st.write(2, 2, tail));  // the last 3 bytes of c
  CHECK(fs::file_size(dl / "t" / "sub" / "c") == 21);
  CHECK_FALSE(fs::exists(dl / "t" / "d"));
  CHECK_FALSE(fs::exists(dl / "t" / "a"));

  std::vector<std::uint8_t> out(8, 0xee);
  REQUIRE_FALSE(st.read(2, 0, out));
  CHECK(out == std::vector<std::uint8_t>{0, 0, 7, 8, 9, 0, 0, 0});
}

TEST_CASE("file_storage: a second open keeps data; short files read as zeros past their end") {
  temp_dir tmp;
  const auto dl = tmp.path / "dl";
  fs::create_directories(dl / "t");
  const std::vector<std::uint8_t> x{'X', 'Y'};
  {
    std::ofstream a(dl / "t" / "a", std::ios::binary);
    a << "abcd";  // an earlier, partial run
    std::ofstream d(dl / "t" / "d", std::ios::binary);
    d << "0123456789";  // longer than the layout says: left alone
  }
  {
    file_storage st(sample_layout(), dl);
    REQUIRE_FALSE(st.open());
    CHECK(fs::file_size(dl / "t" / "a") == 4);
    std::vector<std::uint8_t> out(10, 0xee);
    REQUIRE_FALSE(st.read(0, 0, out));
    CHECK(out == std::vector<std::uint8_t>{'a', 'b', 'c', 'd', 0, 0, 0, 0, 0, 0});

    REQUIRE_FALSE(st.write(0, 8, x));
    REQUIRE_FALSE(st.write(2, 1, x));  // inside c
    REQUIRE_FALSE(st.flush());
  }
  CHECK(slurp(dl / "t" / "a") == std::vector<std::uint8_t>{'a', 'b', 'c', 'd', 0, 0, 0, 0, 'X', 'Y'});
  CHECK(slurp(dl / "t" / "d") == std::vector<std::uint8_t>{'0', '1', '2', '3', '4', '5', '6', '7', '8', '9'});
  const auto c_before = slurp(dl / "t" / "sub" / "c");
  REQUIRE(c_before.size() == 21);
  CHECK(c_before[17] == 'X');
  CHECK(c_before[18] == 'Y');

  file_storage again(sample_layout(), dl);
  REQUIRE_FALSE(again.open());
  REQUIRE_FALSE(again.open());  // twice on one instance is harmless too
  CHECK(slurp(dl / "t" / "a") == std::vector<std::uint8_t>{'a', 'b', 'c', 'd', 0, 0, 0, 0, 'X', 'Y'});
  CHECK(slurp(dl / "t" / "sub" / "c") == c_before);
  std::vector<std::uint8_t> out(2);
  REQUIRE_FALSE(again.read(0, 8, out));
  CHECK(out == x);
}

TEST_CASE("file_storage: unsafe paths are refused before anything is created") {
  temp_dir tmp;
  const auto dl = tmp.path / "dl";
  file_layout bad({layout_file{{"t", "ok"}, 0, false}, layout_file{{"t", "..", "..", "evil"}, 4, false}}, 16);
  file_storage st(bad, dl);
  const auto e = st.open();
  CHECK(e.code == errc::unsafe_path);
  CHECK(e.message.find("file 1") != std::string::npos);
  CHECK_FALSE(fs::exists(dl));
  CHECK(st.write(0, 0, std::vector<std::uint8_t>(4)).code == errc::unsafe_path);
  CHECK_FALSE(fs::exists(tmp.path / "evil"));
}

TEST_CASE("file_storage: symlinks inside the download directory are not followed") {
  temp_dir tmp;
  const auto dl = tmp.path / "dl";
  const auto outside = tmp.path / "outside";
  fs::create_directories(outside);
  fs::create_directories(dl);

  SUBCASE("a directory symlink") {
    fs::create_directory_symlink(outside, dl / "t");
    file_storage st(sample_layout(), dl);
    const auto e = st.open();
    CHECK(e.code == errc::unsafe_path);
    CHECK(e.message.find("symlink " + (dl / "t").string() + " on the way to") != std::string::npos);
    CHECK(st.write(0, 0, std::vector<std::uint8_t>(4, 1)));
  }
  SUBCASE("a symlink deeper down, to a directory outside") {
    fs::create_directories(dl / "t");
    fs::create_directory_symlink(outside, dl / "t" / "sub");
    file_storage st(sample_layout(), dl);
    const auto e = st.open();
    CHECK(e.code == errc::unsafe_path);
    CHECK(e.message.find((dl / "t" / "sub").string()) != std::string::npos);
  }
  SUBCASE("a dangling symlink where a file belongs") {
    fs::create_directories(dl / "t");
    fs::create_symlink(outside / "created-through-link", dl / "t" / "a");
    file_storage st(sample_layout(), dl);
    const auto e = st.open();
    CHECK(e.code == errc::unsafe_path);
    CHECK(e.message.find((dl / "t" / "a").string()) != std::string::npos);
  }
  SUBCASE("a dangling symlink where a directory belongs") {
    fs::create_directories(dl / "t");
    fs::create_directory_symlink(outside / "made-through-link", dl / "t" / "sub");
    file_storage st(sample_layout(), dl);
    CHECK(st.open().code == errc::unsafe_path);
  }
  SUBCASE("stat_files does not look through a symlink") {
    file_storage st(sample_layout(), dl);
    REQUIRE_FALSE(st.open());
    fs::remove_all(dl / "t" / "sub");
    fs::create_directories(outside / "real");
    { std::ofstream c(outside / "real" / "c"); c << std::string(21, 'x'); }
    fs::create_directory_symlink(outside / "real", dl / "t" / "sub");
    CHECK(st.stat_files()[3].size == -1);  // as if missing
    std::vector<std::uint8_t> buf(16);
    CHECK(st.read(1, 0, buf).code == errc::unsafe_path);
    fs::remove_all(outside / "real");
  }
  SUBCASE("deleting the files never goes through a symlink") {
    file_storage st(sample_layout(), dl);
    REQUIRE_FALSE(st.open());
    REQUIRE_FALSE(st.write(0, 0, std::vector<std::uint8_t>(16, 1)));
    { std::ofstream victim(outside / "victim"); victim << "keep"; }
    fs::remove_all(dl / "t" / "sub");
    fs::create_directory_symlink(outside, dl / "t" / "sub");  // t/sub/c would be outside/c
    { std::ofstream c(outside / "c"); c << "keep"; }
    const auto e = st.remove_files();
    CHECK(e.code == errc::unsafe_path);
    CHECK_FALSE(fs::exists(dl / "t" / "a"));
    CHECK(slurp(outside / "c") == std::vector<std::uint8_t>{'k', 'e', 'e', 'p'});
    fs::remove(outside / "c");
  }
  SUBCASE("a file symlink") {
    fs::create_directories(dl / "t");
    { std::ofstream victim(outside / "victim"); victim << "keep"; }
    fs::create_symlink(outside / "victim", dl / "t" / "a");
    file_storage st(sample_layout(), dl);
    CHECK(st.open().code == errc::unsafe_path);
  }
  SUBCASE("a symlink planted after open()") {
    file_storage st(sample_layout(), dl);
    REQUIRE_FALSE(st.open());
    { std::ofstream victim(outside / "victim"); victim << "keep"; }
    fs::create_symlink(outside / "victim", dl / "t" / "d");
    CHECK(st.write(2, 5, std::vector<std::uint8_t>{1, 2, 3}).code == errc::unsafe_path);
  }
  CHECK((fs::is_empty(outside) || slurp(outside / "victim") == std::vector<std::uint8_t>{'k', 'e', 'e', 'p'}));
  CHECK(std::distance(fs::directory_iterator(outside), fs::directory_iterator()) <= 1);
}

TEST_CASE("file_storage: a path through a regular file fails with io_error naming it") {
  temp_dir tmp;
  const auto dl = tmp.path / "dl";
  fs::create_directories(dl / "t");
  { std::ofstream blocker(dl / "t" / "sub"); blocker << "not a directory"; }
  file_storage st(sample_layout(), dl);
  const auto e = st.open();
  CHECK(e.code == errc::io_error);
  CHECK(e.message.find((dl / "t" / "sub" / "c").string()) != std::string::npos);
  CHECK(e.message.find("Not a directory") != std::string::npos);
}

TEST_CASE("file_storage: a directory the process may not write gives errc::permission") {
  if (::geteuid() == 0) {
    MESSAGE("running as root, which ignores directory modes: permission case skipped");
    return;
  }
  temp_dir tmp;
  const auto dl = tmp.path / "dl";
  fs::create_directories(dl);
  fs::permissions(dl, fs::perms::owner_read | fs::perms::owner_exec);
  file_storage st(sample_layout(), dl);
  const auto e = st.open();
  CHECK(e.code == errc::permission);
  CHECK(e.message.find(dl.string()) != std::string::npos);
}

TEST_CASE("file_storage: exceeding the file size limit is a full disk naming the file") {
  temp_dir tmp;
  const auto dl = tmp.path / "dl";
  const file_layout l({layout_file{{"big"}, 8192, false}}, 4096);
  const auto under_limit = [&](std::uint32_t piece) {
    return in_child([&] {
      std::signal(SIGXFSZ, SIG_IGN);
      rlimit lim{4096, 4096};
      if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) return std::string("setrlimit failed");
      file_storage st(l, dl);
      if (auto e = st.open()) return "open: " + e.to_string();
      return st.write(piece, 0, std::vector<std::uint8_t>(4096, 1)).to_string();
    });
  };

  SUBCASE("when sizing a new file") {
    const auto out = under_limit(0);
    INFO(out);
    CHECK(out.rfind("disk_full: ", 0) == 0);
    CHECK(out.find((dl / "big").string()) != std::string::npos);
  }
  SUBCASE("when writing past the limit into a file already sized") {
    fs::create_directories(dl);
    { std::ofstream f(dl / "big"); }
    fs::resize_file(dl / "big", 8192);
    const auto out = under_limit(1);
    INFO(out);
    CHECK(out.rfind("disk_full: ", 0) == 0);
    CHECK(out.find((dl / "big").string()) != std::string::npos);
    CHECK(out.find("File too large") != std::string::npos);
    // Within the limit the same write works.
    CHECK(under_limit(0) == "none");
  }
}

TEST_CASE("file_storage: keeps at most max_open_files descriptors") {
  temp_dir tmp;
  std::vector<layout_file> files;
  for (int i = 0; i < 9; ++i) files.push_back(layout_file{{"m", numbered("f", i)}, 7, false});
  const file_layout l(files, 8);
  file_storage st(l, tmp.path, 3);
  REQUIRE_FALSE(st.open());
  CHECK(st.open_file_count() == 0);
  const auto data = random_bytes(static_cast<std::size_t>(l.total_length()), 5);
  for (const auto& b : blocks_of(l, 6)) {
    REQUIRE_FALSE(st.write(b.piece, b.offset, at(data, l, b)));
    CHECK(st.open_file_count() <= 3);
  }
  // Evicted files were synced on close; the flush covers the rest.
  CHECK_FALSE(st.flush());
  std::vector<std::uint8_t> all;
  for (std::uint32_t p = 0; p < l.num_pieces(); ++p) {
    std::vector<std::uint8_t> piece(static_cast<std::size_t>(l.piece_size(p)));
    REQUIRE_FALSE(st.read(p, 0, piece));
    all.insert(all.end(), piece.begin(), piece.end());
  }
  CHECK(all == data);
  for (int i = 0; i < 9; ++i)
    CHECK(slurp(tmp.path / "m" / (numbered("f", i))) ==
          std::vector<std::uint8_t>(data.begin() + 7 * i, data.begin() + 7 * i + 7));
}

TEST_CASE("memory_storage: same behaviour as files") {
  memory_storage st(sample_layout());
  CHECK(st.write(0, 0, std::vector<std::uint8_t>(4)).code == errc::invalid_argument);  // not open
  exercise(st);
  auto expected = random_bytes(40, 1);
  std::fill(expected.begin() + 10, expected.begin() + 16, 0);
  CHECK(std::equal(st.data().begin(), st.data().end(), expected.begin(), expected.end()));
  CHECK(st.bytes_written() == 34);  // padding bytes are not stored
  CHECK(st.flush_count() == 1);
}

TEST_CASE("memory_storage: write advances the modification time of the files it touches") {
  memory_storage st(sample_layout());
  REQUIRE_FALSE(st.open());
  REQUIRE_FALSE(st.write(0, 0, std::vector<std::uint8_t>(4, 1)));
  const auto before = st.stat_files();
  REQUIRE_FALSE(st.write(1, 0, std::vector<std::uint8_t>(4, 1)));
  const auto after = st.stat_files();
  CHECK(after[0] == before[0]);
  CHECK(after[3].mtime_ns > before[0].mtime_ns);
  CHECK(before[3].size == -1);
  CHECK(after[3].size == 21);
}

TEST_CASE("memory_storage: fail_writes_after simulates a full disk") {
  memory_storage st(sample_layout());
  REQUIRE_FALSE(st.open());
  st.fail_writes_after(20, errc::disk_full);
  const auto data = random_bytes(40, 9);
  REQUIRE_FALSE(st.write(1, 0, std::span<const std::uint8_t>(data).subspan(16, 16)));
  // 4 bytes of budget left; 10 bytes of a and 6 of padding: 10 would be stored.
  const auto e = st.write(0, 0, std::span<const std::uint8_t>(data).first(16));
  CHECK(e.code == errc::disk_full);
  CHECK(e.message.find("t/a") != std::string::npos);
  std::vector<std::uint8_t> out(10, 0xee);
  REQUIRE_FALSE(st.read(0, 0, out));
  CHECK(out == std::vector<std::uint8_t>(10, 0));  // nothing of the failed write landed
  CHECK(st.stat_files()[0].size == -1);
  REQUIRE_FALSE(st.write(2, 5, std::span<const std::uint8_t>(data).subspan(37, 3)));  // fits
  CHECK(st.write(2, 4, std::span<const std::uint8_t>(data).subspan(36, 2)).code == errc::disk_full);
  CHECK(st.bytes_written() == 19);

  st.clear_faults();
  CHECK_FALSE(st.write(0, 0, std::span<const std::uint8_t>(data).first(16)));
  REQUIRE_FALSE(st.read(0, 0, out));
  CHECK(std::equal(out.begin(), out.end(), data.begin()));
}

TEST_CASE("memory_storage: read and flush faults") {
  memory_storage st(sample_layout());
  REQUIRE_FALSE(st.open());
  st.fail_reads_after(8, errc::io_error);
  std::vector<std::uint8_t> out(8);
  CHECK_FALSE(st.read(0, 0, out));
  CHECK(st.read(0, 0, out).code == errc::io_error);
  st.fail_flush(errc::io_error);
  CHECK(st.flush().code == errc::io_error);
  st.clear_faults();
  CHECK_FALSE(st.read(0, 0, out));
  CHECK_FALSE(st.flush());
}

TEST_CASE("memory_storage: refuses unsafe paths and layouts over its memory bound") {
  memory_storage bad(file_layout({layout_file{{".."}, 4, false}}, 16));
  CHECK(bad.open().code == errc::unsafe_path);
  memory_storage huge(file_layout({layout_file{{"x"}, std::int64_t{1} << 40, false}}, 1 << 20), 1 << 20);
  CHECK(huge.open().code == errc::invalid_argument);
}
