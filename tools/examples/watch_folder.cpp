// actorrent-watch: an example service that embeds actorrent in its own actor
// system, using nothing but the public API (include/actorrent/).
//
//   actorrent-watch WATCH_DIR DOWNLOAD_DIR [--events FILE] [--bind ADDR]
//                   [--port N] [--exit-after N]
//
// Every .torrent file that appears in WATCH_DIR is added and downloaded into
// DOWNLOAD_DIR; every event of the session becomes one JSON line (in FILE, or
// on standard output). SIGINT/SIGTERM stop it cleanly; --exit-after N stops it
// once N downloads have finished.
#include <actorrent/session.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <thread>

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::atomic<bool> stop_requested{false};
std::atomic<int> finished_downloads{0};

extern "C" void on_signal(int) { stop_requested.store(true); }

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// -- the event log: one JSON line per event ------------------------------------

struct log_state {
  static inline const char* name = "watch.event_log";
  std::ostream* out = nullptr;
};

void line(caf::stateful_actor<log_state>* self, const std::string& event, const std::string& fields) {
  *self->state.out << "{\"event\": " << json_string(event) << fields << "}\n" << std::flush;
}

std::string hash_field(const actorrent::sha1_hash& h) {
  return ", \"info_hash\": " + json_string(h.hex());
}

std::string status_fields(const actorrent::torrent_status& st) {
  return hash_field(st.info_hash) + ", \"name\": " + json_string(st.name)
         + ", \"state\": " + json_string(actorrent::to_string(st.state))
         + ", \"bytes_have\": " + std::to_string(st.progress.bytes_have)
         + ", \"bytes_total\": " + std::to_string(st.progress.bytes_total)
         + ", \"downloaded\": " + std::to_string(st.progress.downloaded)
         + ", \"peers\": " + std::to_string(st.peers_connected);
}

caf::behavior event_log(caf::stateful_actor<log_state>* self, std::ostream* out) {
  self->state.out = out;
  using namespace actorrent;
  return {
    [self](const torrent_added& e) {
      line(self, "torrent_added", hash_field(e.info_hash) + ", \"name\": " + json_string(e.name)
                                    + ", \"download_dir\": " + json_string(e.download_dir));
    },
    [self](const checking_progress& e) {
      line(self, "checking_progress", hash_field(e.info_hash) + ", \"checked\": "
                                        + std::to_string(e.checked) + ", \"to_check\": "
                                        + std::to_string(e.to_check));
    },
    [self](const checking_finished& e) {
      line(self, "checking_finished", hash_field(e.info_hash) + ", \"present\": "
                                        + std::to_string(e.present) + ", \"total\": "
                                        + std::to_string(e.total));
    },
    [self](const piece_verified& e) {
      line(self, "piece_verified", hash_field(e.info_hash) + ", \"piece\": " + std::to_string(e.piece));
    },
    [self](const hash_failed& e) {
      line(self, "hash_failed", hash_field(e.info_hash) + ", \"piece\": " + std::to_string(e.piece));
    },
    [self](const peer_connected& e) {
      line(self, "peer_connected", hash_field(e.info_hash) + ", \"peer\": " + json_string(e.peer)
                                     + ", \"incoming\": " + (e.incoming ? "true" : "false"));
    },
    [self](const peer_disconnected& e) {
      line(self, "peer_disconnected", hash_field(e.info_hash) + ", \"peer\": " + json_string(e.peer)
                                        + ", \"reason\": " + json_string(e.reason));
    },
    [self](const peer_banned& e) {
      line(self, "peer_banned", hash_field(e.info_hash) + ", \"host\": " + json_string(e.host));
    },
    [self](const tracker_reply& e) {
      line(self, "tracker_reply", hash_field(e.info_hash) + ", \"tracker\": "
                                    + json_string(e.tracker) + ", \"peers\": "
                                    + std::to_string(e.peers) + ", \"interval\": "
                                    + std::to_string(e.interval));
    },
    [self](const tracker_error& e) {
      line(self, "tracker_error", hash_field(e.info_hash) + ", \"tracker\": "
                                    + json_string(e.tracker) + ", \"message\": "
                                    + json_string(e.message));
    },
    [self](const status_update& e) { line(self, "status", status_fields(e.status)); },
    [self](const download_finished& e) {
      line(self, "download_finished", status_fields(e.status));
      finished_downloads.fetch_add(1);
    },
    [self](const seeding_finished& e) { line(self, "seeding_finished", status_fields(e.status)); },
    [self](const torrent_error& e) {
      line(self, "torrent_error", hash_field(e.info_hash) + ", \"message\": " + json_string(e.message));
    },
    [self](const torrent_removed& e) {
      line(self, "torrent_removed", hash_field(e.info_hash) + ", \"data_deleted\": "
                                      + (e.data_deleted ? "true" : "false"));
    },
    [self](const session_stopped&) {
      line(self, "session_stopped", "");
      self->quit();
    },
  };
}

