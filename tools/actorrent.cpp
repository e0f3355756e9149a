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

void print_stats(const torrent_status& st) {
  // The last line, for people and scripts alike.
  std::cout << "stats: downloaded=" << st.progress.downloaded << " uploaded=" << st.uploaded
            << " wasted=" << st.progress.wasted << "\n"
            << std::flush;
}

int download(const cli::options& opts) {
  auto meta = load_metainfo(opts.torrent);
  if (!meta) {
    std::cerr << "actorrent: " << meta.err().message << "\n";
    return exit_error;
  }
  // What was tolerated in reading the file: worth knowing, not worth noise.
  if (opts.verbosity > 0)
    for (const auto& w : meta->warnings) std::cerr << "actorrent: note: " << w << "\n";
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  // A file size limit must surface as a write error (EFBIG) naming the file,
  // not as a signal that kills the process.
  std::signal(SIGXFSZ, SIG_IGN);

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
    session_options sopts;
    sopts.bind_address = opts.bind;
    sopts.listen_port = opts.port;
    session ses{sys, sopts};
    if (ses.listen_error()) {
      if (opts.cmd == cli::command::seed) {
        std::cerr << "actorrent: " << ses.listen_error().message << "\n";
        return exit_error;
      }
      std::cerr << "actorrent: warning: " << ses.listen_error().message
                << " (downloading without accepting incoming peers)\n";
    }
    add_torrent_params params;
    params.download_dir = opts.dir;
    params.peers = opts.peers;
    params.seed = opts.seed;
    if (opts.seed_time >= 0) params.seed_time = std::chrono::seconds(opts.seed_time);
    if (opts.seed_ratio >= 0) params.seed_ratio = opts.seed_ratio;
    params.stall_timeout = std::chrono::seconds(opts.stall_timeout);
    params.endgame_threshold = opts.endgame_threshold;
    params.max_connections = static_cast<std::size_t>(opts.max_peers);

    caf::scoped_actor self{sys};
    auto torrent = ses.add_torrent(*meta, params, caf::actor_cast<caf::actor>(self));
    if (!torrent) {
      std::cerr << "actorrent: " << torrent.err().message << "\n";
      return exit_error;
    }
    std::cout << (opts.cmd == cli::command::seed ? "seeding " : "downloading ") << meta->name
              << " (" << cli::format_bytes(static_cast<double>(meta->total_length)) << ") in "
              << opts.dir;
    if (ses.listen_port() != 0) std::cout << ", listening on port " << ses.listen_port();
    std::cout << "\n" << std::flush;

    bool running = true;
    bool stop_sent = false;
    bool line_open = false;  // a live status line is on screen
    torrent_status last;
    last.name = meta->name;
    auto last_plain = std::chrono::steady_clock::now() - 10s;
    auto end_line = [&] {
      if (line_open) std::cout << "\n";
      line_open = false;
    };
    auto print = [&](const torrent_status& st) {
      auto line = cli::format_status(st);
      if (tty) {
        std::cout << "\r" << line << "\x1b[K" << std::flush;
        line_open = true;
      } else {
        auto now = std::chrono::steady_clock::now();
        if (now - last_plain >= 5s) {
          std::cout << line << "\n" << std::flush;
          last_plain = now;
        }
      }
    };
    self->monitor(*torrent);
    while (running) {
      self->receive(
      [&](log_atom, const std::string& line) {
        end_line();
        std::cout << line << "\n" << std::flush;
      },
      [&](status_atom, const torrent_status& st) {
        last = st;
        print(st);
      },
      [&](done_atom, const torrent_status& st) {
        last = st;
        end_line();
        auto secs = st.elapsed > 0 ? st.elapsed : 1e-9;
        if (st.progress.downloaded == 0)
          std::cout << "complete: " << meta->name << " was already in " << opts.dir << "\n";
        else
          std::cout << "complete: " << meta->name << ", "
                    << cli::format_bytes(static_cast<double>(st.progress.downloaded))
                    << " downloaded in " << cli::format_duration(st.elapsed) << " ("
                    << cli::format_bytes(static_cast<double>(st.progress.downloaded) / secs)
                    << "/s)\n";
        std::cout << std::flush;
        status = exit_ok;
        if (opts.seed)
          std::cout << "seeding; Ctrl-C stops\n" << std::flush;
        else
          running = false;
      },
      [&](closed_atom, const torrent_status& st) {
        last = st;
        end_line();
        std::cout << "seeding finished\n";
        status = exit_ok;
        running = false;
      },
      [&](failed_atom, const std::string& why) {
        end_line();
        std::cerr << "actorrent: " << why << "\n";
        status = why.find("no data for") != std::string::npos ? exit_gave_up : exit_error;
        running = false;
      },
      [&](caf::down_msg&) {
        // The torrent is gone without saying done or failed.
        end_line();
        std::cerr << "actorrent: the torrent stopped unexpectedly\n";
        running = false;
      },
      caf::after(200ms) >> [] {});
      // Checked after every message, not only when none came for 200 ms: a
      // busy torrent (the start-up check) must not make Ctrl-C wait.
      {
        if (interrupted.load() && !stop_sent) {
          stop_sent = true;
          end_line();
          std::cerr << "actorrent: interrupted; stopping (files stay as they are)\n";
          auto t = *torrent;
          self->request(t, 30s, stop_atom_v)
            .receive([&](torrent_status& st) { last = st; }, [](caf::error&) {});
          // A seeder that already completed stopped as asked: that is success.
          status = status == exit_ok ? exit_ok : exit_interrupted;
          running = false;
        }
      }
    }
    print_stats(last);
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
    case cli::command::seed:
      break;
  }
  if (opts->verbosity > 0)
    log::set_level(opts->verbosity >= 2 ? log::level::debug : log::level::info);
  return download(*opts);
}
