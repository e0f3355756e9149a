#include <doctest/doctest.h>

#include "status_line.hpp"

#include <cmath>
#include <limits>

using namespace actorrent;
using namespace actorrent::cli;

TEST_CASE("durations are rounded for a person") {
  CHECK(format_duration(0.246346) == "0.25 s");
  CHECK(format_duration(0) == "0.00 s");
  CHECK(format_duration(4.46357) == "4.46 s");
  CHECK(format_duration(9.994) == "9.99 s");
  CHECK(format_duration(9.996) == "10.0 s");
  CHECK(format_duration(12.345) == "12.3 s");
  CHECK(format_duration(59.96) == "1m00s");
  CHECK(format_duration(125.4) == "2m05s");
  CHECK(format_duration(3725) == "1h02m");
  // Nonsense in, something sane out.
  CHECK(format_duration(-3) == "0.00 s");
  CHECK(format_duration(std::nan("")) == "0.00 s");
}

TEST_CASE("sizes and rates carry one decimal and never read 1024 of a unit") {
  CHECK(format_bytes(0) == "0 B");
  CHECK(format_bytes(512) == "512 B");
  CHECK(format_bytes(1023) == "1023 B");
  CHECK(format_bytes(1023.7) == "1.0 KiB");
  CHECK(format_bytes(1536) == "1.5 KiB");
  CHECK(format_bytes(259.83 * 1024 * 1024) == "259.8 MiB");
  CHECK(format_bytes(1023.97 * 1024) == "1.0 MiB");
  CHECK(format_bytes(3.0 * 1024 * 1024 * 1024) == "3.0 GiB");
}

TEST_CASE("the status line shows rounded rates, progress and ETA") {
  torrent_status st;
  st.progress.bytes_total = 100 << 20;
  st.progress.bytes_have = 25 << 20;
  st.download_rate = 259.83 * 1024 * 1024;
  st.upload_rate = 1536;
  st.peers_connected = 2;
  st.peers_known = 3;
  CHECK(format_status(st) == " 25.0% 259.8 MiB/s down 1.5 KiB/s up, peers 2/3, ETA 1s");
  st.checking = true;
  st.checked_pieces = 32;
  st.to_check = 96;
  st.progress.pieces_have = 30;
  CHECK(format_status(st) == "checking  33.3% (32 of 96 pieces, 30 present)");
}

TEST_CASE("the hashing line: a bar on a terminal, percent, pieces and rate") {
  create_progress p;
  p.pieces_done = 12;
  p.pieces_total = 30;
  p.bytes_total = 30 << 20;
  CHECK(format_hashing(p, 1.0, false) == "hashing  40.0% (12 of 30 pieces, 12.0 MiB/s)");
  CHECK(format_hashing(p, 1.0, true) ==
        "hashing [############------------------]  40.0% (12 of 30 pieces, 12.0 MiB/s)");
  p.pieces_done = 30;
  p.bytes_total = (29 << 20) + 5;  // a short last piece: never above the total
  CHECK(format_hashing(p, 0, true) ==
        "hashing [##############################] 100.0% (30 of 30 pieces, 0 B/s)");
}
