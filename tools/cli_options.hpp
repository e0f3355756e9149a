// Command-line parsing for the actorrent executable.
#pragma once

#include "actorrent/error.hpp"

#include <cstdint>
#include <string>
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
  int status_port = -1;            // --status-port; -1: no status page, 0: any port
  std::string status_bind = "127.0.0.1";
  std::string status_token;        // empty: none
};

/// Parses argv. Errors name the offending argument.
result<options> parse(int argc, char** argv);

/// The text printed by --help.
const char* usage();

} // namespace actorrent::cli
