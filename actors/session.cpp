#include "actorrent/session.hpp"

#include "dht_actor.hpp"
#include "file_selection.hpp"
#include "file_storage.hpp"
#include "listener.hpp"
#include "log.hpp"
#include "magnet_actor.hpp"
#include "messages.hpp"
#include "net_service.hpp"
#include "peer_router_actor.hpp"
#include "peer_sources.hpp"
#include "resume_data.hpp"
#include "torrent_actor.hpp"

#include <caf/actor_cast.hpp>
#include <caf/scoped_actor.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <mutex>
#include <random>

namespace actorrent {

namespace {

/// The torrents of a session that have not exited, by info-hash. A torrent's
/// exit hook removes it, on whatever thread the torrent ends and possibly
/// after the session is gone: hence the lock and the shared ownership.
struct torrent_registry {
  std::mutex mutex;
  /// An empty handle holds the place of a torrent being added.
  std::map<sha1_hash, torrent_handle> torrents;
};

/// Deletes what a torrent wrote: its files, the directories they made when
/// empty, and its resume file. Nothing outside `root` is touched: the
/// layout's paths are validated and no symlink below `root` is followed.
error delete_torrent_files(const file_layout& layout, const std::filesystem::path& root,
                           const std::filesystem::path& resume_file) {
  error result = file_storage(layout, root).remove_files();
  if (!resume_file.empty())
    if (auto e = remove_resume_file(resume_file); e && !result) result = std::move(e);
  return result;
}

} // namespace

struct session::impl {
  caf::actor_system& sys;
  session_options opts;
  net_service net;
  std::array<std::uint8_t, 20> peer_id{};
  std::shared_ptr<torrent_registry> registry = std::make_shared<torrent_registry>();
  peer_router_actor router;
  std::shared_ptr<listener> acceptor;
  error listen_error;
  std::vector<caf::actor> subscribers;
  std::shared_ptr<rate_limiter> down_limit;
  std::shared_ptr<rate_limiter> up_limit;
  std::shared_ptr<connection_budget> connections;
  std::shared_ptr<encryption_keys> keys = std::make_shared<encryption_keys>();
  dht_actor dht;
  std::uint16_t dht_port = 0;
  error dht_error;

  impl(caf::actor_system& s, session_options o)
    : sys(s),
      opts(std::move(o)),
      net(opts.network_threads),
      down_limit(std::make_shared<rate_limiter>(opts.max_download_rate)),
      up_limit(std::make_shared<rate_limiter>(opts.max_upload_rate)),
      connections(std::make_shared<connection_budget>(opts.max_connections)) {
    // Azureus-style id: client code and version, then random characters.
    static const char prefix[] = "-AR0100-";
    static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    std::random_device rd;
    for (std::size_t i = 0; i < 8; ++i) peer_id[i] = static_cast<std::uint8_t>(prefix[i]);
    for (std::size_t i = 8; i < 20; ++i)
      peer_id[i] = static_cast<std::uint8_t>(alphabet[rd() % (sizeof alphabet - 1)]);
  }

