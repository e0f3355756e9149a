// Command-line parsing for the actorrent executable.
#pragma once

#include "actorrent/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace actorrent::cli {

enum class command { download, seed, show, help, version };

struct options {
  command cmd = command::download;
  std::string torrent;
  std::string dir = ".";
  std::vector<std::string> peers;  // -a HOST:PORT
  std::uint16_t port = 6881;
  std::string bind = "0.0.0.0";
  bool seed = false;
  int seed_time = -1;              // seconds; -1: no limit
  double seed_ratio = -1;          // -1: no limit
  int verbosity = 0;               // -v, -vv
  int stall_timeout = 120;         // seconds
  double endgame_threshold = 1.0;
  int max_peers = 60;
  int threads = 1;                 // CAF scheduler threads
  std::uint64_t max_down = 0;      // bytes per second; 0: unlimited
  std::uint64_t max_up = 0;
};

/// A rate such as "500K", "2M" or "65536" (bytes per second; K, M and G are
/// powers of 1024, as in aria2's options); "0" is unlimited.
result<std::uint64_t> parse_rate(std::string_view text);

/// Parses argv. Errors name the offending argument.
result<options> parse(int argc, char** argv);

/// The text printed by --help.
const char* usage();

} // namespace actorrent::cli
