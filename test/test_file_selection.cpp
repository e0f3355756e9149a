// Choosing files: --only/--skip numbers, the options around them, piece
// priorities from file priorities, and the checking line with its bar.
#include <doctest/doctest.h>

#include "cli_options.hpp"
#include "file_indexes.hpp"
#include "file_selection.hpp"
#include "status_line.hpp"

#include <string>
#include <vector>

using namespace actorrent;

namespace {

result<cli::options> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "actorrent");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return cli::parse(static_cast<int>(argv.size()), argv.data());
}

// Files of the given lengths (negative: a padding file of that length), in
// pieces of `piece` bytes.
metainfo make_meta(std::vector<std::int64_t> lengths, std::int64_t piece) {
  metainfo m;
  m.name = std::string(1, 't');
  m.multi_file = true;
  m.piece_length = piece;
  std::int64_t off = 0;
  for (auto len : lengths) {
    file_entry f;
    f.pad = len < 0;
    f.length = len < 0 ? -len : len;
    f.offset = off;
    f.path = {std::to_string(m.files.size())};
    off += f.length;
    m.files.push_back(f);
  }
  m.total_length = off;
  m.piece_hashes.resize(static_cast<std::size_t>((off + piece - 1) / piece));
  return m;
}

} // namespace

TEST_CASE("file numbers: single numbers and ranges, from 1, checked against the file count") {
  auto v = cli::parse_file_indexes("1,3-5", 6);
  REQUIRE(v.has_value());
  CHECK(*v == std::vector<bool>{true, false, true, true, true, false});
  CHECK(*cli::parse_file_indexes("2,2,1-2", 3) == std::vector<bool>{true, true, false});
  CHECK(*cli::parse_file_indexes("3-3", 3) == std::vector<bool>{false, false, true});
  for (const char* bad : {"", "0", "7", "1,", ",1", "1,,2", "a", "1-", "-2", "3-1", "1-7",
                          "1 ,2", "+1", "1-2-3", "99999999999999999999999"}) {
    CAPTURE(bad);
    CHECK_FALSE(cli::parse_file_indexes(bad, 6).has_value());
  }
  CHECK(cli::parse_file_indexes("7", 6).err().message.find("6 files") != std::string::npos);
  CHECK_FALSE(cli::parse_file_indexes(std::string(cli::max_file_index_text + 1, '1'), 6));
}

TEST_CASE("--only and --skip become one priority per file, padding not counted") {
  auto m = make_meta({10, -6, 20, 30, -2, 40}, 16);
  CHECK(data_file_count(m) == 4);
  CHECK(*cli::select_files(m, "", "") == std::vector<std::uint8_t>{1, 1, 1, 1});
  CHECK(*cli::select_files(m, "2-4", "") == std::vector<std::uint8_t>{0, 1, 1, 1});
  CHECK(*cli::select_files(m, "", "1,3") == std::vector<std::uint8_t>{0, 1, 0, 1});
  CHECK(*cli::select_files(m, "1-3", "2") == std::vector<std::uint8_t>{1, 0, 1, 0});
  auto err = cli::select_files(m, "5", "");
  REQUIRE_FALSE(err.has_value());
  CHECK(err.err().message.rfind("--only: ", 0) == 0);
}

TEST_CASE("a piece takes the highest priority of the files it holds bytes of") {
  // Pieces of 16 bytes over files of 10, 20 (padding 6 in between), 30, 40:
  // offsets 0, 16 (after padding), 36, 66; 106 bytes, 7 pieces.
  auto m = make_meta({10, -6, 20, 30, 40}, 16);
  REQUIRE(m.piece_count() == 7);
  // Skip the second file (20 bytes at 16..35): piece 1 holds only it; piece
  // 2 (32..47) straddles it and the third file, so it stays wanted.
  CHECK(piece_priorities(m, {1, 0, 1, 1}) == std::vector<std::uint8_t>{1, 0, 1, 1, 1, 1, 1});
  // Only the last file (66..105): pieces 4..6.
  CHECK(piece_priorities(m, {0, 0, 0, 1}) == std::vector<std::uint8_t>{0, 0, 0, 0, 1, 1, 1});
  // Higher priorities win a shared piece; a short list leaves the rest at 1.
  CHECK(piece_priorities(m, {0, 0, 7}) == std::vector<std::uint8_t>{0, 0, 7, 7, 7, 1, 1});
  // A piece that holds only padding keeps 1 (nothing to skip in it).
  auto pad = make_meta({16, -16, 16}, 16);
  CHECK(piece_priorities(pad, {0, 0}) == std::vector<std::uint8_t>{0, 1, 0});
}

TEST_CASE("the options that choose what to download") {
  auto o = parse({"a.torrent", "--only", "1,3-5", "--skip", "4", "--sequential"});
  REQUIRE(o.has_value());
  CHECK(o->only == "1,3-5");
  CHECK(o->skip == "4");
  CHECK(o->sequential);
  CHECK(o->more_torrents.empty());

  auto several = parse({"a.torrent", "b.torrent", "magnet:?xt=urn:btih:x", "--max-connections", "8"});
  REQUIRE(several.has_value());
  CHECK(several->torrent == "a.torrent");
  CHECK(several->more_torrents == std::vector<std::string>{"b.torrent", "magnet:?xt=urn:btih:x"});
  CHECK(several->max_connections == 8);

  CHECK_FALSE(parse({"a.torrent", "b.torrent", "--only", "1"}).has_value());
  CHECK_FALSE(parse({"show", "a.torrent", "b.torrent"}).has_value());
  CHECK_FALSE(parse({"a.torrent", "--only"}).has_value());
  CHECK_FALSE(parse({"a.torrent", "--max-connections", "-1"}).has_value());
  CHECK_FALSE(parse({"create", "dir", "--sequential"}).has_value());
}

TEST_CASE("checking shows a bar on a terminal, a plain line otherwise") {
  checking_progress c{{}, 32, 96, 30};
  CHECK(cli::format_checking(c) == "checking  33.3% (32 of 96 pieces, 30 present)");
  CHECK(cli::format_checking(c, true) ==
        "checking [##########--------------------]  33.3% (32 of 96 pieces, 30 present)");
}

TEST_CASE("with a file selection the status line counts what it wants") {
  torrent_status st;
  st.progress.bytes_total = 1000 << 20;
  st.progress.bytes_have = 100 << 20;
  st.progress.total_wanted = 200 << 20;
  st.progress.total_wanted_done = 100 << 20;
  st.download_rate = 10 << 20;
  auto line = cli::format_status(st);
  CAPTURE(line);
  CHECK(line.rfind(" 50.0% of 200.0 MiB", 0) == 0);
  CHECK(line.find("ETA 10s") != std::string::npos);
  st.progress.total_wanted = st.progress.bytes_total;  // every file: as before
  CHECK(cli::format_status(st).rfind(" 10.0% ", 0) == 0);
}
