#include "cli_options.hpp"

#include <cctype>
#include <algorithm>
#include <charconv>
#include <limits>
#include <cstdlib>
#include <string_view>

namespace actorrent::cli {

namespace {

template <class T>
bool parse_number(std::string_view text, T& out) {
  auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc{} && ptr == end;
}

std::vector<std::string> split_commas(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    auto comma = text.find(',', start);
    out.emplace_back(text.substr(start, comma - start));
    if (comma == std::string_view::npos) return out;
    start = comma + 1;
  }
}

bool is_power_of_two(std::int64_t n) { return n > 0 && (n & (n - 1)) == 0; }

} // namespace

std::optional<std::int64_t> parse_size(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  std::int64_t n = 0;
  if (digits == 0 || !parse_number(text.substr(0, digits), n)) return std::nullopt;
  std::string unit;
  for (char c : text.substr(digits)) unit.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  int shift = 0;
  if (unit.empty() || unit == "b")
    shift = 0;
  else if (unit == "k" || unit == "kib")
    shift = 10;
  else if (unit == "m" || unit == "mib")
    shift = 20;
  else
    return std::nullopt;
  if (n > (std::numeric_limits<std::int64_t>::max() >> shift)) return std::nullopt;
  return n << shift;
}

const char* usage() {
  return "usage: actorrent TORRENT|MAGNET... [-d DIR] [-a HOST:PORT]... [-p PORT] [--seed] [-v]\n"
         "       actorrent seed TORRENT [-d DIR] [options]\n"
         "       actorrent show [--scrape] TORRENT|MAGNET\n"
         "       actorrent create PATH [-o FILE.torrent] [-t URL]... [-w URL]... [options]\n"
         "\n"
         "Downloads TORRENT into DIR (default: the current directory) from the peers its\n"
         "trackers (http, https, udp) name and from the peers given with -a, then exits. What DIR\n"
         "already holds is checked first, so an interrupted download continues.\n"
         "A magnet link ('magnet:?xt=urn:btih:...') is fetched from its peers (x.pe),\n"
         "its trackers (tr) and -a peers first, and saved as DIR/.actorrent/HASH.torrent,\n"
         "which later runs with the same link use; its web seeds (ws) then serve data\n"
         "like the torrent's own (url-list).\n"
         "Several torrents and links download in one process, each with its status\n"
         "line; it exits when all are done or given up, with the worst exit status.\n"
         "`seed` serves the data in DIR (downloading what is missing first).\n"
         "`show` describes TORRENT; with --scrape it also asks each of its trackers how\n"
         "many seeders and leechers it has and how often it was downloaded.\n"
         "\n"
         "  -d, --dir DIR             download directory\n"
         "  -a, --peer HOST:PORT      connect to this peer as well (repeatable); with -a the\n"
         "                            download runs even when no tracker answers\n"
         "  -p, --port PORT           port to listen on and announce (default 6881; 0: any)\n"
         "      --bind ADDRESS        address to listen on (default 0.0.0.0)\n"
         "      --encryption MODE     peer connections encrypted (MSE/PE, RC4) or not:\n"
         "                            prefer (default: both accepted; outgoing tries\n"
         "                            plaintext, then encrypted if the peer hangs up),\n"
         "                            require (encrypted only), off (plaintext only)\n"
         "      --no-dht              do not use the DHT (BEP 5) to find peers\n"
         "      --dht-port PORT       UDP port of the DHT (default: the --port number; 0: any)\n"
         "      --dht-bootstrap HOST:PORT\n"
         "                            join the DHT through this node (repeatable); without\n"
         "                            one, and without nodes saved by an earlier run, the\n"
         "                            well-known public DHT routers are used (see README)\n"
         "      --dht-state FILE      where the DHT's node id and good nodes are kept across\n"
         "                            runs (default DIR/.actorrent/dht.dat)\n"
         "      --seed                keep seeding after the download completes\n"
         "      --seed-time SEC       stop seeding after SEC seconds\n"
         "      --seed-ratio R        stop seeding once R x the torrent's size was uploaded\n"
         "      --stall-timeout SEC   give up when no data arrived for SEC seconds (default 120)\n"
         "      --endgame-threshold F start end-game once this fraction of pieces is verified\n"
         "                            (default 1.0: when every missing block is requested)\n"
         "      --max-peers N         connection limit (default 60)\n"
         "      --max-connections N   connections of all torrents together, shared fairly\n"
         "                            among those downloading (default 0: no limit)\n"
         "      --only LIST           download only these files, numbered as `show` lists\n"
         "                            them: e.g. 1,3-5 (pieces shared with other files\n"
         "                            write their bytes there too); for a magnet link\n"
         "                            the choice is applied when its metadata arrives\n"
         "      --skip LIST           do not download these files (the same numbering)\n"
         "      --sequential          download pieces in order (for playing while it\n"
         "                            downloads); the default is rarest first\n"
         "      --tracker-ca FILE     trust the CA certificates in FILE (PEM) for https\n"
         "                            trackers, besides the system's\n"
         "      --max-down RATE       download limit in bytes per second, K/M/G for KiB/MiB/GiB\n"
         "                            (e.g. 2M; default 0: unlimited)\n"
         "      --max-up RATE         upload limit, the same way\n"
         "      --torrent-max-down RATE\n"
         "                            each torrent's own download limit (within --max-down,\n"
         "                            which all of them share)\n"
         "      --torrent-max-up RATE each torrent's own upload limit\n"
         "      --threads N           actor scheduler threads (default 1; sockets and disk\n"
         "                            have threads of their own)\n"
         "      --udp-tracker-timeout MS\n"
         "                            first wait for a udp:// tracker's reply (default\n"
         "                            15000); each retry waits twice as long\n"
         "      --udp-tracker-retries N\n"
         "                            retries before a udp:// tracker counts as down\n"
         "                            (default 3, at most 8)\n"
         "      --max-metadata-size N refuse a magnet link's metadata over N bytes\n"
         "                            (default 4194304)\n"
         "      --status-port PORT    serve a status page (HTML at /, JSON at /api/torrents)\n"
         "                            on PORT (0: any free port; the URL is printed)\n"
         "      --status-bind ADDRESS address of the status page (default 127.0.0.1)\n"
         "      --status-token TOKEN  pause/resume/recheck through the page need this token\n"
         "                            (without one they work only on a loopback address)\n"
         "  -v, --verbose             log what happens (repeat for more)\n"
         "  -h, --help                this text\n"
         "      --version             print the version\n"
         "\n"
         "`create` makes a .torrent of PATH, a file or a directory (every regular file\n"
         "below it, in byte order of their paths; links are followed only when they stay\n"
         "inside PATH; empty directories leave no trace). The same data and options give\n"
         "the same bytes. It hashes on every core and prints the info-hash.\n"
         "\n"
         "  -o, --output FILE         where to write it (default: NAME.torrent here)\n"
         "  -t, --tracker URL[,URL]   tracker; each -t is one tier, commas put several in\n"
         "                            one tier; the first URL is the \"announce\"\n"
         "  -w, --web-seed URL        web seed (BEP 19, repeatable)\n"
         "      --piece-size N        bytes, or with K or M: a power of two from 16K to 64M\n"
         "                            (default by size: 32K up to 50 MiB of data, doubling\n"
         "                            each time the data doubles, at most 16M)\n"
         "      --private             private torrent (peers from its trackers only)\n"
         "      --comment TEXT        a comment\n"
         "      --source TEXT         source tag (part of the info-hash)\n"
         "      --date                write the creation date (off: reproducible output)\n"
         "      --threads N           hashing threads (default: one per core)\n"
         "\n"
         "Exit status: 0 complete and verified (create: written), 1 error, 2 usage,\n"
         "3 gave up (no data), 130 interrupted (files stay as they are).\n";
}

