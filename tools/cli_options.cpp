#include "cli_options.hpp"

#include <algorithm>
#include <charconv>
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

} // namespace

const char* usage() {
  return "usage: actorrent TORRENT [-d DIR] [-a HOST:PORT]... [-p PORT] [--seed] [-v]\n"
         "       actorrent seed TORRENT [-d DIR] [options]\n"
         "       actorrent show TORRENT\n"
         "\n"
         "Downloads TORRENT into DIR (default: the current directory) from the peers its\n"
         "HTTP trackers name and from the peers given with -a, then exits. What DIR\n"
         "already holds is checked first, so an interrupted download continues.\n"
         "`seed` serves the data in DIR (downloading what is missing first).\n"
         "\n"
         "  -d, --dir DIR             download directory\n"
         "  -a, --peer HOST:PORT      connect to this peer as well (repeatable); with -a the\n"
         "                            download runs even when no tracker answers\n"
         "  -p, --port PORT           port to listen on and announce (default 6881; 0: any)\n"
         "      --bind ADDRESS        address to listen on (default 0.0.0.0)\n"
         "      --seed                keep seeding after the download completes\n"
         "      --seed-time SEC       stop seeding after SEC seconds\n"
         "      --seed-ratio R        stop seeding once R x the torrent's size was uploaded\n"
         "      --stall-timeout SEC   give up when no data arrived for SEC seconds (default 120)\n"
         "      --endgame-threshold F start end-game once this fraction of pieces is verified\n"
         "                            (default 1.0: when every missing block is requested)\n"
         "      --max-peers N         connection limit (default 60)\n"
         "      --threads N           actor scheduler threads (default 1; sockets and disk\n"
         "                            have threads of their own)\n"
         "      --status-port PORT    serve a status page (HTML at /, JSON at /api/torrents)\n"
         "                            on PORT (0: any free port; the URL is printed)\n"
         "      --status-bind ADDRESS address of the status page (default 127.0.0.1)\n"
         "      --status-token TOKEN  pause/resume/recheck through the page need this token\n"
         "                            (without one they work only on a loopback address)\n"
         "  -v, --verbose             log what happens (repeat for more)\n"
         "  -h, --help                this text\n"
         "      --version             print the version\n"
         "\n"
         "Exit status: 0 complete and verified, 1 error, 2 usage, 3 gave up (no data),\n"
         "130 interrupted (files stay as they are).\n";
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
      o.seed = true;
    } else if (a == "--bind") {
      auto v = need_value(i, a);
      if (!v) return v.err();
      o.bind = std::string(*v);
    } else if (a == "--seed-time") {
      auto v = need_value(i, a);
      if (!v) return v.err();
      if (!parse_number(*v, o.seed_time) || o.seed_time < 0)
        return error{errc::invalid_argument, "bad --seed-time: " + std::string(*v)};
      o.seed = true;
    } else if (a == "--seed-ratio") {
      auto v = need_value(i, a);
      if (!v) return v.err();
      char* end = nullptr;
      std::string text(*v);
      o.seed_ratio = std::strtod(text.c_str(), &end);
      if (end != text.c_str() + text.size() || !(o.seed_ratio >= 0))
        return error{errc::invalid_argument, "bad --seed-ratio: " + text};
      o.seed = true;
    } else if (a == "-d" || a == "--dir") {
      auto v = need_value(i, a);
      if (!v) return v.err();
      o.dir = std::string(*v);
    } else if (a == "-a" || a == "--peer") {
      auto v = need_value(i, a);
      if (!v) return v.err();
      o.peers.emplace_back(*v);
    } else if (a == "-p" || a == "--port") {
      auto v = need_value(i, a);
      if (!v) return v.err();
      unsigned port = 0;
      if (!parse_number(*v, port) || port > 65535)
        return error{errc::invalid_argument, "bad port: " + std::string(*v)};
      o.port = static_cast<std::uint16_t>(port);
    } else if (a == "--stall-timeout") {
      auto v = need_value(i, a);
      if (!v) return v.err();
      if (!parse_number(*v, o.stall_timeout) || o.stall_timeout <= 0)
        return error{errc::invalid_argument, "bad --stall-timeout: " + std::string(*v)};
    } else if (a == "--endgame-threshold") {
      auto v = need_value(i, a);
      if (!v) return v.err();
      char* end = nullptr;
      std::string text(*v);
      o.endgame_threshold = std::strtod(text.c_str(), &end);
      if (end != text.c_str() + text.size() || o.endgame_threshold < 0 || o.endgame_threshold > 1)
        return error{errc::invalid_argument, "bad --endgame-threshold: " + text};
    } else if (a == "--max-peers") {
      auto v = need_value(i, a);
      if (!v) return v.err();
      if (!parse_number(*v, o.max_peers) || o.max_peers <= 0)
        return error{errc::invalid_argument, "bad --max-peers: " + std::string(*v)};
    } else if (a == "--status-port") {
      auto v = need_value(i, a);
      if (!v) return v.err();
      unsigned port = 0;
      if (!parse_number(*v, port) || port > 65535)
        return error{errc::invalid_argument, "bad --status-port: " + std::string(*v)};
      o.status_port = static_cast<int>(port);
    } else if (a == "--status-bind") {
      auto v = need_value(i, a);
      if (!v) return v.err();
      o.status_bind = std::string(*v);
    } else if (a == "--status-token") {
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
    } else if (!a.empty() && a[0] == '-' && a != "-") {
      return error{errc::invalid_argument, "unknown option " + std::string(a)};
    } else if (!positional_seen && a == "show" && o.torrent.empty()) {
      o.cmd = command::show;
      positional_seen = true;
    } else if (!positional_seen && a == "seed" && o.torrent.empty()) {
      o.cmd = command::seed;
      o.seed = true;
      positional_seen = true;
    } else if (o.torrent.empty()) {
      o.torrent = std::string(a);
    } else {
      return error{errc::invalid_argument, "unexpected argument " + std::string(a)};
    }
  }
  if (o.torrent.empty()) return error{errc::invalid_argument, "no torrent file given"};
  return o;
}

} // namespace actorrent::cli