  result<torrent_handle> spawn(const metainfo& meta, const add_torrent_params& params,
                               std::vector<caf::actor> listeners, std::uint16_t port,
                               std::vector<peer_endpoint> more_peers = {});
  /// Takes the info-hash's place in the registry; an error when it is taken.
  error reserve(const sha1_hash& hash, const std::string& name);
  /// Makes the registry forget `handle` once its actor exits.
  void forget_on_exit(const torrent_handle& handle);
  /// Starts the DHT when the options ask for it (dht_error says why not).
  void start_dht();
  /// Connections made with `pc` speak of our DHT (BEP 5: the handshake
  /// bit, PORT both ways); nothing without a DHT.
  void use_dht(peer_config& pc) {
    if (!dht) return;
    pc.dht_port = dht_port;
    pc.dht_node = [d = dht](const std::string& host, std::uint16_t port) {
      caf::anon_send(d, join_atom_v, peer_endpoint{host, port});
    };
  }
  /// Puts `owner` in the DHT's care for `info_hash` (nothing without a DHT).
  void find_through_dht(const sha1_hash& info_hash, std::uint16_t port, tracker_owner_actor owner);
};

void session::impl::start_dht() {
  if (!opts.dht.enabled) return;
  dht_config dc;
  for (const auto& text : opts.dht.bootstrap) {
    auto ep = parse_endpoint(text);
    if (!ep) {
      dht_error = error{errc::invalid_argument, "DHT bootstrap node " + text + ": " + ep.err().message};
      return;
    }
    dc.bootstrap.push_back(*ep);
  }
  if (opts.dht.public_routers)
    dc.fallback = {{"router.bittorrent.com", 6881}, {"dht.transmissionbt.com", 6881}, {"router.utorrent.com", 6881}};
  dc.state_file = opts.dht.state_file;
  // IPv4 only: an IPv6 listening address leaves the DHT on every IPv4 one.
  auto bind = opts.bind_address.find(':') == std::string::npos ? opts.bind_address : std::string("0.0.0.0");
  auto d = spawn_dht(sys, net, bind, opts.dht.port, std::move(dc));
  if (!d) {
    dht_error = d.err();
    ACTORRENT_LOG(warning, dht_error.to_string());
    return;
  }
  dht = d->actor;
  dht_port = d->port;
}

void session::impl::find_through_dht(const sha1_hash& info_hash, std::uint16_t port, tracker_owner_actor owner) {
  if (dht) caf::anon_send(dht, peers_atom_v, info_hash, port, std::move(owner));
}

error session::impl::reserve(const sha1_hash& hash, const std::string& name) {
  std::lock_guard<std::mutex> guard(registry->mutex);
  if (!registry->torrents.try_emplace(hash).second)
    return error{errc::invalid_argument, "duplicate torrent: " + name + " (" + hash.hex()
                                           + ") is already in this session"};
  return {};
}

void session::impl::forget_on_exit(const torrent_handle& handle) {
  // However the torrent ends (done, failed, stopped, killed), the session
  // forgets it: the info-hash is free again and no handle keeps the dead
  // actor around. Runs at once when the torrent is already gone.
  handle.control()->attach_functor(
    [reg = registry, hash = handle.info_hash(), addr = handle.control().address()](const caf::error&) {
      torrent_handle last;  // released after the lock
      std::lock_guard<std::mutex> guard(reg->mutex);
      auto it = reg->torrents.find(hash);
      if (it != reg->torrents.end() && it->second.control().address() == addr) {
        last = std::move(it->second);
        reg->torrents.erase(it);
      }
    });
}

void session::configure(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::actorrent_api>();
  cfg.add_message_types<caf::id_block::actorrent>();
  cfg.add_error_category(error_category, [](std::uint8_t code, caf::atom_value,
                                            const caf::message& ctx) {
    std::string out = to_string(static_cast<errc>(code));
    if (ctx.match_elements<std::string>()) {
      out += ": ";
      out += ctx.get_as<std::string>(0);
    }
    return out;
  });
  // An idle scheduler thread spins briefly, then sleeps until woken by new
  // work, skipping CAF's default middle phase of 500 polls 50 us apart: each
  // of those is a timer wake-up, and between bursts of blocks they cost more
  // CPU than the work they find. An embedder may set it again afterwards.
  cfg.set("work-stealing.moderate-poll-attempts", std::size_t{0});
}

struct session::owned_system {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
};

session::session(session_options opts) : own_(std::make_shared<owned_system>()) {
  configure(own_->cfg);
  own_->cfg.set("logger.console", caf::atom("none"));
  own_->sys = std::make_unique<caf::actor_system>(own_->cfg);
  init(*own_->sys, std::move(opts));
}

session::session(caf::actor_system& sys, session_options opts) { init(sys, std::move(opts)); }

caf::actor_system& session::system() noexcept { return impl_->sys; }

void session::init(caf::actor_system& sys, session_options opts) {
  impl_ = std::make_unique<impl>(sys, std::move(opts));
  impl_->start_dht();
  if (!impl_->opts.listen) return;
  impl_->router = spawn_peer_router(sys, impl_->keys);
  auto router = impl_->router;
  tcp_connection::incoming_encryption enc;
  enc.policy = impl_->opts.encryption;
  enc.lookup = [keys = impl_->keys](const sha1_hash& req2) { return keys->find(req2); };
  auto l = listener::open(
    impl_->net.io(), impl_->opts.bind_address, impl_->opts.listen_port,
    [router](std::shared_ptr<tcp_connection> conn, std::vector<std::uint8_t> handshake) {
      caf::anon_send(router, incoming_atom_v, std::move(conn), std::move(handshake));
    },
    std::chrono::seconds(10), std::move(enc));
  if (!l) {
    impl_->listen_error = l.err();
    return;
  }
  impl_->acceptor = *l;
}

void session::set_verbosity(int level) {
  log::set_level(level >= 2 ? log::level::debug : level == 1 ? log::level::info : log::level::warning);
}

void session::subscribe(caf::actor listener) {
  if (listener) impl_->subscribers.push_back(std::move(listener));
}

std::vector<torrent_handle> session::torrents() const {
  std::vector<torrent_handle> out;
  std::lock_guard<std::mutex> guard(impl_->registry->mutex);
  for (auto& [hash, t] : impl_->registry->torrents)
    if (t) out.push_back(t);
  return out;
}

void torrent_handle::pause() const {
  if (control_) caf::anon_send(control_, pause_request{});
}

void torrent_handle::resume() const {
  if (control_) caf::anon_send(control_, resume_request{});
}

void torrent_handle::recheck() const {
  if (control_) caf::anon_send(control_, recheck_request{});
}

void torrent_handle::set_file_priorities(std::vector<std::uint8_t> priorities) const {
  if (control_) caf::anon_send(control_, file_priority_request{std::move(priorities)});
}

void torrent_handle::remove(bool delete_files) const {
  if (control_) caf::anon_send(control_, remove_request{delete_files});
}

void session::set_rate_limits(std::uint64_t max_download_rate, std::uint64_t max_upload_rate) {
  impl_->down_limit->set_rate(max_download_rate);
  impl_->up_limit->set_rate(max_upload_rate);
}

const error& session::listen_error() const noexcept { return impl_->listen_error; }

std::uint16_t session::dht_port() const noexcept { return impl_->dht_port; }

const error& session::dht_error() const noexcept { return impl_->dht_error; }

std::uint16_t session::listen_port() const noexcept {
  return impl_->acceptor ? impl_->acceptor->port() : 0;
}

session::~session() {
  // Torrents own sockets on the network thread, which dies with this session:
  // stop them all (each waits for its own actors) before it goes.
  if (impl_->acceptor) impl_->acceptor->close();
  caf::scoped_actor self{impl_->sys};
  std::vector<torrent_actor> running;
  {
    std::lock_guard<std::mutex> guard(impl_->registry->mutex);
    for (auto& [hash, t] : impl_->registry->torrents)
      if (t) running.push_back(caf::actor_cast<torrent_actor>(t.control()));
  }
  std::size_t alive = 0;
  for (auto& t : running) {
    self->monitor(t);
    self->send(t, stop_atom_v);
    ++alive;
  }
  // Longer than a torrent's own bounded stop (resume save 30 s, tracker
  // 10 s, actors 5 s).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (alive > 0 && std::chrono::steady_clock::now() < deadline) {
    self->receive([&](caf::down_msg&) { --alive; }, [](const torrent_status&) {},
                  caf::after(std::chrono::milliseconds(100)) >> [] {});
  }
  if (impl_->dht) {
    // Saves the table; bounded like the rest.
    self->request(impl_->dht, std::chrono::seconds(10), stop_atom_v)
      .receive([](bool) {}, [](const caf::error& e) {
        ACTORRENT_LOG(warning, "DHT: stop: " << caf::to_string(e));
      });
  }
  if (impl_->router) {
    self->monitor(impl_->router);
    self->send_exit(impl_->router, caf::exit_reason::user_shutdown);
    self->receive([](caf::down_msg&) {},
                  caf::after(std::chrono::seconds(5)) >> [] {});
  }
  for (auto& s : impl_->subscribers) self->send(s, session_stopped{});
}