result<std::uint64_t> parse_rate(std::string_view text) {
  std::uint64_t unit = 1;
  if (!text.empty()) {
    switch (text.back()) {
      case 'k': case 'K': unit = 1024; break;
      case 'm': case 'M': unit = 1024 * 1024; break;
      case 'g': case 'G': unit = 1024 * 1024 * 1024; break;
      default: break;
    }
    if (unit != 1) text.remove_suffix(1);
  }
  std::uint64_t n = 0;
  if (text.empty() || !parse_number(text, n))
    return error{errc::invalid_argument, "not a rate (a number with an optional K, M or G)"};
  if (n > (std::uint64_t{1} << 40) / unit)
    return error{errc::invalid_argument, "more than 1 TiB per second"};
  return n * unit;
}

result<options> parse(int argc, char** argv) {
  options o;
  std::vector<std::string_view> args(argv + 1, argv + argc);
  auto need_value = [&](std::size_t& i, std::string_view name) -> result<std::string_view> {
    if (i + 1 >= args.size())
      return error{errc::invalid_argument, std::string(name) + " needs a value"};
    return args[++i];
  };
  bool positional_seen = false;
  // Options that belong to one kind of command, to refuse them with the other.
  std::string create_only, download_only;
  auto mark_create = [&](std::string_view a) {
    if (create_only.empty()) create_only = std::string(a);
  };
  auto mark_download = [&](std::string_view a) {
    if (download_only.empty()) download_only = std::string(a);
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    auto a = args[i];
    if (a == "-h" || a == "--help") {
      o.cmd = command::help;
      return o;
    }
    if (a == "--version") {
      o.cmd = command::version;
      return o;
    }
    if (a == "-v" || a == "--verbose") {
      ++o.verbosity;
    } else if (a == "-vv") {
      o.verbosity += 2;
    } else if (a == "--seed") {
      mark_download(a);
      o.seed = true;
    } else if (a == "--scrape") {
      o.scrape = true;
    } else if (a == "--udp-tracker-timeout") {
      mark_download(a);
      auto v = need_value(i, a);
      if (!v) return v.err();
      if (!parse_number(*v, o.udp_tracker_timeout) || o.udp_tracker_timeout <= 0)
        return error{errc::invalid_argument, "bad --udp-tracker-timeout: " + std::string(*v)};
    } else if (a == "--udp-tracker-retries") {
      mark_download(a);
      auto v = need_value(i, a);
      if (!v) return v.err();
      if (!parse_number(*v, o.udp_tracker_retries) || o.udp_tracker_retries < 0 || o.udp_tracker_retries > 8)
        return error{errc::invalid_argument, "bad --udp-tracker-retries: " + std::string(*v)};
    } else if (a == "--bind") {
      mark_download(a);
      auto v = need_value(i, a);
      if (!v) return v.err();
      o.bind = std::string(*v);
    } else if (a == "--encryption") {
      mark_download(a);
      auto v = need_value(i, a);
      if (!v) return v.err();
      auto p = parse_encryption_policy(*v);
      if (!p)
        return error{errc::invalid_argument,
                     "bad --encryption: " + std::string(*v) + " (prefer, require or off)"};
      o.encryption = *p;
    } else if (a == "--no-dht") {
      mark_download(a);
      o.dht = false;
    } else if (a == "--dht-port") {
      mark_download(a);
      auto v = need_value(i, a);
      if (!v) return v.err();
      unsigned port = 0;
      if (!parse_number(*v, port) || port > 65535)
        return error{errc::invalid_argument, "bad --dht-port: " + std::string(*v)};
      o.dht_port = static_cast<int>(port);
    } else if (a == "--dht-bootstrap") {
      mark_download(a);
      auto v = need_value(i, a);
      if (!v) return v.err();
      auto colon = v->rfind(':');
      unsigned port = 0;
      if (colon == std::string_view::npos || colon == 0 || !parse_number(v->substr(colon + 1), port) ||
          port == 0 || port > 65535)
        return error{errc::invalid_argument, "bad --dht-bootstrap: " + std::string(*v) + " (HOST:PORT)"};
      o.dht_bootstrap.emplace_back(*v);
    } else if (a == "--dht-state") {
      mark_download(a);
      auto v = need_value(i, a);
      if (!v) return v.err();
      o.dht_state = std::string(*v);
    } else if (a == "--seed-time") {
      mark_download(a);
      auto v = need_value(i, a);
      if (!v) return v.err();
      if (!parse_number(*v, o.seed_time) || o.seed_time < 0)
        return error{errc::invalid_argument, "bad --seed-time: " + std::string(*v)};
      o.seed = true;
    } else if (a == "--seed-ratio") {
      mark_download(a);
      auto v = need_value(i, a);
      if (!v) return v.err();
      char* end = nullptr;
      std::string text(*v);
      o.seed_ratio = std::strtod(text.c_str(), &end);
      if (end != text.c_str() + text.size() || !(o.seed_ratio >= 0))
        return error{errc::invalid_argument, "bad --seed-ratio: " + text};
      o.seed = true;
    } else if (a == "-d" || a == "--dir") {
      mark_download(a);
      auto v = need_value(i, a);
      if (!v) return v.err();
      o.dir = std::string(*v);
    } else if (a == "-a" || a == "--peer") {
      mark_download(a);
      auto v = need_value(i, a);
      if (!v) return v.err();
      o.peers.emplace_back(*v);
    } else if (a == "-p" || a == "--port") {
      mark_download(a);
      auto v = need_value(i, a);
      if (!v) return v.err();
      unsigned port = 0;
      if (!parse_number(*v, port) || port > 65535)
        return error{errc::invalid_argument, "bad port: " + std::string(*v)};
      o.port = static_cast<std::uint16_t>(port);
    } else if (a == "--stall-timeout") {
      mark_download(a);
      auto v = need_value(i, a);
      if (!v) return v.err();
      if (!parse_number(*v, o.stall_timeout) || o.stall_timeout <= 0)
        return error{errc::invalid_argument, "bad --stall-timeout: " + std::string(*v)};
    } else if (a == "--endgame-threshold") {
      mark_download(a);
      auto v = need_value(i, a);
      if (!v) return v.err();
      char* end = nullptr;
      std::string text(*v);
      o.endgame_threshold = std::strtod(text.c_str(), &end);
      if (end != text.c_str() + text.size() || o.endgame_threshold < 0 || o.endgame_threshold > 1)
        return error{errc::invalid_argument, "bad --endgame-threshold: " + text};
    } else if (a == "--tracker-ca") {
      mark_download(a);
      auto v = need_value(i, a);
      if (!v) return v.err();
      o.tracker_ca = std::string(*v);
    } else if (a == "--max-peers") {
      mark_download(a);
      auto v = need_value(i, a);
      if (!v) return v.err();
      if (!parse_number(*v, o.max_peers) || o.max_peers <= 0)
        return error{errc::invalid_argument, "bad --max-peers: " + std::string(*v)};
    } else if (a == "--max-connections") {
      mark_download(a);
      auto v = need_value(i, a);
      if (!v) return v.err();
      if (!parse_number(*v, o.max_connections) || o.max_connections < 0)
        return error{errc::invalid_argument, "bad --max-connections: " + std::string(*v)};
    } else if (a == "--only" || a == "--skip") {
      mark_download(a);
      auto v = need_value(i, a);
      if (!v) return v.err();
      if (v->empty()) return error{errc::invalid_argument, std::string(a) + " needs file numbers"};
      (a == "--only" ? o.only : o.skip) = std::string(*v);
    } else if (a == "--sequential") {
      mark_download(a);
      o.sequential = true;
    } else if (a == "--max-metadata-size") {
      mark_download(a);
      auto v = need_value(i, a);
      if (!v) return v.err();
      if (!parse_number(*v, o.max_metadata_size) || o.max_metadata_size <= 0)
        return error{errc::invalid_argument, "bad --max-metadata-size: " + std::string(*v)};
    } else if (a == "--max-down" || a == "--max-up" || a == "--torrent-max-down"
               || a == "--torrent-max-up") {
      mark_download(a);
      auto v = need_value(i, a);
      if (!v) return v.err();
      auto rate = parse_rate(*v);
      if (!rate) return error{errc::invalid_argument, "bad " + std::string(a) + ": " + rate.err().message};
      (a == "--max-down"           ? o.max_down
       : a == "--max-up"           ? o.max_up
       : a == "--torrent-max-down" ? o.torrent_max_down
                                   : o.torrent_max_up) = *rate;
    } else if (a == "--status-port") {
      mark_download(a);
      auto v = need_value(i, a);
      if (!v) return v.err();
      unsigned port = 0;
      if (!parse_number(*v, port) || port > 65535)
        return error{errc::invalid_argument, "bad --status-port: " + std::string(*v)};
      o.status_port = static_cast<int>(port);
    } else if (a == "--status-bind") {
      mark_download(a);
      auto v = need_value(i, a);
      if (!v) return v.err();
      o.status_bind = std::string(*v);
    } else if (a == "--status-token") {
      mark_download(a);
      auto v = need_value(i, a);
      if (!v) return v.err();
      // It travels in an HTTP header: printable ASCII without spaces only.
      if (v->empty() || std::any_of(v->begin(), v->end(), [](char c) { return c <= ' ' || c > '~'; }))
        return error{errc::invalid_argument, "bad --status-token: use printable ASCII without spaces"};
      o.status_token = std::string(*v);
    } else if (a == "--threads") {
      auto v = need_value(i, a);
      if (!v) return v.err();
      if (!parse_number(*v, o.threads) || o.threads <= 0 || o.threads > 64)
        return error{errc::invalid_argument, "bad --threads: " + std::string(*v)};
      o.threads_given = true;
    } else if (a == "-o" || a == "--output") {
      mark_create(a);
      auto v = need_value(i, a);
      if (!v) return v.err();
      if (v->empty()) return error{errc::invalid_argument, std::string(a) + " needs a file name"};
      o.output = std::string(*v);
    } else if (a == "-t" || a == "--tracker") {
      mark_create(a);
      auto v = need_value(i, a);
      if (!v) return v.err();
      auto tier = split_commas(*v);
      for (const auto& url : tier)
        if (url.empty()) return error{errc::invalid_argument, "empty URL in " + std::string(a) + " " + std::string(*v)};
      o.trackers.push_back(std::move(tier));
    } else if (a == "-w" || a == "--web-seed") {
      mark_create(a);
      auto v = need_value(i, a);
      if (!v) return v.err();
      if (v->empty()) return error{errc::invalid_argument, std::string(a) + " needs a URL"};
      o.web_seeds.emplace_back(*v);
    } else if (a == "--piece-size") {
      mark_create(a);
      auto v = need_value(i, a);
      if (!v) return v.err();
      auto n = parse_size(*v);
      if (!n || !is_power_of_two(*n) || *n < (16 << 10) || *n > (64 << 20))
        return error{errc::invalid_argument,
                     "bad --piece-size " + std::string(*v) +
                         ": must be a power of two from 16K to 64M (16384 to 67108864 bytes), "
                         "e.g. 256K or 1M"};
      o.piece_size = *n;
    } else if (a == "--private") {
      mark_create(a);
      o.is_private = true;
    } else if (a == "--comment") {
      mark_create(a);
      auto v = need_value(i, a);
      if (!v) return v.err();
      o.comment = std::string(*v);
    } else if (a == "--source") {
      mark_create(a);
      auto v = need_value(i, a);
      if (!v) return v.err();
      o.source = std::string(*v);
    } else if (a == "--date") {
      mark_create(a);
      o.date = true;
    } else if (!a.empty() && a[0] == '-' && a != "-") {
      return error{errc::invalid_argument, "unknown option " + std::string(a)};
    } else if (!positional_seen && a == "show" && o.torrent.empty()) {
      o.cmd = command::show;
      positional_seen = true;
    } else if (!positional_seen && a == "create" && o.torrent.empty()) {
      o.cmd = command::create;
      positional_seen = true;
    } else if (!positional_seen && a == "seed" && o.torrent.empty()) {
      o.cmd = command::seed;
      o.seed = true;
      positional_seen = true;
    } else if (o.torrent.empty()) {
      o.torrent = std::string(a);
    } else if (o.cmd == command::download || o.cmd == command::seed) {
      o.more_torrents.emplace_back(a);
    } else {
      return error{errc::invalid_argument, "unexpected argument " + std::string(a)};
    }
  }
  if (o.cmd == command::create) {
    if (o.torrent.empty())
      return error{errc::invalid_argument, "create needs a file or directory to make a torrent of"};
    if (!download_only.empty())
      return error{errc::invalid_argument, download_only + " does not apply to create"};
    return o;
  }
  if (!create_only.empty())
    return error{errc::invalid_argument, create_only + " only applies to create"};
  if (o.torrent.empty()) return error{errc::invalid_argument, "no torrent file given"};
  if (o.cmd == command::show && !o.more_torrents.empty())
    return error{errc::invalid_argument, "unexpected argument " + o.more_torrents.front()};
  if (!o.more_torrents.empty() && (!o.only.empty() || !o.skip.empty()))
    return error{errc::invalid_argument, "--only and --skip apply to one torrent at a time"};
  return o;
}

} // namespace actorrent::cli
