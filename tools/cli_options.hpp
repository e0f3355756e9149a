// Command-line parsing for the actorrent executable.
#pragma once

#include "actorrent/encryption.hpp"
#include "actorrent/error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace actorrent::cli {

enum class command { download, seed, show, create, help, version };

struct options {
  command cmd = command::download;
  std::string torrent;
  std::string dir = ".";
  std::vector<std::string> peers;  // -a HOST:PORT
  std::uint16_t port = 6881;
  std::string bind = "0.0.0.0";
  encryption_policy encryption = encryption_policy::prefer;  // --encryption
  bool dht = true;                        // --no-dht turns it off
  int dht_port = -1;                      // --dht-port; -1: the same number as --port
  std::vector<std::string> dht_bootstrap; // --dht-bootstrap HOST:PORT
  std::string dht_state;                  // --dht-state FILE; empty: DIR/.actorrent/dht.dat
  bool seed = false;
  int seed_time = -1;              // seconds; -1: no limit
  double seed_ratio = -1;          // -1: no limit
  int verbosity = 0;               // -v, -vv
  int stall_timeout = 120;         // seconds
  double endgame_threshold = 1.0;
  int max_peers = 60;
  int threads = 1;                 // CAF scheduler threads; for create, hashing threads
  bool threads_given = false;

  // create: PATH is `torrent`
  std::string output;                              // -o
  std::vector<std::vector<std::string>> trackers;  // -t URL[,URL]: one tier each
  std::vector<std::string> web_seeds;              // -w
  std::int64_t piece_size = 0;                     // 0: by content size
  bool is_private = false;
  std::string comment;
  std::string source;
  bool date = false;                               // write the creation date
  std::string tracker_ca;          // --tracker-ca FILE: CA certificates for https trackers
  int udp_tracker_timeout = 15000; // ms: the first wait for a UDP tracker's reply
  int udp_tracker_retries = 3;     // retransmissions to a UDP tracker, each waiting twice as long
  bool scrape = false;             // show --scrape: ask each tracker for its counts
  std::int64_t max_metadata_size = 4 << 20;  // bytes, for magnet links
  std::uint64_t max_down = 0;      // bytes per second; 0: unlimited
  std::uint64_t max_up = 0;
  std::uint64_t torrent_max_down = 0;  // each torrent's own, within max_down
  std::uint64_t torrent_max_up = 0;
  int status_port = -1;            // --status-port; -1: no status page, 0: any port
  std::string status_bind = "127.0.0.1";
  std::string status_token;        // empty: none
  std::string only;                // --only 1,3-5: download only these files (1-based)
  std::string skip;                // --skip 2,7: not these
  bool sequential = false;         // pieces in order
  std::vector<std::string> more_torrents;  // torrents after the first, in one session
  int max_connections = 0;         // --max-connections: all torrents together; 0: no limit
};

/// "262144", "256K", "256KiB", "1M", "1MiB" (case-insensitive) in bytes.
std::optional<std::int64_t> parse_size(std::string_view text);

/// A rate such as "500K", "2M" or "65536" (bytes per second; K, M and G are
/// powers of 1024, as in aria2's options); "0" is unlimited.
result<std::uint64_t> parse_rate(std::string_view text);

/// Parses argv. Errors name the offending argument.
result<options> parse(int argc, char** argv);

/// The text printed by --help.
const char* usage();

} // namespace actorrent::cli
