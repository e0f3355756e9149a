// The actorrent command line: `actorrent TORRENT -d DIR ...` downloads,
// `actorrent show TORRENT` describes a torrent.
#include "cli_options.hpp"
#include "status_line.hpp"

#include "actorrent/metainfo.hpp"
#include "actorrent/session.hpp"
#include "log.hpp"
#include "messages.hpp"
#include "metainfo_print.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>

namespace {

using namespace actorrent;
using namespace std::chrono_literals;

constexpr int exit_ok = 0;
constexpr int exit_error = 1;
constexpr int exit_usage = 2;
constexpr int exit_gave_up = 3;
constexpr int exit_interrupted = 130;

std::atomic<bool> interrupted{false};

extern "C" void on_signal(int) { interrupted.store(true); }

int show(const cli::options& opts) {
  auto meta = load_metainfo(opts.torrent);
  if (!meta) {
    std::cerr << "actorrent: " << meta.err().message << "\n";
    return exit_error;
  }
  print_metainfo(std::cout, *meta);
  return exit_ok;
}

int download(const cli::options& opts) {
  auto meta = load_metainfo(opts.torrent);
  if (!meta) {
    std::cerr << "actorrent: " << meta.err().message << "\n";
    return exit_error;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);

  caf::actor_system_config cfg;
  session::configure(cfg);
  // Quiet CAF's own console output; our log goes to stderr.
  cfg.set("logger.console", caf::atom("none"));
  // One scheduler thread is the fastest setting measured: the network and
  // the disk have threads of their own, and fewer threads mean fewer wake-ups.
  cfg.set("scheduler.max-threads", static_cast<std::size_t>(opts.threads));
  caf::actor_system sys{cfg};

  const bool tty = isatty(STDOUT_FILENO) != 0;
  int status = exit_error;
  {
    session ses{sys, session_options{opts.port, 1}};
    add_torrent_params params;
    params.download_dir = opts.dir;
    params.peers = opts.peers;
    params.seed = opts.seed;
    params.stall_timeout = std::chrono::seconds(opts.stall_timeout);
    params.endgame_threshold = opts.endgame_threshold;
    params.max_connections = static_cast<std::size_t>(opts.max_peers);

    caf::scoped_actor self{sys};
    auto torrent = ses.add_torrent(*meta, params, caf::actor_cast<caf::actor>(self));
    if (!torrent) {
      std::cerr << "actorrent: " << torrent.err().message << "\n";
      return exit_error;
    }
    std::cout << "downloading " << meta->name << " (" << cli::format_bytes(
                   static_cast<double>(meta->total_length))
              << ") into " << opts.dir << "\n";
    std::cout.flush();

    bool running = true;
    bool stop_sent = false;
    bool status_printed = false;
    auto last_plain = std::chrono::steady_clock::now() - 10s;
    auto print = [&](const torrent_status& st, bool final_line) {
      auto line = cli::format_status(st);
      if (tty) {
        std::cout << "\r" << line << "\x1b[K" << (final_line ? "\n" : "") << std::flush;
        status_printed = true;
      } else {
        auto now = std::chrono::steady_clock::now();
        if (final_line || now - last_plain >= 5s) {
          std::cout << line << "\n" << std::flush;
          last_plain = now;
        }
      }
    };
    self->receive_while([&] { return running; })(
      [&](status_atom, const torrent_status& st) { print(st, false); },
      [&](done_atom, const torrent_status& st) {
        print(st, true);
        std::cout << "complete: " << meta->name << ", "
                  << cli::format_bytes(static_cast<double>(st.progress.bytes_total)) << " in "
                  << st.elapsed << " s\n";
        status = exit_ok;
        if (!opts.seed) running = false;
      },
      [&](failed_atom, const std::string& why) {
        if (status_printed) std::cout << "\n";
        std::cerr << "actorrent: " << why << "\n";
        status = why.find("no data for") != std::string::npos ? exit_gave_up : exit_error;
        running = false;
      },
      caf::after(200ms) >> [&] {
        if (interrupted.load() && !stop_sent) {
          stop_sent = true;
          if (status_printed) std::cout << "\n";
          std::cerr << "actorrent: interrupted; stopping (files stay as they are)\n";
          auto t = *torrent;
          self->request(t, 15s, stop_atom_v)
            .receive([](bool) {}, [](caf::error&) {});
          status = status == exit_ok ? exit_ok : exit_interrupted;
          running = false;
        }
      });
  }
  // Leaving the scope stopped the session: every torrent and its actors are
  // gone, and the network thread with them.
  return status;
}

} // namespace

int main(int argc, char** argv) {
  auto opts = cli::parse(argc, argv);
  if (!opts) {
    std::cerr << "actorrent: " << opts.err().message << "\n\n" << cli::usage();
    return exit_usage;
  }
  switch (opts->cmd) {
    case cli::command::help:
      std::cout << cli::usage();
      return exit_ok;
    case cli::command::version:
      std::cout << "actorrent 0.1.0\n";
      return exit_ok;
    case cli::command::show:
      return show(*opts);
    case cli::command::download:
      break;
  }
  if (opts->verbosity > 0)
    log::set_level(opts->verbosity >= 2 ? log::level::debug : log::level::info);
  return download(*opts);
}
