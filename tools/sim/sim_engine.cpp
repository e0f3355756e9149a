#include "sim_engine.hpp"

#include "file_indexes.hpp"
#include "file_layout.hpp"
#include "peer_actor.hpp"

#include <caf/scoped_actor.hpp>

#include <optional>
#include <thread>

namespace actorrent::sim {

caf::behavior owner(caf::event_based_actor* self, std::shared_ptr<recorder> rec) {
  // Only status, the end and errors go into the report; other events pass.
  self->set_default_handler(caf::drop);
  auto push = [rec](const torrent_status& st) {
    const auto& p = st.progress;
    sample s;
    s.t = st.elapsed;
    s.progress = p.bytes_total > 0 ? static_cast<double>(p.bytes_have) / static_cast<double>(p.bytes_total) : 1;
    s.min_availability = p.min_availability;
    s.downloaded = p.downloaded;
    s.duplicate = p.duplicate + st.discarded;
    s.peers = st.peers_connected;
    std::lock_guard<std::mutex> g(rec->m);
    rec->series.push_back(s);
    rec->final = st;
  };
  return {
    [push](const status_update& u) { push(u.status); },
    [rec, push](const download_finished& e) {
      push(e.status);
      std::lock_guard<std::mutex> g(rec->m);
      rec->done = true;
    },
    [rec](const torrent_error& e) {
      std::lock_guard<std::mutex> g(rec->m);
      rec->failed = true;
      rec->why = e.message;
    },
  };
}

namespace {

std::shared_ptr<metainfo> make_meta(const scenario& s, const content_spec& c) {
  auto m = std::make_shared<metainfo>();
  m->name = "sim-" + std::to_string(s.seed) + ".bin";
  m->piece_length = c.piece_length;
  m->total_length = c.total_length;
  m->piece_hashes = piece_hashes(c);
  // Equal shares that do not fall on piece edges, so that pieces straddle
  // a chosen and a skipped file.
  const std::int64_t share = c.total_length / s.files;
  for (std::uint32_t i = 0; i < s.files; ++i) {
    file_entry f;
    std::string file = "f";
    file += std::to_string(i + 1);
    file += ".bin";
    f.path = {m->name, std::move(file)};
    f.offset = share * i;
    f.length = i + 1 < s.files ? share : c.total_length - share * (s.files - 1);
    m->files.push_back(f);
  }
  if (s.files == 1) m->files.front().path = {m->name};
  m->info_hash = swarm_info_hash(s);
  return m;
}

peer_endpoint endpoint_of(const planned_peer& p) { return {p.host, p.port}; }

torrent_config make_config(const scenario& s, const std::vector<planned_peer>& swarm) {
  torrent_config cfg;
  for (const auto& p : swarm)
    if (p.arrives_after_ms == 0) cfg.peers.push_back(endpoint_of(p));
  std::string id = "-AR0100-simulation00";
  std::copy(id.begin(), id.end(), cfg.peer_id.begin());
  cfg.listen_port = 0;
  cfg.max_connections = s.max_connections > 0 ? s.max_connections : s.peers;
  cfg.stall_timeout = std::chrono::seconds(s.max_sim_time_s);
  // Keep running after the download so the harness can ask what was banned.
  cfg.seed = true;
  cfg.endgame_threshold = s.endgame_threshold;
  cfg.picker.seed = s.seed;
  cfg.picker.strategy = s.strategy == "sequential" ? pick_strategy::sequential
                        : s.strategy == "random"   ? pick_strategy::random
                                                   : pick_strategy::rarest;
  cfg.choking.seed = s.seed;
  cfg.status_updates = true;
  return cfg;
}

/// Dials a planned peer by its address: a real peer actor whose far end is
/// the peer's mock.
peer_dialer dialer(std::shared_ptr<std::map<std::string, wire_peer_actor>> mocks) {
  return [mocks](const dial_request& r) -> peer_actor {
    auto it = mocks->find(r.remote.host);
    // Every address the engine knows came from the harness.
    return spawn_wired_peer(*r.sys, r.key, it->second, r.remote, r.pm, r.disk, r.torrent, *r.cfg);
  };
}

} // namespace

void announce_late_peers(const std::vector<planned_peer>& swarm, const torrent_actor& torrent) {
  for (const auto& p : swarm)
    if (p.arrives_after_ms > 0)
      caf::delayed_anon_send(torrent, std::chrono::milliseconds(p.arrives_after_ms), peers_atom_v,
                             std::vector<peer_endpoint>{endpoint_of(p)});
}

namespace {

std::shared_ptr<memory_storage> make_store(const content_spec& c, const std::string& name) {
  auto store = std::make_shared<memory_storage>(
    file_layout({layout_file{{name}, c.total_length, false}}, c.piece_length), c.total_length);
  (void)store->open();
  return store;
}

} // namespace

engine make_engine(const scenario& s, const std::vector<planned_peer>& swarm,
                   const content_spec& content,
                   std::shared_ptr<std::map<std::string, wire_peer_actor>> mocks,
                   bool disk_thread) {
  engine e;
  e.meta = make_meta(s, content);
  e.store = make_store(content, e.meta->name);
  e.cfg = make_config(s, swarm);
  if (!s.only.empty()) {
    // parse_scenario checked the list against the number of files.
    e.cfg.file_priorities = *cli::select_files(*e.meta, s.only, {});
  }
  if (mocks) e.cfg.dial = dialer(std::move(mocks));
  e.cfg.disk_thread = disk_thread;
  return e;
}

void run_in_real_time(caf::actor_system& sys, net_service& net, const engine& e,
                      const scenario& s, const std::vector<planned_peer>& swarm,
                      const std::vector<mock_peer_actor>& mocks,
                      std::chrono::steady_clock::time_point wall_start, run_result& out) {
  using namespace std::chrono_literals;
  using wall_clock = std::chrono::steady_clock;
  caf::scoped_actor self{sys};
  auto rec = std::make_shared<recorder>();
  auto own = sys.spawn(owner, rec);
  auto torrent = spawn_torrent(sys, net, e.meta, e.cfg, e.store, {own}, {});
  announce_late_peers(swarm, torrent);
  auto deadline = wall_clock::now() + std::chrono::seconds(s.max_sim_time_s);
  for (;;) {
    {
      std::lock_guard<std::mutex> g(rec->m);
      if (rec->done || rec->failed) break;
    }
    if (wall_clock::now() > deadline) {
      out.failure = "not complete after " + std::to_string(s.max_sim_time_s) + " s";
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  out.sim_time_s = std::chrono::duration<double>(wall_clock::now() - wall_start).count();
  // Blocks still on their way arrive, and connections report once more.
  std::this_thread::sleep_for(1500ms);
  std::optional<torrent_status> last;
  self->request(torrent, 10s, status_request{true, true})
    .receive(
      [&](torrent_status& st) {
        out.engine_view = std::move(st.peers);
        last = std::move(st);
      },
      [](caf::error&) {});
  out.reports.resize(mocks.size());
  for (std::size_t i = 0; i < mocks.size(); ++i)
    self->request(mocks[i], 10s, status_atom_v)
      .receive([&](mock_report& r) { out.reports[i] = r; }, [](caf::error&) {});
  self->request(torrent, 30s, stop_atom_v).receive([](torrent_status&) {}, [](caf::error&) {});
  self->send_exit(own, caf::exit_reason::user_shutdown);
  std::lock_guard<std::mutex> g(rec->m);
  out.completed = rec->done;
  if (rec->failed && out.failure.empty()) out.failure = rec->why;
  out.series = rec->series;
  out.final = last ? *last : rec->final;
}

} // namespace actorrent::sim
