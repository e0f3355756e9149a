// The actorrent command line: `actorrent TORRENT -d DIR ...` downloads,
// `actorrent show TORRENT` describes a torrent.
#include "cli_options.hpp"
#include "status_line.hpp"

#include "actorrent/metainfo.hpp"
#include "actorrent/session.hpp"
#include "actorrent/status_server.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
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
            << " wasted=" << st.progress.wasted + st.discarded << "\n"
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
    sopts.status_updates = true;
    session ses{sys, sopts};
    if (ses.listen_error()) {
      if (opts.cmd == cli::command::seed) {
        std::cerr << "actorrent: " << ses.listen_error().message << "\n";
        return exit_error;
      }
      std::cerr << "actorrent: warning: " << ses.listen_error().message
                << " (downloading without accepting incoming peers)\n";
    }
    // Declared after the session, so it stops before the session does.
    std::unique_ptr<status_server> page;
    if (opts.status_port >= 0) {
      status_server_options po;
      po.bind_address = opts.status_bind;
      po.port = static_cast<std::uint16_t>(opts.status_port);
      po.token = opts.status_token;
      page = std::make_unique<status_server>(ses, po);
      if (page->listen_error()) {
        std::cerr << "actorrent: status page: " << page->listen_error().message << "\n";
        return exit_error;
      }
      std::cout << "status page: " << page->url() << "\n" << std::flush;
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
    auto print = [&](const std::string& line) {
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
    auto say = [&](const std::string& line) {
      end_line();
      std::cout << line << "\n" << std::flush;
    };
    self->monitor(torrent->control());
    while (running) {
      self->receive(
      [&](const checking_progress& c) {
        if (c.checked == 0)
          say("checking " + std::to_string(c.to_check) + " pieces");
        else
          print(cli::format_checking(c));
      },
      [&](const checking_finished& c) {
        say("checked: " + std::to_string(c.present) + " of " + std::to_string(c.total)
            + " pieces present (" + c.how + ")");
      },
      [&](const status_update& u) {
        last = u.status;
        print(cli::format_status(u.status));
      },
      [&](const download_finished& e) {
        const auto& st = e.status;
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
      [&](const seeding_finished& e) {
        last = e.status;
        say("seeding finished");
        status = exit_ok;
        running = false;
      },
      [&](const torrent_error& e) {
        end_line();
        std::cerr << "actorrent: " << e.message << "\n";
        status = e.gave_up ? exit_gave_up : exit_error;
        running = false;
      },
      // Other events are for embedding hosts; the command line shows them at -v
      // through the log.
      [](const torrent_added&) {}, [](const piece_verified&) {}, [](const hash_failed&) {},
      [](const peer_connected&) {}, [](const peer_disconnected&) {}, [](const peer_banned&) {},
      [](const tracker_reply&) {}, [](const tracker_error&) {}, [](const torrent_removed&) {},
      [](const session_stopped&) {},
      [&](caf::down_msg&) {
        // The torrent is gone without saying done or failed.
        end_line();
        std::cerr << "actorrent: the torrent stopped unexpectedly\n";
        running = false;
      },
      caf::after(200ms) >> [] {});
      // Checked after every message, not only when none came for 200 ms: a
      // busy torrent (the start-up check) must not make Ctrl-C wait.
      if (interrupted.load() && !stop_sent) {
        stop_sent = true;
        end_line();
        std::cerr << "actorrent: interrupted; stopping (files stay as they are)\n";
        self->request(torrent->control(), 5s, status_request{})
          .receive([&](torrent_status& st) { last = st; }, [](caf::error&) {});
        // A seeder that already completed stopped as asked: that is success.
        status = status == exit_ok ? exit_ok : exit_interrupted;
        running = false;
      }
    }
    print_stats(last);
  }
  // Leaving the scope stopped the session: every torrent and its actors are
  // gone (resume data saved), and the network thread with them.
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
  if (opts->verbosity > 0) session::set_verbosity(opts->verbosity);
  return download(*opts);
}