// -- the watcher: adds every new .torrent file ------------------------------------

struct watch_state {
  static inline const char* name = "watch.folder";
  std::set<fs::path> seen;
};

struct tick {};

caf::behavior watcher(caf::stateful_actor<watch_state>* self, actorrent::session* ses,
                      fs::path dir, fs::path download_dir, caf::actor log) {
  auto scan = [self, ses, dir, download_dir, log] {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const auto& p = entry.path();
      if (p.extension() != ".torrent" || !entry.is_regular_file(ec)) continue;
      if (!self->state.seen.insert(p).second) continue;
      actorrent::add_torrent_params params;
      params.download_dir = download_dir;
      auto t = ses->add_torrent_file(p, params);
      if (!t)
        caf::anon_send(log, actorrent::torrent_error{{}, p.filename().string() + ": " + t.err().message});
    }
  };
  scan();
  self->delayed_send(self, 500ms, caf::atom("scan"));
  return {
    [self, scan](caf::atom_value) {
      scan();
      self->delayed_send(self, 500ms, caf::atom("scan"));
    },
  };
}

int usage() {
  std::cerr << "usage: actorrent-watch WATCH_DIR DOWNLOAD_DIR [--events FILE] [--bind ADDR]"
               " [--port N] [--exit-after N]\n";
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  fs::path watch_dir = argv[1], download_dir = argv[2];
  std::string events_file, bind = "0.0.0.0";
  int port = 6881, exit_after = 0;
  for (int i = 3; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--events") events_file = v;
    else if (a == "--bind") bind = v;
    else if (a == "--port") port = std::stoi(v);
    else if (a == "--exit-after") exit_after = std::stoi(v);
    else return usage();
  }
  if (!fs::is_directory(watch_dir)) {
    std::cerr << "actorrent-watch: " << watch_dir << " is not a directory\n";
    return 1;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);

  std::ofstream file;
  std::ostream* out = &std::cout;
  if (!events_file.empty()) {
    file.open(events_file, std::ios::app);
    if (!file) {
      std::cerr << "actorrent-watch: cannot write " << events_file << "\n";
      return 1;
    }
    out = &file;
  }

  caf::actor_system_config cfg;
  actorrent::session::configure(cfg);
  cfg.set("logger.console", caf::atom("none"));
  caf::actor_system sys{cfg};
  auto log = sys.spawn(event_log, out);
  {
    actorrent::session_options opts;
    opts.bind_address = bind;
    opts.listen_port = static_cast<std::uint16_t>(port);
    actorrent::session ses{sys, opts};
    if (ses.listen_error())
      std::cerr << "actorrent-watch: warning: " << ses.listen_error().message << "\n";
    ses.subscribe(log);
    auto w = sys.spawn(watcher, &ses, watch_dir, download_dir, log);
    while (!stop_requested.load() && (exit_after == 0 || finished_downloads.load() < exit_after))
      std::this_thread::sleep_for(100ms);
    caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
    // Leaving the scope stops every torrent (resume data saved) and tells the
    // log session_stopped.
  }
  return 0;
}