const std::array<std::uint8_t, 20>& session::peer_id() const noexcept { return impl_->peer_id; }

result<torrent_handle> session::add_torrent_file(const std::filesystem::path& file,
                                                const add_torrent_params& params,
                                                caf::actor listener) {
  auto meta = load_metainfo(file);
  if (!meta) return meta.err();
  return add_torrent(*meta, params, std::move(listener));
}

result<torrent_handle> session::add_torrent_bytes(std::string_view bytes,
                                                 const add_torrent_params& params,
                                                 caf::actor listener) {
  auto meta = parse_metainfo(bytes);
  if (!meta) return meta.err();
  return add_torrent(*meta, params, std::move(listener));
}

result<torrent_handle> session::add_torrent(const metainfo& meta, const add_torrent_params& params,
                                            caf::actor listener) {
  // The place is taken before the files are touched: a second torrent would
  // share the first one's files, and the router can hand an info-hash's
  // peers to only one of them.
  if (auto err = impl_->reserve(meta.info_hash, meta.name)) return err;
  auto registry = impl_->registry;
  auto port = listen_port() != 0 ? listen_port() : impl_->opts.listen_port;
  auto listeners = impl_->subscribers;
  if (listener) listeners.push_back(std::move(listener));
  auto torrent = impl_->spawn(meta, params, std::move(listeners), port);
  {
    std::lock_guard<std::mutex> guard(registry->mutex);
    if (!torrent) {
      registry->torrents.erase(meta.info_hash);
      return torrent;
    }
    registry->torrents[meta.info_hash] = *torrent;
  }
  impl_->forget_on_exit(*torrent);
  return torrent;
}

