// The actorrent command line: `actorrent TORRENT -d DIR ...` downloads,
// `actorrent show TORRENT|MAGNET` describes a torrent or a magnet link,
// `actorrent create PATH` makes a torrent.
#include "cli_options.hpp"
#include "file_indexes.hpp"
#include "status_line.hpp"

#include "actorrent/create_torrent.hpp"
#include "actorrent/magnet_link.hpp"
#include "actorrent/metainfo.hpp"
#include "actorrent/scrape.hpp"
#include "actorrent/session.hpp"
#include "actorrent/status_server.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
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

// Asks every tracker of the torrent at once, each bounded by a few
// seconds, and prints what each said in the torrent's tracker order.
// Fails when no tracker answered.
int scrape(const cli::options& opts, const metainfo& meta) {
  if (meta.trackers().empty()) {
    std::cout << "scrape: the torrent names no tracker\n";
    return exit_error;
  }
  scrape_options so;
  so.udp_retransmit = std::chrono::milliseconds(opts.udp_tracker_timeout);
  so.udp_retries = static_cast<unsigned>(opts.udp_tracker_retries);
  bool any = false;
  for (const auto& s : scrape_trackers(meta, so)) {
    std::cout << "scrape " << s.tracker << ": ";
    if (s.error) {
      std::cout << "error: " << s.error.message << "\n";
    } else {
      any = true;
      std::cout << "complete=" << s.complete << " incomplete=" << s.incomplete
                << " downloaded=" << s.downloaded << "\n";
    }
  }
  return any ? exit_ok : exit_error;
}

int show(const cli::options& opts) {
  if (looks_like_magnet(opts.torrent)) {
    auto link = parse_magnet(opts.torrent);
    if (!link) {
      std::cerr << "actorrent: " << link.err().message << "\n";
      return exit_error;
    }
    print_magnet(std::cout, *link);
    return exit_ok;
  }
  auto meta = load_metainfo(opts.torrent);
  if (!meta) {
    std::cerr << "actorrent: " << meta.err().message << "\n";
    return exit_error;
  }
  print_metainfo(std::cout, *meta);
  if (opts.scrape) {
    std::cout << std::flush;
    return scrape(opts, *meta);
  }
  return exit_ok;
}

// The name a torrent of `content` gets, for the default output file: the
// last component as written, or the directory's own name for "." and "..".
std::string content_name(const std::filesystem::path& content) {
  auto named = content.lexically_normal();
  std::string name = named.filename().string();
  if (name.empty()) name = named.parent_path().filename().string();
  if (name.empty() || name == "." || name == "..") {
    std::error_code ec;
    name = std::filesystem::weakly_canonical(content, ec).filename().string();
  }
  return name;
}

// Whether `file` would be written inside the directory `dir`, where a later
// run would take it for content.
bool inside_dir(const std::filesystem::path& dir, const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return false;
  auto d = std::filesystem::weakly_canonical(dir, ec);
  if (ec) return false;
  auto f = std::filesystem::weakly_canonical(file, ec);
  if (ec) return false;
  auto [di, fi] = std::mismatch(d.begin(), d.end(), f.begin(), f.end());
  return di == d.end();
}

// Written beside the target and renamed over it, so a failed or interrupted
// run never leaves half a .torrent.
std::optional<std::string> write_file(const std::filesystem::path& file, const std::string& bytes) {
  auto tmp = file;
  tmp += ".part";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return "cannot write " + tmp.string() + ": " + std::strerror(errno);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      return "cannot write " + tmp.string();
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, file, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return "cannot write " + file.string() + ": " + ec.message();
  }
  return std::nullopt;
}

