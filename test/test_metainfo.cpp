#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "actorrent/bencode.hpp"
#include "actorrent/metainfo.hpp"

using namespace actorrent;
namespace be = actorrent::bencode;
namespace fs = std::filesystem;

namespace {

fs::path data_dir() {
  const char* root = std::getenv("ACTORRENT_SOURCE_ROOT");
  REQUIRE_MESSAGE(root != nullptr, "ACTORRENT_SOURCE_ROOT is not set (run through meson test)");
  return fs::path(root) / "test" / "data" / "torrents";
}

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// A fresh directory under the system temp dir, removed with everything in it.
class temp_dir {
public:
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "actorrent-metainfo-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const fs::path& path() const { return path_; }

private:
  fs::path path_;
};

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_all(const fs::path& p, std::string_view bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

std::string random_bytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// ---- published vectors -----------------------------------------------------

struct vector_case {
  const char* file;
  const char* name;
  const char* info_hash;
  std::uint32_t pieces;
  std::int64_t piece_length;
  std::int64_t total;
  std::size_t files;
  bool multi;
};

// Info-hashes as listed in test/data/torrents/README.md (transmission-show);
// totals and file counts as reported by libtorrent.
const vector_case vectors[] = {
    {"debian-10.8.0-amd64-netinst.iso.torrent", "debian-10.8.0-amd64-netinst.iso",
     "4090c3c2a394a49974dfbbf2ce7ad0db3cdeddd7", 1344, 256 * 1024, 352321536, 1, false},
    {"debian-9.1.0-amd64-netinst.iso.torrent", "debian-9.1.0-amd64-netinst.iso",
     "fd5fdf21aef4505451861da97aa39000ed852988", 1160, 256 * 1024, 304087040, 1, false},
    {"archlinux-2011.08.19-netinstall-i686.iso.torrent", "archlinux-2011.08.19-netinstall-i686.iso",
     "500f29c0c537f5e41c6af676b7633de9d080d237", 362, 512 * 1024, 189792256, 1, false},
    {"sintel.torrent", "Sintel", "08ada5a7a6183aae1e09d831df6748d566095a10", 987, 128 * 1024,
     129302391, 11, true},
    {"The_WIRED_CD_-_Rip._Sample._Mash._Share.torrent", "The WIRED CD - Rip. Sample. Mash. Share",
     "a88fda5954e89178c372716a6a78b8180ed4dad3", 856, 64 * 1024, 56070710, 18, true},
    {"trackerless.torrent", "testfile.bin", "1dc8b6dbbb81c58b71220e20908245f8f565433f", 1,
     32 * 1024, 1128, 1, false},
    {"bittorrent-v2-hybrid-test.torrent", "bittorrent-v1-v2-hybrid-test",
     "631a31dd0a46257d5078c0dee4e66e26f73e42ac", 1715, 512 * 1024, 898631684, 17, true},
};

// Checks that hold for every valid torrent, whatever made it.
void check_consistent(const metainfo& m) {
  REQUIRE_FALSE(m.files.empty());
  std::int64_t offset = 0;
  for (const auto& f : m.files) {
    CHECK(f.offset == offset);
    CHECK(f.length >= 0);
    offset += f.length;
  }
  CHECK(offset == m.total_length);
  CHECK(m.info_hash == sha1(m.raw_info));
  if (m.piece_count() > 0) {
    std::int64_t sum = 0;
    for (std::uint32_t i = 0; i < m.piece_count(); ++i) sum += m.piece_size(i);
    CHECK(sum == m.total_length);
    CHECK(m.piece_size(m.piece_count() - 1) > 0);
    CHECK(m.piece_size(m.piece_count() - 1) <= m.piece_length);
  }
  CHECK(m.piece_size(m.piece_count()) == 0);
}

} // namespace

TEST_CASE("published torrents: info-hash, name, pieces and sizes") {
  for (const auto& v : vectors) {
    CAPTURE(v.file);
    auto r = load_metainfo(data_dir() / v.file);
    REQUIRE_MESSAGE(r.has_value(), r.err().to_string());
    const metainfo& m = *r;
    CHECK(m.info_hash.hex() == v.info_hash);
    CHECK(m.name == v.name);
    CHECK(m.piece_count() == v.pieces);
    CHECK(m.piece_length == v.piece_length);
    CHECK(m.total_length == v.total);
    CHECK(m.files.size() == v.files);
    CHECK(m.multi_file == v.multi);
    check_consistent(m);
    // The span of the info dict is exactly what was hashed.
    std::string bytes = read_all(data_dir() / v.file);
    CHECK(bytes.find(m.raw_info) != std::string::npos);
    if (!m.multi_file) {
      REQUIRE(m.files.size() == 1);
      CHECK(m.files[0].path == std::vector<std::string>{m.name});
    }
  }
}

TEST_CASE("published torrents: trackers, web seeds and descriptive keys") {
  auto sintel = load_metainfo(data_dir() / "sintel.torrent");
  REQUIRE(sintel.has_value());
  CHECK(sintel->announce_list.size() == 8);
  auto trackers = sintel->trackers();
  REQUIRE(trackers.size() == 8);
  CHECK(trackers[0] == "udp://tracker.leechers-paradise.org:6969");
  CHECK(trackers[7] == "wss://tracker.fastcast.nz");
  CHECK(sintel->url_list == std::vector<std::string>{"https://webtorrent.io/torrents/"});
  CHECK(sintel->comment == "WebTorrent <https://webtorrent.io>");
  CHECK(sintel->creation_date == 1490916637);
  CHECK_FALSE(sintel->is_private);
  CHECK(sintel->files[5].path_string() == "Sintel.mp4");
  CHECK(sintel->files[5].length == 129241752);

  auto debian = load_metainfo(data_dir() / "debian-10.8.0-amd64-netinst.iso.torrent");
  REQUIRE(debian.has_value());
  CHECK(debian->announce_list.empty());
  CHECK(debian->trackers() == std::vector<std::string>{debian->announce});
  CHECK_FALSE(debian->announce.empty());

  auto trackerless = load_metainfo(data_dir() / "trackerless.torrent");
  REQUIRE(trackerless.has_value());
  CHECK(trackerless->trackers().empty());
  CHECK(trackerless->created_by == "Johnny Bravo");
}

TEST_CASE("hybrid v1+v2 torrent parses as v1 with BEP 47 padding files") {
  auto r = load_metainfo(data_dir() / "bittorrent-v2-hybrid-test.torrent");
  REQUIRE_MESSAGE(r.has_value(), r.err().to_string());
  std::size_t pads = 0;
  for (std::size_t i = 0; i < r->files.size(); ++i) {
    const auto& f = r->files[i];
    CAPTURE(f.path_string());
    if (f.pad) {
      ++pads;
      CHECK(f.path[0] == ".pad");
      // Padding exists to start the next file on a piece boundary.
      REQUIRE(i + 1 < r->files.size());
      CHECK(r->files[i + 1].offset % r->piece_length == 0);
    }
  }
  CHECK(pads == 8);
  CHECK_FALSE(r->files.front().pad);
  CHECK(r->files.front().path_string() == "Darkroom (Stellar, 1994, Amiga ECS) HQ.mp4");
  CHECK(r->files.back().path_string() == "tbl-tint.mpg");
}

TEST_CASE("print_metainfo shows what the torrent holds") {
  auto r = load_metainfo(data_dir() / "sintel.torrent");
  REQUIRE(r.has_value());
  std::ostringstream out;
  print_metainfo(out, *r);
  std::string s = out.str();
  CAPTURE(s);
  CHECK(contains(s, "Sintel"));
  CHECK(contains(s, "08ada5a7a6183aae1e09d831df6748d566095a10"));
  CHECK(contains(s, "129302391 bytes"));
  CHECK(contains(s, "123.31 MiB"));
  CHECK(contains(s, "987 x 131072"));
  CHECK(contains(s, "Sintel/Sintel.mp4"));
  CHECK(contains(s, "Private:      no"));
  CHECK(contains(s, "tier 8: wss://tracker.fastcast.nz"));
  CHECK(contains(s, "https://webtorrent.io/torrents/"));
  CHECK(contains(s, "2017-03-30 23:30:37 UTC"));

  auto hybrid = load_metainfo(data_dir() / "bittorrent-v2-hybrid-test.torrent");
  REQUIRE(hybrid.has_value());
  std::ostringstream out2;
  print_metainfo(out2, *hybrid);
  CHECK(contains(out2.str(), "9 (+8 padding)"));
  // Numbered as --only and --skip count them: padding files have no number.
  CHECK(contains(out2.str(), "\n  1  "));
  CHECK(contains(out2.str(), "\n  9  "));
  CHECK_FALSE(contains(out2.str(), "\n  10  "));
  CHECK_FALSE(contains(out2.str(), ".pad/"));
}

// ---- torrents made here by other tools -------------------------------------

namespace {

std::string find_tool(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  std::stringstream ss(dirs);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    fs::path p = fs::path(dir.empty() ? "." : dir) / name;
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  }
  return {};
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

// Runs a shell command under a time bound; returns its exit status and
// stdout (capped, so a runaway tool cannot exhaust memory).
std::pair<int, std::string> run(const std::string& cmd) {
  std::string full = "timeout 60 " + cmd + " 2>&1";
  FILE* p = ::popen(full.c_str(), "r");
  REQUIRE_MESSAGE(p != nullptr, "popen failed for " << cmd);
  std::string out;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0)
    if (out.size() < (1u << 20)) out.append(buf.data(), n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string require_tool(const std::string& name, const std::string& package) {
  std::string p = find_tool(name);
  if (p.empty()) FAIL(name << " not found: apt-get install " << package);
  return p;
}

std::string transmission_show_hash(const fs::path& torrent) {
  std::string tool = require_tool("transmission-show", "transmission-cli");
  auto [rc, out] = run(quote(tool) + " " + quote(torrent.string()));
  REQUIRE_MESSAGE(rc == 0, out);
  std::stringstream ss(out);
  std::string line;
  while (std::getline(ss, line)) {
    auto at = line.find("Hash: ");
    if (at != std::string::npos) return line.substr(at + 6, 40);
  }
  FAIL("no Hash: line in transmission-show output:\n" << out);
  return {};
}

// Files under `root`, relative paths with '/' separators, and their sizes.
std::vector<std::pair<std::string, std::int64_t>> files_on_disk(const fs::path& root) {
  std::vector<std::pair<std::string, std::int64_t>> out;
  for (auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file())
      out.emplace_back(fs::relative(e.path(), root).generic_string(),
                       static_cast<std::int64_t>(e.file_size()));
  return out;
}

// Compares a parsed torrent against the content it was made from: same
// files and lengths, and every piece hash matches the data at its offset.
void check_against_disk(const metainfo& m, const fs::path& content) {
  check_consistent(m);
  std::string data;
  if (!m.multi_file) {
    REQUIRE(m.files.size() == 1);
    CHECK(m.files[0].length == static_cast<std::int64_t>(fs::file_size(content)));
    data = read_all(content);
  } else {
    auto disk = files_on_disk(content);
    std::size_t listed_nonempty = 0;
    for (const auto& f : m.files) {
      CAPTURE(f.path_string());
      REQUIRE(fs::is_regular_file(content / f.path_string()));
      CHECK(f.length == static_cast<std::int64_t>(fs::file_size(content / f.path_string())));
      listed_nonempty += f.length > 0 ? 1 : 0;
      data += read_all(content / f.path_string());
    }
    std::size_t disk_nonempty = 0;
    for (const auto& [p, size] : disk) disk_nonempty += size > 0 ? 1 : 0;
    // Some tools leave empty files out; none may leave out data.
    CHECK(listed_nonempty == disk_nonempty);
  }
  REQUIRE(static_cast<std::int64_t>(data.size()) == m.total_length);
  for (std::uint32_t i = 0; i < m.piece_count(); ++i) {
    auto from = static_cast<std::size_t>(m.piece_length) * i;
    auto piece = std::string_view(data).substr(from, static_cast<std::size_t>(m.piece_size(i)));
    CHECK_MESSAGE(sha1(piece) == m.piece_hashes[i], "piece " << i);
  }
}

void make_content(const fs::path& dir) {
  write_all(dir / "single.bin", random_bytes(100001, 1));
  write_all(dir / "exact.bin", random_bytes(65536, 2)); // two whole 32 KiB pieces
  fs::path tree = dir / "tree";
  write_all(tree / "a.bin", random_bytes(100000, 3));
  write_all(tree / "sub" / "b.txt", random_bytes(1000, 4));
  write_all(tree / "sub" / "empty", "");
  write_all(tree / "sub" / "deeper" / "c", random_bytes(40000, 5));
  write_all(tree / "z", random_bytes(5, 6));
}

void check_made(const fs::path& torrent, const fs::path& content, bool multi) {
  CAPTURE(torrent.string());
  auto r = load_metainfo(torrent);
  REQUIRE_MESSAGE(r.has_value(), r.err().to_string());
  CHECK(r->info_hash.hex() == transmission_show_hash(torrent));
  CHECK(r->name == content.filename().string());
  CHECK(r->multi_file == multi);
  CHECK(r->trackers() == std::vector<std::string>{"http://127.0.0.1:6969/announce"});
  check_against_disk(*r, content);
}

} // namespace

TEST_CASE("torrents made by mktorrent match transmission-show and the content") {
  std::string mk = require_tool("mktorrent", "mktorrent");
  temp_dir tmp;
  make_content(tmp.path());
  for (const char* target : {"single.bin", "exact.bin", "tree"}) {
    fs::path content = tmp.path() / target;
    fs::path out = tmp.path() / (std::string("mk-") + target + ".torrent");
    auto [rc, text] = run(quote(mk) + " -l 15 -a http://127.0.0.1:6969/announce -o " +
                          quote(out.string()) + " " + quote(content.string()));
    REQUIRE_MESSAGE(rc == 0, text);
    check_made(out, content, std::string(target) == "tree");
  }
  auto tree = load_metainfo(tmp.path() / "mk-tree.torrent");
  REQUIRE(tree.has_value());
  CHECK(tree->piece_length == 32768);
  bool has_empty = false;
  for (const auto& f : tree->files) has_empty |= f.path_string() == "sub/empty" && f.length == 0;
  CHECK(has_empty); // mktorrent keeps empty files
}

TEST_CASE("torrents made by transmission-create match transmission-show and the content") {
  std::string tc = require_tool("transmission-create", "transmission-cli");
  temp_dir tmp;
  make_content(tmp.path());
  for (const char* target : {"single.bin", "exact.bin", "tree"}) {
    fs::path content = tmp.path() / target;
    fs::path out = tmp.path() / (std::string("tc-") + target + ".torrent");
    auto [rc, text] = run(quote(tc) + " -s 16 -t http://127.0.0.1:6969/announce -o " +
                          quote(out.string()) + " " + quote(content.string()));
    REQUIRE_MESSAGE(rc == 0, text);
    check_made(out, content, std::string(target) == "tree");
  }
  auto single = load_metainfo(tmp.path() / "tc-single.bin.torrent");
  REQUIRE(single.has_value());
  CHECK(single->piece_length == 16384);
  CHECK(single->piece_count() == 7); // ceil(100001 / 16384)
  CHECK(single->piece_size(6) == 100001 - 6 * 16384);
}

// ---- rejections --------------------------------------------------------------

namespace {

void set(be::dict& d, const std::string& key, be::value v) {
  for (auto& kv : d)
    if (kv.first == key) {
      kv.second = std::move(v);
      return;
    }
  d.emplace_back(key, std::move(v));
}

void remove_key(be::dict& d, const std::string& key) {
  std::erase_if(d, [&](const auto& kv) { return kv.first == key; });
}

std::string hashes(std::size_t n) { return std::string(n * 20, 'h'); }

be::dict single_info() {
  return {{"length", 100}, {"name", "a.bin"}, {"piece length", 64}, {"pieces", hashes(2)}};
}

be::value file(std::vector<std::string> path, std::int64_t length) {
  be::list comps;
  for (auto& c : path) comps.emplace_back(std::move(c));
  return be::dict{{"length", length}, {"path", std::move(comps)}};
}

be::dict multi_info(be::list files, std::int64_t total) {
  std::int64_t pieces = total / 64 + (total % 64 != 0 ? 1 : 0);
  return {{"files", std::move(files)},
          {"name", "dir"},
          {"piece length", 64},
          {"pieces", hashes(static_cast<std::size_t>(pieces))}};
}

std::string torrent(be::value info) {
  return be::encode(be::dict{{"announce", "http://127.0.0.1:6969/announce"}, {"info", std::move(info)}});
}

// Parsing `bytes` must fail with `code` and a message naming `names`; loading
// it from a file must fail the same way and name that file too.
void check_rejected(const std::string& bytes, errc code, std::string_view names) {
  auto r = parse_metainfo(bytes);
  REQUIRE_FALSE(r.has_value());
  CAPTURE(r.err().message);
  CHECK(r.err().code == code);
  CHECK(contains(r.err().message, names));

  temp_dir tmp;
  fs::path p = tmp.path() / "bad.torrent";
  write_all(p, bytes);
  auto loaded = load_metainfo(p);
  REQUIRE_FALSE(loaded.has_value());
  CAPTURE(loaded.err().message);
  CHECK(loaded.err().code == code);
  CHECK(contains(loaded.err().message, p.string()));
  CHECK(contains(loaded.err().message, names));
}

} // namespace

TEST_CASE("a hand-built torrent parses and hashes its info bytes") {
  be::dict info = single_info();
  set(info, "private", 1);
  be::dict top{{"announce", "http://127.0.0.1:6969/announce"},
               {"announce-list", be::list{be::list{"http://t1/a", 7, "http://t2/a"}, "not-a-tier",
                                          be::list{}, be::list{"http://t1/a", "udp://t3:1"}}},
               {"comment", "c"},
               {"created by", "me"},
               {"creation date", 1700000000},
               {"url-list", "http://seed/"},
               {"info", info}};
  auto r = parse_metainfo(be::encode(top));
  REQUIRE_MESSAGE(r.has_value(), r.err().to_string());
  CHECK(r->raw_info == be::encode(info));
  CHECK(r->info_hash == sha1(be::encode(info)));
  CHECK(r->is_private);
  CHECK(r->total_length == 100);
  CHECK(r->piece_count() == 2);
  CHECK(r->piece_size(0) == 64);
  CHECK(r->piece_size(1) == 36);
  CHECK(r->piece_size(2) == 0);
  // Non-string entries and tiers that are not lists are skipped.
  REQUIRE(r->announce_list.size() == 2);
  CHECK(r->announce_list[0] == std::vector<std::string>{"http://t1/a", "http://t2/a"});
  CHECK(r->trackers() == std::vector<std::string>{"http://t1/a", "http://t2/a", "udp://t3:1"});
  CHECK(r->url_list == std::vector<std::string>{"http://seed/"});
  CHECK(r->creation_date == 1700000000);
  CHECK(r->comment == "c");
  CHECK(r->created_by == "me");

  set(top, "url-list", be::list{"http://a/", 3, "http://b/"});
  set(top, "announce-list", 5);
  auto r2 = parse_metainfo(be::encode(top));
  REQUIRE(r2.has_value());
  CHECK(r2->url_list == std::vector<std::string>{"http://a/", "http://b/"});
  CHECK(r2->trackers() == std::vector<std::string>{"http://127.0.0.1:6969/announce"});

  // Web seeds other than http(s) URLs are left out, each with a note.
  set(top, "url-list", be::list{"ftp://a/f", "https://b/", "not a url", "http://c:8080/d/"});
  auto r3 = parse_metainfo(be::encode(top));
  REQUIRE(r3.has_value());
  CHECK(r3->url_list == std::vector<std::string>{"https://b/", "http://c:8080/d/"});
  REQUIRE(r3->warnings.size() == 2);
  CHECK(r3->warnings[0].find("ftp://a/f") != std::string::npos);
  CHECK(r3->warnings[1].find("not a url") != std::string::npos);
  set(top, "url-list", "udp://x:1/");
  auto r4 = parse_metainfo(be::encode(top));
  REQUIRE(r4.has_value());
  CHECK(r4->url_list.empty());
  CHECK(r4->warnings.size() == 1);
}

TEST_CASE("multi-file offsets, empty files and empty torrents") {
  be::list files{file({"x"}, 10), file({"sub", "y"}, 0), file({"sub", "z"}, 200)};
  auto r = parse_metainfo(torrent(multi_info(files, 210)));
  REQUIRE_MESSAGE(r.has_value(), r.err().to_string());
  REQUIRE(r->files.size() == 3);
  CHECK(r->files[1].path_string() == "sub/y");
  CHECK(r->files[1].offset == 10);
  CHECK(r->files[2].offset == 10);
  CHECK(r->total_length == 210);
  CHECK(r->piece_count() == 4);
  CHECK(r->piece_size(3) == 210 - 3 * 64);

  // Nothing to download: refused, as libtorrent refuses it, whether the
  // pieces string is empty or not.
  be::dict empty = single_info();
  set(empty, "length", 0);
  set(empty, "pieces", "");
  check_rejected(torrent(empty), errc::metainfo_invalid, "holds no data");
  set(empty, "pieces", hashes(1));
  check_rejected(torrent(empty), errc::metainfo_invalid, "holds no data");
  be::list only_empty{file({"a"}, 0), file({"sub", "b"}, 0)};
  check_rejected(torrent(multi_info(only_empty, 0)), errc::metainfo_invalid, "holds no data");
}

TEST_CASE("structural rejections") {
  check_rejected(be::encode(be::list{1}), errc::metainfo_invalid, "dictionary");
  check_rejected(be::encode(be::dict{{"announce", "x"}}), errc::metainfo_invalid, "\"info\"");
  check_rejected(torrent(be::list{}), errc::metainfo_invalid, "\"info\" is not a dictionary");
  check_rejected("d4:infod", errc::bencode_syntax, "end of input");
  // Leniency stops at real damage: a repeated key, or nothing but garbage.
  check_rejected("d4:infod4:name1:a4:name1:bee", errc::bencode_syntax, "duplicate dictionary key");
  check_rejected("garbage", errc::bencode_syntax, "byte 0");
}

TEST_CASE("keys out of order are read as other clients read them; the info-hash is over the bytes as they are") {
  const std::string pieces = hashes(2);
  // "name" before "length", and "info" before "announce".
  const std::string info = "d4:name5:a.bin6:lengthi100e12:piece lengthi64e6:pieces40:" + pieces + "e";
  const std::string bytes = "d4:info" + info + "8:announce30:http://127.0.0.1:6969/announcee";
  auto r = parse_metainfo(bytes);
  REQUIRE_MESSAGE(r.has_value(), r.err().to_string());
  CHECK(r->name == "a.bin");
  CHECK(r->total_length == 100);
  CHECK(r->announce == "http://127.0.0.1:6969/announce");
  CHECK(r->raw_info == info);
  CHECK(r->info_hash == sha1(info));
  // Not the hash of a sorted re-encoding, which a client that re-encodes
  // would compute and so find another swarm.
  CHECK(r->info_hash != sha1(be::encode(single_info())));
  CHECK(sha1(be::encode(single_info())) != sha1(info));
  CHECK(r->warnings.empty());
  // The wire stays strict.
  CHECK_FALSE(be::decode(bytes).has_value());
}

TEST_CASE("bytes after the torrent are ignored, with a note") {
  const std::string good = torrent(single_info());
  auto clean = parse_metainfo(good);
  REQUIRE(clean.has_value());
  CHECK(clean->warnings.empty());
  for (const std::string& tail : {std::string("\n"), std::string("garbage"), std::string(1000, '\0'),
                                 std::string("d4:infodee")}) {
    CAPTURE(tail.size());
    auto r = parse_metainfo(good + tail);
    REQUIRE_MESSAGE(r.has_value(), r.err().to_string());
    CHECK(r->info_hash == clean->info_hash);
    REQUIRE(r->warnings.size() == 1);
    CHECK(contains(r->warnings[0], std::to_string(tail.size()) + " bytes after"));
  }
}

TEST_CASE("info rejections name what is wrong") {
  be::dict info = single_info();
  remove_key(info, "name");
  check_rejected(torrent(info), errc::metainfo_invalid, "\"name\"");

  for (std::int64_t bad : {std::int64_t{0}, std::int64_t{-64}, std::int64_t{128} << 20}) {
    CAPTURE(bad);
    info = single_info();
    set(info, "piece length", bad);
    check_rejected(torrent(info), errc::metainfo_invalid, "piece length " + std::to_string(bad));
  }
  info = single_info();
  remove_key(info, "piece length");
  check_rejected(torrent(info), errc::metainfo_invalid, "\"piece length\"");

  info = single_info();
  set(info, "pieces", std::string(39, 'h'));
  check_rejected(torrent(info), errc::metainfo_invalid, "39 bytes, not a multiple of 20");

  info = single_info();
  set(info, "pieces", hashes(3));
  check_rejected(torrent(info), errc::metainfo_invalid, "holds 3 hashes but 100 bytes");

  info = single_info();
  remove_key(info, "pieces");
  check_rejected(torrent(info), errc::metainfo_invalid, "no \"pieces\"");

  info = single_info();
  set(info, "length", -1);
  check_rejected(torrent(info), errc::metainfo_invalid, "single file \"a.bin\" has a negative length");

  info = single_info();
  set(info, "length", "100");
  check_rejected(torrent(info), errc::metainfo_invalid, "\"a.bin\" has a \"length\" that is not an integer");

  info = single_info();
  remove_key(info, "length");
  check_rejected(torrent(info), errc::metainfo_invalid, "\"a.bin\" has no \"length\"");

  info = single_info();
  set(info, "files", be::list{file({"x"}, 100)});
  check_rejected(torrent(info), errc::metainfo_invalid, "both \"length\" and \"files\"");

  check_rejected(torrent(multi_info(be::list{}, 0)), errc::metainfo_invalid, "\"files\" is an empty list");

  be::list neg{file({"ok"}, 10), file({"sub", "neg"}, -5)};
  check_rejected(torrent(multi_info(neg, 10)), errc::metainfo_invalid, "file 1 \"sub/neg\" has a negative length");

  const std::int64_t big = std::numeric_limits<std::int64_t>::max() / 2 + 1;
  be::list huge{file({"a"}, big), file({"b"}, big)};
  check_rejected(torrent(multi_info(huge, 1)), errc::metainfo_invalid, "overflows 64 bits at file 1 \"b\"");

}

TEST_CASE("files with one path are renamed the way libtorrent renames them, inside their directory") {
  be::list files{file({"d", "a.txt"}, 10), file({"d", "a.txt"}, 20), file({"d", "a.txt"}, 5),
                 file({"d", "a.1.txt"}, 7),  file({"x"}, 3),          file({"x", "y"}, 3),
                 file({"noext"}, 1),         file({"noext"}, 1),      file({".hidden"}, 1),
                 file({".hidden"}, 1)};
  auto r = parse_metainfo(torrent(multi_info(files, 52)));
  REQUIRE_MESSAGE(r.has_value(), r.err().to_string());
  std::vector<std::string> paths;
  for (const auto& f : r->files) paths.push_back(f.path_string());
  // What python3-libtorrent 2.0 names these files (checked by hand and by the
  // e2e test of lenient torrents).
  CHECK(paths == std::vector<std::string>{"d/a.txt", "d/a.1.txt", "d/a.2.txt", "d/a.1.1.txt", "x.1",
                                          "x/y", "noext", "noext.1", ".hidden", ".1.hidden"});
  // Lengths and offsets stay with their entries.
  CHECK(r->files[1].length == 20);
  CHECK(r->files[1].offset == 10);
  CHECK(r->files[3].length == 7);
  REQUIRE(r->warnings.size() == 6);
  CHECK(contains(r->warnings[0], "file 1 \"d/a.txt\" renamed to \"d/a.1.txt\""));

  // A hostile torrent of many equal paths costs bounded work and is refused
  // past the bound.
  be::list many;
  for (int i = 0; i < 1002; ++i) many.push_back(file({"same"}, 1));
  check_rejected(torrent(multi_info(many, 1002)), errc::metainfo_invalid, "more than 1000 files have the path \"same\"");
}

TEST_CASE("v2-only torrents are refused with a clear message") {
  be::dict info{{"file tree", be::dict{{"a.bin", be::dict{{"", be::dict{{"length", 100}}}}}}},
                {"meta version", 2},
                {"name", "v2"},
                {"piece length", 65536}};
  check_rejected(torrent(info), errc::metainfo_invalid, "v2-only torrents are not supported");
}

TEST_CASE("every kind of unsafe path is refused and named") {
  struct bad_case {
    std::string component;
    std::string shown; // how the message names the file
  };
  const bad_case cases[] = {
      {"..", "\"ok/..\""},        {".", "\"ok/.\""},     {"", "\"ok/\""},
      {"/abs", "\"ok//abs\""},    {"a/b", "\"ok/a/b\""}, {"a\\b", "\"ok/a\\b\""},
      {std::string("a\0b", 3), "\"ok/a\\x00b\""},
      // Names that open a device instead of a file on some systems.
      {"CON", "\"ok/CON\""},    {"nul.", "\"ok/nul.\""}, {"Aux", "\"ok/Aux\""},
      {"prn ", "\"ok/prn \""}, {"lpt1", "\"ok/lpt1\""}, {"COM9 . ", "\"ok/COM9 . \""},
  };
  for (const auto& c : cases) {
    CAPTURE(c.shown);
    be::list files{file({"fine"}, 10), file({"ok", c.component}, 10)};
    check_rejected(torrent(multi_info(files, 20)), errc::unsafe_path, "file 1 " + c.shown);

    // The same component as the torrent's name (the single file, or the root directory).
    be::dict info = single_info();
    set(info, "name", c.component);
    std::string shown_name = c.shown;
    shown_name.replace(1, 3, ""); // drop "ok/"
    check_rejected(torrent(info), errc::unsafe_path, "torrent name " + shown_name);
  }
  be::list no_path{file({}, 10)};
  check_rejected(torrent(multi_info(no_path, 10)), errc::unsafe_path, "file 0 has an empty path");
  be::list dotdot_first{file({"..", "etc", "passwd"}, 10)};
  check_rejected(torrent(multi_info(dotdot_first, 10)), errc::unsafe_path, "\"../etc/passwd\"");
}

TEST_CASE("names that merely resemble devices are kept") {
  // With an extension they are ordinary files outside Windows (aux.c is in
  // real source trees).
  for (const char* name : {"console", "con1", "com10", "lpt", "a.con", "nul_", "auxiliary.txt", "...",
                           ".con", "aux.c", "Con.mp3", "nul.tar.gz"}) {
    CAPTURE(name);
    be::list files{file({"d", name}, 10)};
    auto r = parse_metainfo(torrent(multi_info(files, 10)));
    REQUIRE(r.has_value());
    CHECK(r->files[0].path_string() == std::string("d/") + name);
  }
}

TEST_CASE("load_metainfo names the file it cannot read") {
  temp_dir tmp;
  fs::path missing = tmp.path() / "missing.torrent";
  auto r = load_metainfo(missing);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.err().code == errc::io_error);
  CHECK(contains(r.err().message, missing.string()));

  auto d = load_metainfo(tmp.path());
  REQUIRE_FALSE(d.has_value());
  CHECK(contains(d.err().message, tmp.path().string()));

  fs::path huge = tmp.path() / "huge.torrent";
  { std::ofstream(huge).put('d'); }
  fs::resize_file(huge, (std::uintmax_t{64} << 20) + 1); // sparse, costs no disk
  auto h = load_metainfo(huge);
  REQUIRE_FALSE(h.has_value());
  CHECK(h.err().code == errc::bencode_limit);
  CHECK(contains(h.err().message, huge.string()));
}