result<torrent_handle> session::add_magnet(std::string_view uri, const add_torrent_params& params,
                                           caf::actor listener) {
  auto link = parse_magnet(uri);
  if (!link) return link.err();
  magnet_config mc;
  for (const std::vector<std::string>* list : {&std::as_const(link->peers), &params.peers}) {
    for (const auto& text : *list) {
      auto ep = parse_endpoint(text);
      if (!ep) return ep.err();
      mc.peers.push_back(*ep);
    }
  }
  auto name = link->name.empty() ? link->info_hash.hex() : link->name;
  if (auto err = impl_->reserve(link->info_hash, name)) return err;
  auto registry = impl_->registry;
  auto port = listen_port() != 0 ? listen_port() : impl_->opts.listen_port;
  auto listeners = impl_->subscribers;
  if (listener) listeners.push_back(std::move(listener));

  mc.link = *link;
  mc.torrent_file = params.download_dir / ".actorrent" / (link->info_hash.hex() + ".torrent");
  mc.max_metadata_size = params.max_metadata_size;
  mc.max_connections = std::min<std::size_t>(params.max_connections, 20);
  mc.stall_timeout = params.stall_timeout;
  mc.peer_id = impl_->peer_id;
  mc.listen_port = port;
  mc.download_dir = params.download_dir;
  mc.status_updates = impl_->opts.status_updates;
  mc.encryption = params.encryption.value_or(impl_->opts.encryption);
  impl_->use_dht(mc.peer);
  // The torrent proper starts from the session's own path, with the peers
  // found while fetching. The session outlives the magnet actor: its
  // destructor waits for every torrent to stop.
  mc.start = [impl = impl_.get(), params, listeners, port](
               const metainfo& meta, std::vector<peer_endpoint> peers) -> result<torrent_control> {
    auto p = params;
    p.peers.clear();
    if (p.choose_files) {
      auto chosen = p.choose_files(meta);
      if (!chosen) return chosen.err();
      p.file_priorities = std::move(*chosen);
    }
    auto t = impl->spawn(meta, p, listeners, port, std::move(peers));
    if (!t) return t.err();
    return t->control();
  };
  // A link that names neither trackers nor peers has only the DHT to find
  // the metadata's holders.
  bool through_dht = link->trackers.empty() && mc.peers.empty();
  auto actor = spawn_magnet(impl_->sys, impl_->net, std::move(mc), std::move(listeners));
  if (through_dht) impl_->find_through_dht(link->info_hash, port, caf::actor_cast<tracker_owner_actor>(actor));
  torrent_handle handle{caf::actor_cast<torrent_control>(actor), link->info_hash, name};
  {
    std::lock_guard<std::mutex> guard(registry->mutex);
    registry->torrents[link->info_hash] = handle;
  }
  impl_->forget_on_exit(handle);
  return handle;
}