int create(const cli::options& opts) {
  namespace fs = std::filesystem;
  const fs::path content = opts.torrent;
  const fs::path output = opts.output.empty() ? fs::path(content_name(content) + ".torrent")
                                              : fs::path(opts.output);
  if (inside_dir(content, output)) {
    std::cerr << "actorrent: the output " << output.string() << " is inside " << content.string()
              << ", which is being made into a torrent: write it elsewhere (-o)\n";
    return exit_error;
  }
  create_options co;
  co.content = content;
  co.trackers = opts.trackers;
  co.web_seeds = opts.web_seeds;
  co.piece_size = opts.piece_size;
  co.is_private = opts.is_private;
  co.comment = opts.comment;
  co.source = opts.source;
  if (opts.date) co.creation_date = static_cast<std::int64_t>(std::time(nullptr));
  co.threads = opts.threads_given ? static_cast<unsigned>(opts.threads) : 0;

  // Progress goes to stderr: stdout says what was made, for scripts.
  const bool tty = isatty(STDERR_FILENO) != 0;
  const auto start = std::chrono::steady_clock::now();
  auto last_plain = start - 2s;  // the first plain line at once, then every 2 s
  bool line_open = false;
  create_progress last{};
  co.on_progress = [&](const create_progress& p) {
    last = p;
    const auto now = std::chrono::steady_clock::now();
    const double secs = std::chrono::duration<double>(now - start).count();
    if (tty) {
      std::cerr << "\r" << cli::format_hashing(p, secs, true) << "\x1b[K" << std::flush;
      line_open = true;
    } else if (now - last_plain >= 2s) {
      std::cerr << cli::format_hashing(p, secs, false) << "\n" << std::flush;
      last_plain = now;
    }
  };
  auto bytes = create_torrent(co);
  if (line_open) std::cerr << "\n";
  if (!bytes) {
    std::cerr << "actorrent: " << bytes.err().message << "\n";
    return exit_error;
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto meta = parse_metainfo(*bytes);
  if (!meta) {
    // What we make we must read: a failure here is a bug worth seeing.
    std::cerr << "actorrent: the created torrent does not read back: " << meta.err().message
              << "\n";
    return exit_error;
  }
  if (auto err = write_file(output, *bytes)) {
    std::cerr << "actorrent: " << *err << "\n";
    return exit_error;
  }
  std::cout << "created " << output.string() << ": " << meta->name << ", "
            << meta->files.size() << (meta->files.size() == 1 ? " file, " : " files, ")
            << cli::format_bytes(static_cast<double>(meta->total_length)) << " in "
            << meta->piece_count() << " pieces of "
            << cli::format_bytes(static_cast<double>(meta->piece_length)) << ", hashed in "
            << cli::format_duration(secs) << " ("
            << cli::format_bytes(static_cast<double>(meta->total_length) / (secs > 0 ? secs : 1e-9))
            << "/s)\n"
            << "info-hash: " << meta->info_hash.hex() << "\n";
  return exit_ok;
}

void print_stats(const torrent_status& st) {
  // The last line, for people and scripts alike.
  std::cout << "stats: downloaded=" << st.progress.downloaded << " uploaded=" << st.uploaded
            << " wasted=" << st.progress.wasted + st.discarded << "\n"
            << std::flush;
}

// One torrent or magnet link of the command line, and what it said last.
struct download_item {
  std::string source;
  std::optional<metainfo> meta;
  std::optional<magnet_link> link;
  sha1_hash info_hash;
  std::string name;
  torrent_handle handle;
  torrent_status last;
  bool running = true;
  int status = exit_error;
  std::chrono::steady_clock::time_point last_plain{};
};

// The worst of two exit statuses: interrupted, then error, then gave up.
int worst_status(int a, int b) {
  auto rank = [](int s) {
    return s == exit_interrupted ? 3 : s == exit_error ? 2 : s == exit_gave_up ? 1 : 0;
  };
  return rank(a) >= rank(b) ? a : b;
}

// Reads a torrent file or a magnet link; errors for the user.
result<download_item> load_item(const std::string& source, int verbosity) {
  download_item it;
  it.source = source;
  if (looks_like_magnet(source)) {
    auto l = parse_magnet(source);
    if (!l) return l.err();
    it.link = std::move(*l);
    it.info_hash = it.link->info_hash;
    it.name = it.link->name.empty() ? it.link->info_hash.hex() : it.link->name;
  } else {
    auto m = load_metainfo(source);
    if (!m) return m.err();
    it.meta = std::move(*m);
    it.info_hash = it.meta->info_hash;
    it.name = it.meta->name;
    // What was tolerated in reading the file: worth knowing, not worth noise.
    if (verbosity > 0)
      for (const auto& w : it.meta->warnings) std::cerr << "actorrent: note: " << w << "\n";
  }
  it.last.name = it.name;
  return it;
}

int download(const cli::options& opts) {
  // A magnet link's metainfo comes later, from peers.
  std::vector<download_item> items;
  std::vector<std::string> sources{opts.torrent};
  sources.insert(sources.end(), opts.more_torrents.begin(), opts.more_torrents.end());
  for (const auto& source : sources) {
    auto it = load_item(source, opts.verbosity);
    if (!it) {
      std::cerr << "actorrent: " << it.err().message << "\n";
      return exit_error;
    }
    items.push_back(std::move(*it));
  }
  std::vector<std::uint8_t> selection;
  // A magnet link's files are known once its metadata arrives: the
  // selection is made then (see choose_files below).
  if ((!opts.only.empty() || !opts.skip.empty()) && items.front().meta) {
    auto prio = cli::select_files(*items.front().meta, opts.only, opts.skip);
    if (!prio) {
      std::cerr << "actorrent: " << prio.err().message << "\n";
      return exit_usage;
    }
    selection = std::move(*prio);
  }
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
  const bool several = items.size() > 1;
  int status = exit_ok;
  {
    session_options sopts;
    sopts.bind_address = opts.bind;
    sopts.encryption = opts.encryption;
    sopts.listen_port = opts.port;
    sopts.max_download_rate = opts.max_down;
    sopts.max_upload_rate = opts.max_up;
    sopts.max_connections = static_cast<std::size_t>(opts.max_connections);
    sopts.status_updates = true;
    sopts.udp_tracker_timeout = std::chrono::milliseconds(opts.udp_tracker_timeout);
    sopts.udp_tracker_retransmits = static_cast<unsigned>(opts.udp_tracker_retries);
    if (opts.dht) {
      sopts.dht.enabled = true;
      sopts.dht.port = static_cast<std::uint16_t>(opts.dht_port >= 0 ? opts.dht_port : opts.port);
      sopts.dht.bootstrap = opts.dht_bootstrap;
      sopts.dht.state_file = opts.dht_state.empty()
                               ? std::filesystem::path(opts.dir) / ".actorrent" / "dht.dat"
                               : std::filesystem::path(opts.dht_state);
      // The public routers only when the user named no node; the state
      // file's nodes, when there are any, make them unneeded too.
      sopts.dht.public_routers = opts.dht_bootstrap.empty();
    }
    session ses{sys, sopts};
    if (ses.dht_error())
      std::cerr << "actorrent: warning: " << ses.dht_error().message << " (running without the DHT)\n";
    else if (ses.dht_port() != 0 && opts.verbosity > 0)
      std::cerr << "actorrent: DHT on UDP port " << ses.dht_port() << "\n";
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
    params.tracker_ca_file = opts.tracker_ca;
    params.max_metadata_size = opts.max_metadata_size;
    params.sequential = opts.sequential;
    params.max_download_rate = opts.torrent_max_down;
    params.max_upload_rate = opts.torrent_max_up;
    params.file_priorities = selection;
    if ((!opts.only.empty() || !opts.skip.empty()) && items.front().link)
      params.choose_files = [only = opts.only, skip = opts.skip](const metainfo& meta) {
        return cli::select_files(meta, only, skip);
      };

    caf::scoped_actor self{sys};
    bool line_open = false;  // a live status line is on screen
    auto end_line = [&] {
      if (line_open) std::cout << "\n";
      line_open = false;
    };
    // With several torrents every line names its torrent.
    auto prefix = [&](const download_item& it) { return several ? it.name + ": " : std::string(); };
    auto say = [&](const download_item& it, const std::string& line) {
      end_line();
      std::cout << prefix(it) << line << "\n" << std::flush;
    };
    // A live line on a terminal; in a log a line every `every`.
    auto print = [&](download_item& it, const std::string& line, std::chrono::seconds every) {
      if (tty) {
        std::cout << "\r" << prefix(it) << line << "\x1b[K" << std::flush;
        line_open = true;
      } else {
        auto now = std::chrono::steady_clock::now();
        if (now - it.last_plain >= every) {
          std::cout << prefix(it) << line << "\n" << std::flush;
          it.last_plain = now;
        }
      }
    };
    for (auto& it : items) {
      auto torrent = it.link ? ses.add_magnet(it.source, params, caf::actor_cast<caf::actor>(self))
                             : ses.add_torrent(*it.meta, params, caf::actor_cast<caf::actor>(self));
      if (!torrent) {
        end_line();
        std::cerr << "actorrent: " << (several ? it.name + ": " : "") << torrent.err().message
                  << "\n";
        it.running = false;
        status = worst_status(status, exit_error);
        continue;
      }
      it.handle = *torrent;
      std::cout << (opts.cmd == cli::command::seed ? "seeding " : "downloading ") << it.name;
      if (it.meta)
        std::cout << " (" << cli::format_bytes(static_cast<double>(it.meta->total_length)) << ")";
      else
        std::cout << " (magnet link " << it.link->info_hash.hex() << ")";
      std::cout << " in " << opts.dir;
      if (ses.listen_port() != 0) std::cout << ", listening on port " << ses.listen_port();
      std::cout << "\n" << std::flush;
      self->monitor(it.handle.control());
    }
    auto find = [&](const sha1_hash& h) -> download_item* {
      for (auto& it : items)
        if (it.running && it.info_hash == h) return &it;
      return nullptr;
    };
    auto running = [&] {
      return std::any_of(items.begin(), items.end(), [](const download_item& it) { return it.running; });
    };
    auto ended = [&](download_item& it, int st) {
      it.status = st;
      it.running = false;
      status = worst_status(status, st);
    };
    bool stop_sent = false;
    while (running()) {
      self->receive(
      [&](const checking_progress& c) {
        auto* it = find(c.info_hash);
        if (!it) return;
        if (c.checked == 0)
          say(*it, "checking " + std::to_string(c.to_check) + " pieces");
        else
          print(*it, cli::format_checking(c, tty), 2s);
      },
      [&](const checking_finished& c) {
        if (auto* it = find(c.info_hash))
          say(*it, "checked: " + std::to_string(c.present) + " of " + std::to_string(c.total)
                     + " pieces present (" + c.how + ")");
      },
      [&](const status_update& u) {
        auto* it = find(u.status.info_hash);
        if (!it) return;
        it->last = u.status;
        print(*it, cli::format_status(u.status), 5s);
      },
      [&](const download_finished& e) {
        auto* it = find(e.status.info_hash);
        if (!it) return;
        const auto& st = e.status;
        it->last = st;
        auto secs = st.elapsed > 0 ? st.elapsed : 1e-9;
        const bool selected = st.progress.total_wanted > 0
                              && st.progress.total_wanted < st.progress.bytes_total;
        const std::string what = it->name + (selected ? " (the selected files)" : "");
        if (st.progress.downloaded == 0)
          say(*it, "complete: " + what + " was already in " + opts.dir);
        else
          say(*it, "complete: " + what + ", "
                     + cli::format_bytes(static_cast<double>(st.progress.downloaded))
                     + " downloaded in " + cli::format_duration(st.elapsed) + " ("
                     + cli::format_bytes(static_cast<double>(st.progress.downloaded) / secs)
                     + "/s)");
        if (opts.seed) {
          it->status = exit_ok;
          say(*it, "seeding; Ctrl-C stops");
        } else {
          ended(*it, exit_ok);
        }
      },
      [&](const seeding_finished& e) {
        auto* it = find(e.status.info_hash);
        if (!it) return;
        it->last = e.status;
        say(*it, "seeding finished");
        ended(*it, exit_ok);
      },
      [&](const metadata_received& m) {
        auto* it = find(m.info_hash);
        if (!it) return;
        say(*it, std::string(m.fetched ? "metadata received" : "metadata read") + ": " + m.name
                   + (m.fetched ? ", saved as " : " from ") + m.torrent_file);
        it->name = m.name;
      },
      [&](const torrent_error& e) {
        auto* it = find(e.info_hash);
        if (!it) return;
        end_line();
        std::cerr << "actorrent: " << prefix(*it) << e.message << "\n";
        ended(*it, e.gave_up ? exit_gave_up : exit_error);
      },
      // Other events are for embedding hosts; the command line shows them at -v
      // through the log.
      [](const torrent_added&) {}, [](const hash_failed&) {},
      // At -vv: the order pieces complete in (--sequential shows there).
      [&](const piece_verified& e) {
        if (opts.verbosity < 2) return;
        auto* it = find(e.info_hash);
        // One write: the log's lines come from other threads, and an
        // unbuffered stream writes each << on its own.
        std::cerr << ("actorrent: " + (it ? prefix(*it) : std::string()) + "piece "
                      + std::to_string(e.piece) + " verified\n");
      },
      [](const peer_connected&) {}, [](const peer_disconnected&) {}, [](const peer_banned&) {},
      // A tracker problem does not stop the download (other trackers, -a
      // peers), but the user should know why a tracker gives nothing.
      [&](const tracker_error& e) {
        end_line();
        auto* it = find(e.info_hash);
        std::cerr << "actorrent: " << (it ? prefix(*it) : std::string()) << "tracker"
                  << (e.tracker.empty() ? "" : " " + e.tracker) << ": " << e.message << "\n";
      },
      [](const tracker_reply&) {}, [](const torrent_removed&) {},
      [](const session_stopped&) {},
      [&](caf::down_msg& dm) {
        for (auto& it : items) {
          if (!it.running || it.handle.control().address() != dm.source) continue;
          // The torrent is gone without saying done or failed.
          end_line();
          std::cerr << "actorrent: " << prefix(it) << "the torrent stopped unexpectedly\n";
          ended(it, exit_error);
        }
      },
      caf::after(200ms) >> [] {});
      // Checked after every message, not only when none came for 200 ms: a
      // busy torrent (the start-up check) must not make Ctrl-C wait.
      if (interrupted.load() && !stop_sent) {
        stop_sent = true;
        end_line();
        std::cerr << "actorrent: interrupted; stopping (files stay as they are)\n";
        for (auto& it : items) {
          if (!it.handle) continue;
          self->request(it.handle.control(), 5s, status_request{})
            .receive([&](torrent_status& st) { it.last = st; }, [](caf::error&) {});
          // A seeder that already completed stopped as asked: that is success.
          if (it.running) ended(it, it.status == exit_ok ? exit_ok : exit_interrupted);
        }
      }
    }
    end_line();
    if (several) {
      torrent_status total;
      for (const auto& it : items) {
        std::cout << it.name << ": ";
        print_stats(it.last);
        total.progress.downloaded += it.last.progress.downloaded;
        total.progress.wasted += it.last.progress.wasted;
        total.uploaded += it.last.uploaded;
        total.discarded += it.last.discarded;
      }
      print_stats(total);
    } else {
      print_stats(items.front().last);
    }
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
    case cli::command::create:
      return create(*opts);
    case cli::command::download:
    case cli::command::seed:
      break;
  }
  if (opts->verbosity > 0) session::set_verbosity(opts->verbosity);
  return download(*opts);
}