result<torrent_handle> session::impl::spawn(const metainfo& meta, const add_torrent_params& params,
                                            std::vector<caf::actor> listeners, std::uint16_t port,
                                            std::vector<peer_endpoint> more_peers) {
  torrent_config cfg;
  cfg.encryption = params.encryption.value_or(opts.encryption);
  cfg.peers = std::move(more_peers);
  for (auto& text : params.peers) {
    auto ep = parse_endpoint(text);
    if (!ep) return ep.err();
    cfg.peers.push_back(*ep);
  }
  if (!params.tracker_ca_file.empty()) {
    // Refused now rather than at every https announce.
    std::ifstream ca(params.tracker_ca_file);
    if (!ca)
      return error{errc::invalid_argument,
                   "tracker CA file " + params.tracker_ca_file.string() + ": cannot be read"};
    cfg.tracker_ca_file = params.tracker_ca_file.string();
  }
  cfg.peer_id = peer_id;
  cfg.listen_port = port;
  cfg.seed = params.seed;
  cfg.seed_time = params.seed_time;
  cfg.seed_ratio = params.seed_ratio;
  if (params.resume) cfg.resume_file = resume_path(params.download_dir, meta.info_hash);
  cfg.stall_timeout = params.stall_timeout;
  cfg.endgame_threshold = params.endgame_threshold;
  if (params.file_priorities.size() > data_file_count(meta))
    return error{errc::invalid_argument,
                 "file_priorities has " + std::to_string(params.file_priorities.size()) +
                   " entries; " + meta.name + " has " + std::to_string(data_file_count(meta)) +
                   " files"};
  cfg.file_priorities = params.file_priorities;
  if (params.sequential) cfg.picker.strategy = pick_strategy::sequential;
  cfg.max_connections = params.max_connections;
  cfg.download_dir = params.download_dir;
  cfg.status_updates = opts.status_updates;
  cfg.udp_tracker.retransmit_base = std::max(opts.udp_tracker_timeout, std::chrono::milliseconds{1});
  cfg.udp_tracker.max_retransmits = std::min(opts.udp_tracker_retransmits, 8u);
  // The session's buckets always (set_rate_limits may limit them later);
  // the torrent's own only when it has a limit.
  cfg.down_limits = {down_limit};
  cfg.up_limits = {up_limit};
  if (params.max_download_rate != 0)
    cfg.down_limits.push_back(std::make_shared<rate_limiter>(params.max_download_rate));
  if (params.max_upload_rate != 0)
    cfg.up_limits.push_back(std::make_shared<rate_limiter>(params.max_upload_rate));
  cfg.session_connections = connections;
  cfg.choking.upload_slots = opts.upload_slots;
  cfg.peer.min_pipeline = opts.min_pipeline;
  cfg.peer.max_pipeline = std::max(opts.max_pipeline, opts.min_pipeline);
  cfg.peer.initial_pipeline =
    std::clamp(opts.initial_pipeline, opts.min_pipeline, cfg.peer.max_pipeline);
  if (allowed_peer_sources(meta.is_private).dht) use_dht(cfg.peer);

  std::vector<layout_file> files;
  for (auto& f : meta.files) {
    layout_file lf;
    if (meta.multi_file) lf.path.push_back(meta.name);
    lf.path.insert(lf.path.end(), f.path.begin(), f.path.end());
    if (!meta.multi_file) lf.path = {meta.name};
    lf.length = f.length;
    lf.pad = f.pad;
    files.push_back(std::move(lf));
  }
  auto layout = file_layout::make(std::move(files), meta.piece_length);
  if (!layout) return layout.err();
  std::error_code ec;
  std::filesystem::create_directories(params.download_dir, ec);
  if (ec)
    return error{errc::io_error,
                 "cannot create " + params.download_dir.string() + ": " + ec.message()};
  cfg.delete_files = [layout = *layout, root = params.download_dir, resume = cfg.resume_file] {
    return delete_torrent_files(layout, root, resume);
  };
  auto store = std::make_shared<file_storage>(std::move(*layout), params.download_dir);
  if (auto err = store->open()) return err;

  auto meta_ptr = std::make_shared<const metainfo>(meta);
  auto handle = spawn_torrent(sys, net, meta_ptr, std::move(cfg), std::move(store),
                              std::move(listeners), router);
  if (allowed_peer_sources(meta.is_private).dht)
    find_through_dht(meta.info_hash, port, caf::actor_cast<tracker_owner_actor>(handle));
  else if (dht)
    // A magnet link's torrent that turned out private: the link's search ends.
    caf::anon_send(dht, leave_atom_v, meta.info_hash);
  return torrent_handle{handle, meta.info_hash, meta.name};
}

} // namespace actorrent
