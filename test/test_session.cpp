// The embedding session with real torrents (files in a temporary directory,
// peers on 127.0.0.1): one torrent per info-hash, and a torrent that exited
// leaves nothing behind in the session.
#include <doctest/doctest.h>

#include "loopback.hpp"
#include "temp_dir.hpp"

#include "actorrent/session.hpp"
#include "handshake.hpp"
#include "messages.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include <poll.h>

#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <thread>

using namespace actorrent;
using namespace std::chrono_literals;

namespace {

caf::actor_system_config& with_types(caf::actor_system_config& cfg) {
  session::configure(cfg);
  cfg.set("logger.console", caf::atom("none"));
  return cfg;
}

/// A one-piece torrent of 1000 bytes, parsed from its bencoding like any
/// .torrent file.
metainfo tiny_torrent() {
  std::string data(1000, 'x');
  auto hash = sha1(data);
  std::string info = "d6:lengthi1000e4:name8:tiny.bin12:piece lengthi16384e6:pieces20:";
  info.append(reinterpret_cast<const char*>(hash.bytes.data()), hash.bytes.size());
  info += "e";
  auto meta = parse_metainfo("d4:info" + info + "e");
  REQUIRE(meta.has_value());
  return *meta;
}

session_options loopback() {
  session_options o;
  o.bind_address = "127.0.0.1";
  o.listen_port = 0;
  return o;
}

add_torrent_params in(const std::filesystem::path& dir) {
  add_torrent_params p;
  p.download_dir = dir;
  p.resume = false;
  return p;
}

/// Removes `torrent` (keeping its files) and waits until it has exited
/// (each step bounded).
void stop_and_wait(caf::actor_system& sys, const torrent_handle& torrent) {
  caf::scoped_actor ctl{sys};
  ctl->monitor(torrent.control());
  bool replied = false;
  ctl->request(torrent.control(), 30s, remove_request{false})
    .receive([&](bool) { replied = true; },
             [&](caf::error& err) { FAIL("stop failed: " << caf::to_string(err)); });
  CHECK(replied);
  bool down = false;
  ctl->receive([&](caf::down_msg&) { down = true; }, caf::after(10s) >> [] {});
  REQUIRE(down);
}

/// Sends a handshake for `info_hash` to 127.0.0.1:port and returns the
/// info-hash of the handshake that comes back, if one does within 2 s.
std::optional<sha1_hash> answered_handshake(std::uint16_t port, const sha1_hash& info_hash) {
  int s = testing::connect_loopback(port);
  wire::handshake hs;
  hs.info_hash = info_hash;
  hs.peer_id.fill('p');
  std::vector<std::uint8_t> out(wire::handshake_size);
  wire::encode_handshake(hs, std::span<std::uint8_t, wire::handshake_size>(out));
  REQUIRE(::send(s, out.data(), out.size(), 0) == static_cast<ssize_t>(out.size()));
  std::vector<std::uint8_t> in(wire::handshake_size);
  std::size_t got = 0;
  auto deadline = std::chrono::steady_clock::now() + 2s;
  while (got < in.size() && std::chrono::steady_clock::now() < deadline) {
    pollfd p{s, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    auto n = ::recv(s, in.data() + got, in.size() - got, 0);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(s);
  if (got < in.size()) return std::nullopt;
  auto reply = wire::decode_handshake(in);
  if (!reply) return std::nullopt;
  return reply->info_hash;
}

} // namespace

TEST_CASE("a torrent whose info-hash is already in the session is refused") {
  testing::temp_dir dir;
  caf::actor_system_config cfg;
  caf::actor_system sys{with_types(cfg)};
  caf::scoped_actor owner{sys};
  session ses{sys, loopback()};
  REQUIRE_FALSE(ses.listen_error());
  auto meta = tiny_torrent();

  auto first = ses.add_torrent(meta, in(dir.path / "one"), caf::actor_cast<caf::actor>(owner));
  REQUIRE(first.has_value());
  // Another directory changes nothing: the info-hash is what peers ask for.
  auto second = ses.add_torrent(meta, in(dir.path / "two"), caf::actor_cast<caf::actor>(owner));
  REQUIRE_FALSE(second.has_value());
  CHECK(second.err().code == errc::invalid_argument);
  CHECK(second.err().message
        == "duplicate torrent: tiny.bin (" + meta.info_hash.hex() + ") is already in this session");
  // Refused before touching the disk.
  CHECK_FALSE(std::filesystem::exists(dir.path / "two"));

  // The first one runs on.
  caf::scoped_actor ctl{sys};
  bool answered = false;
  ctl->request(first->control(), 5s, status_request{})
    .receive([&](torrent_status& st) { answered = st.info_hash == meta.info_hash; },
             [](caf::error&) {});
  CHECK(answered);
}

TEST_CASE("a tracker CA file that cannot be read is refused when the torrent is added") {
  testing::temp_dir dir;
  caf::actor_system_config cfg;
  caf::actor_system sys{with_types(cfg)};
  session ses{sys, loopback()};
  auto params = in(dir.path / "out");
  params.tracker_ca_file = dir.path / "missing-ca.pem";
  auto t = ses.add_torrent(tiny_torrent(), params);
  REQUIRE_FALSE(t.has_value());
  CHECK(t.err().code == errc::invalid_argument);
  CHECK(t.err().message == "tracker CA file " + params.tracker_ca_file.string() + ": cannot be read");
}

TEST_CASE("a torrent that exited is forgotten: the session lets its handle go and takes it again") {
  testing::temp_dir dir;
  caf::actor_system_config cfg;
  caf::actor_system sys{with_types(cfg)};
  caf::scoped_actor owner{sys};
  session ses{sys, loopback()};
  REQUIRE_FALSE(ses.listen_error());
  auto meta = tiny_torrent();

  caf::actor_addr gone;
  {
    auto first = ses.add_torrent(meta, in(dir.path), caf::actor_cast<caf::actor>(owner));
    REQUIRE(first.has_value());
    gone = first->control().address();
    stop_and_wait(sys, *first);
  }
  // Nothing may keep an exited torrent alive. CAF's clock holds it until the
  // last tick it sent itself is due (its 5 s shutdown deadline), no longer.
  bool released = false;
  for (auto deadline = std::chrono::steady_clock::now() + 15s;
       !released && std::chrono::steady_clock::now() < deadline;
       std::this_thread::sleep_for(50ms))
    released = caf::actor_cast<caf::actor>(gone) == nullptr;
  CHECK(released);

  auto again = ses.add_torrent(meta, in(dir.path), caf::actor_cast<caf::actor>(owner));
  REQUIRE(again.has_value());
  // And incoming peers reach the new torrent once it registered (after its
  // start-up check), not the one that is gone.
  std::optional<sha1_hash> reply;
  for (auto deadline = std::chrono::steady_clock::now() + 10s;
       !reply && std::chrono::steady_clock::now() < deadline;
       std::this_thread::sleep_for(100ms))
    reply = answered_handshake(ses.listen_port(), meta.info_hash);
  REQUIRE(reply.has_value());
  CHECK(*reply == meta.info_hash);
}

namespace {

/// A 4-piece multi-file torrent whose content the test writes itself.
struct small_swarm_torrent {
  std::string a = std::string(40000, 'a');  // file "set/a.bin"
  std::string b;                            // file "set/b.bin"
  metainfo meta;

  small_swarm_torrent() {
    for (int i = 0; i < 25000; ++i) b += static_cast<char>('0' + i % 10);
    std::string all = a + b;  // 65000 bytes in pieces of 16 KiB: 4 pieces
    std::string pieces;
    for (std::size_t off = 0; off < all.size(); off += 16384) {
      auto h = sha1(std::string_view(all).substr(off, 16384));
      pieces.append(reinterpret_cast<const char*>(h.bytes.data()), h.bytes.size());
    }
    std::string info = "d5:filesld6:lengthi40000e4:pathl5:a.bineed6:lengthi25000e4:pathl5:b.bineee"
                       "4:name3:set12:piece lengthi16384e6:pieces"
                       + std::to_string(pieces.size()) + ":" + pieces + "e";
    auto m = parse_metainfo("d4:info" + info + "e");
    REQUIRE(m.has_value());
    meta = *m;
  }

  void write_to(const std::filesystem::path& dir) const {
    std::filesystem::create_directories(dir / "set");
    std::ofstream(dir / "set" / "a.bin", std::ios::binary) << a;
    std::ofstream(dir / "set" / "b.bin", std::ios::binary) << b;
  }
};

/// Receives events (bounded) until one of type T arrives, with every other
/// event kind counted by name.
template <class T>
std::optional<T> next_event(caf::scoped_actor& self, std::map<std::string, int>& seen,
                            std::chrono::seconds timeout = 10s) {
  std::optional<T> found;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!found && std::chrono::steady_clock::now() < deadline) {
    self->receive(
      [&](const T& e) { found = e; },
      [&](const torrent_added&) { ++seen["torrent_added"]; },
      [&](const checking_progress&) { ++seen["checking_progress"]; },
      [&](const checking_finished&) { ++seen["checking_finished"]; },
      [&](const piece_verified&) { ++seen["piece_verified"]; },
      [&](const peer_connected&) { ++seen["peer_connected"]; },
      [&](const peer_disconnected&) { ++seen["peer_disconnected"]; },
      [&](const status_update&) { ++seen["status_update"]; },
      [&](const download_finished&) { ++seen["download_finished"]; },
      [&](const torrent_removed&) { ++seen["torrent_removed"]; },
      [&](const caf::message&) { ++seen["other"]; },
      caf::after(200ms) >> [] {});
  }
  return found;
}

torrent_status status_of(caf::actor_system& sys, const torrent_handle& t, bool files = false) {
  caf::scoped_actor self{sys};
  torrent_status out;
  self->request(t.control(), 5s, status_request{files, true})
    .receive([&](torrent_status& st) { out = std::move(st); },
             [&](caf::error& err) { FAIL("status failed: " << caf::to_string(err)); });
  return out;
}

} // namespace

TEST_CASE("embedding: typed events, pause and resume, per-file status, removal that deletes") {
  testing::temp_dir dir;
  caf::actor_system_config cfg;
  caf::actor_system sys{with_types(cfg)};
  small_swarm_torrent tor;
  tor.write_to(dir.path / "seed");

  // A seeder and a downloader: two sessions of this process, on 127.0.0.1.
  caf::scoped_actor seeder_events{sys};
  session seeder{sys, loopback()};
  REQUIRE_FALSE(seeder.listen_error());
  seeder.subscribe(caf::actor_cast<caf::actor>(seeder_events));
  auto sp = in(dir.path / "seed");
  sp.seed = true;
  auto seeding = seeder.add_torrent(tor.meta, sp);
  REQUIRE(seeding.has_value());

  caf::scoped_actor events{sys};
  session leecher{sys, loopback()};
  leecher.subscribe(caf::actor_cast<caf::actor>(events));
  auto lp = in(dir.path / "get");
  lp.peers = {"127.0.0.1:" + std::to_string(seeder.listen_port())};
  auto t = leecher.add_torrent(tor.meta, lp);
  REQUIRE(t.has_value());
  CHECK(t->info_hash() == tor.meta.info_hash);
  CHECK(t->name() == "set");
  CHECK(leecher.torrents().size() == 1);

  // Paused at once: nothing arrives, and the status says why.
  t->pause();
  std::map<std::string, int> seen;
  auto added = next_event<torrent_added>(events, seen);
  REQUIRE(added);
  CHECK(added->info_hash == tor.meta.info_hash);
  std::this_thread::sleep_for(1500ms);
  auto paused = status_of(sys, *t);
  CHECK(paused.state == torrent_state::paused);
  CHECK(paused.progress.pieces_have == 0);
  CHECK(paused.peers_connected == 0);

  // Resumed: the download completes, and the events tell it piece by piece.
  t->resume();
  auto done = next_event<download_finished>(events, seen, 30s);
  REQUIRE(done);
  CHECK(done->status.progress.bytes_have == 65000);
  CHECK(seen["piece_verified"] == 4);
  CHECK(seen["peer_connected"] >= 1);

  // Per-file progress from the seeder, which keeps running; per-host
  // figures name the downloader.
  auto st = status_of(sys, *seeding, true);
  CHECK(st.state == torrent_state::seeding);
  REQUIRE(st.files.size() == 2);
  CHECK(st.files[0].path == "set/a.bin");
  CHECK(st.files[0].size == 40000);
  CHECK(st.files[0].bytes_have == 40000);
  CHECK(st.files[1].bytes_have == 25000);
  REQUIRE(st.peers.size() == 1);
  std::this_thread::sleep_for(1100ms);  // the figures are a second old at most
  st = status_of(sys, *seeding, true);
  CHECK(st.peers[0].host == "127.0.0.1");
  CHECK(st.peers[0].uploaded >= 65000);

  // A recheck hashes everything again: a byte changed on disk behind the
  // torrent's back costs exactly its piece.
  {
    std::fstream f(dir.path / "seed" / "set" / "a.bin", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(20000);
    f.put('!');
  }
  std::map<std::string, int> seeder_seen;
  REQUIRE(next_event<checking_finished>(seeder_events, seeder_seen));  // the start-up check
  seeding->recheck();
  auto rechecked = next_event<checking_finished>(seeder_events, seeder_seen, 20s);
  REQUIRE(rechecked);
  CHECK(rechecked->present == 3);
  CHECK(rechecked->total == 4);
  CHECK(status_of(sys, *seeding).state == torrent_state::downloading);

  // Removing with delete_files takes the files and nothing else.
  std::ofstream(dir.path / "seed" / "keep.txt") << "not the torrent's";
  caf::scoped_actor ctl{sys};
  bool removed = false;
  ctl->request(seeding->control(), 30s, remove_request{true})
    .receive([&](bool ok) { removed = ok; }, [](caf::error&) {});
  CHECK(removed);
  CHECK_FALSE(std::filesystem::exists(dir.path / "seed" / "set" / "a.bin"));
  CHECK_FALSE(std::filesystem::exists(dir.path / "seed" / "set"));
  CHECK(std::filesystem::exists(dir.path / "seed" / "keep.txt"));
  // The downloader's copy is untouched.
  CHECK(std::filesystem::file_size(dir.path / "get" / "set" / "b.bin") == 25000);
}

TEST_CASE("for simple use a session makes its own actor system, and ends it last") {
  testing::temp_dir dir;
  auto meta = tiny_torrent();
  torrent_status st;
  {
    session ses{loopback()};
    REQUIRE_FALSE(ses.listen_error());
    auto t = ses.add_torrent(meta, in(dir.path));
    REQUIRE(t.has_value());
    caf::scoped_actor self{ses.system()};
    self->request(t->control(), 5s, status_request{true, false})
      .receive([&](torrent_status& s) { st = std::move(s); },
               [&](caf::error& err) { FAIL("status failed: " << caf::to_string(err)); });
    // Leaving the scope stops the torrent, then the session's own system.
  }
  CHECK(st.info_hash == meta.info_hash);
  REQUIRE(st.files.size() == 1);
  CHECK(st.files[0].path == "tiny.bin");
  CHECK(st.files[0].size == 1000);
}

TEST_CASE("embedding a magnet link: metadata phase in status and events, then the download") {
  testing::temp_dir dir;
  caf::actor_system_config cfg;
  caf::actor_system sys{with_types(cfg)};
  small_swarm_torrent tor;
  tor.write_to(dir.path / "seed");

  session seeder{sys, loopback()};
  REQUIRE_FALSE(seeder.listen_error());
  auto sp = in(dir.path / "seed");
  sp.seed = true;
  REQUIRE(seeder.add_torrent(tor.meta, sp).has_value());

  caf::scoped_actor events{sys};
  session leecher{sys, loopback()};
  leecher.subscribe(caf::actor_cast<caf::actor>(events));
  auto hex = tor.meta.info_hash.hex();
  auto lp = in(dir.path / "get");
  lp.seed = true;
  CHECK_FALSE(leecher.add_magnet("magnet:?dn=x", lp).has_value());

  // Only an address where nobody listens: the metadata phase lasts.
  auto nobody = "magnet:?xt=urn:btih:" + hex + "&dn=Some+Set&x.pe=127.0.0.1:"
                + std::to_string(testing::free_port());
  auto t = leecher.add_magnet(nobody, lp);
  REQUIRE(t.has_value());
  CHECK(t->info_hash() == tor.meta.info_hash);
  CHECK(t->name() == "Some Set");
  auto again = leecher.add_magnet(nobody, lp);
  REQUIRE_FALSE(again.has_value());
  CHECK(again.err().message.find("duplicate") != std::string::npos);
  std::map<std::string, int> seen;
  auto added = next_event<torrent_added>(events, seen);
  REQUIRE(added);
  CHECK(added->name == "Some Set");
  auto st = status_of(sys, *t);
  CHECK(st.state == torrent_state::downloading_metadata);
  CHECK(st.name == "Some Set");
  CHECK(st.peers_known == 1);
  stop_and_wait(sys, *t);

  // The seeder's address: metadata, then the data; the .torrent is kept.
  auto from_seeder = "magnet:?xt=urn:btih:" + hex + "&x.pe=127.0.0.1:"
                     + std::to_string(seeder.listen_port());
  // The session forgets the first once it has exited (bounded wait).
  result<torrent_handle> second = error{errc::invalid_argument, "not tried"};
  for (auto deadline = std::chrono::steady_clock::now() + 10s;
       !second && std::chrono::steady_clock::now() < deadline;
       std::this_thread::sleep_for(50ms))
    second = leecher.add_magnet(from_seeder, lp);
  REQUIRE(second.has_value());
  t = second;
  CHECK(t->name() == hex);  // no dn: the hash until the metadata says
  auto got = next_event<metadata_received>(events, seen, 20s);
  REQUIRE(got);
  CHECK(got->name == "set");
  CHECK(got->fetched);
  auto saved = dir.path / "get" / ".actorrent" / (hex + ".torrent");
  CHECK(got->torrent_file == saved.string());
  auto done = next_event<download_finished>(events, seen, 30s);
  REQUIRE(done);
  CHECK(done->status.progress.bytes_have == 65000);
  CHECK(done->status.name == "set");
  auto reread = load_metainfo(saved);
  REQUIRE(reread.has_value());
  CHECK(reread->info_hash == tor.meta.info_hash);
  // Seeding on: requests reach the torrent through the magnet's handle, and
  // removing with its files takes the saved metainfo too.
  CHECK(status_of(sys, *t).state == torrent_state::seeding);
  caf::scoped_actor ctl{sys};
  bool removed = false;
  ctl->request(t->control(), 60s, remove_request{true})
    .receive([&](bool ok) { removed = ok; }, [](caf::error&) {});
  CHECK(removed);
  CHECK_FALSE(std::filesystem::exists(dir.path / "get" / "set" / "a.bin"));
  CHECK_FALSE(std::filesystem::exists(saved));
}

TEST_CASE("embedding a file selection: skipped files stay out, and a new selection fetches the rest") {
  testing::temp_dir dir;
  caf::actor_system_config cfg;
  caf::actor_system sys{with_types(cfg)};
  small_swarm_torrent tor;  // a.bin: pieces 0-2; b.bin: pieces 2-3 (piece 2 holds both)
  tor.write_to(dir.path / "seed");

  session seeder{sys, loopback()};
  REQUIRE_FALSE(seeder.listen_error());
  auto sp = in(dir.path / "seed");
  sp.seed = true;
  REQUIRE(seeder.add_torrent(tor.meta, sp).has_value());

  caf::scoped_actor events{sys};
  session leecher{sys, loopback()};
  leecher.subscribe(caf::actor_cast<caf::actor>(events));
  auto lp = in(dir.path / "get");
  lp.peers = {"127.0.0.1:" + std::to_string(seeder.listen_port())};
  lp.seed = true;  // stays after the selection is complete, for the change below
  lp.file_priorities = {0, 1};
  auto t = leecher.add_torrent(tor.meta, lp);
  REQUIRE(t.has_value());

  std::map<std::string, int> seen;
  auto done = next_event<download_finished>(events, seen, 30s);
  REQUIRE(done);
  const auto& p = done->status.progress;
  CHECK(p.pieces_have == 2);
  CHECK(p.total_wanted == 65000 - 2 * 16384);
  CHECK(p.total_wanted_done == p.total_wanted);
  CHECK(seen["piece_verified"] == 2);
  auto st = status_of(sys, *t, true);
  REQUIRE(st.files.size() == 2);
  CHECK(st.files[0].priority == 0);
  CHECK(st.files[1].priority == 1);
  CHECK(st.files[1].bytes_have == 25000);
  CHECK(st.files[0].bytes_have == 40000 - 2 * 16384);  // its share of the straddling piece
  // a.bin exists only for those bytes; the rest of it is a hole.
  {
    std::ifstream a(dir.path / "get" / "set" / "a.bin", std::ios::binary);
    std::string got((std::istreambuf_iterator<char>(a)), std::istreambuf_iterator<char>());
    REQUIRE(got.size() == 40000);
    CHECK(got.substr(0, 2 * 16384) == std::string(2 * 16384, '\0'));
    CHECK(got.substr(2 * 16384) == tor.a.substr(2 * 16384));
  }

  // Every file now: the torrent downloads again, only what it lacks.
  t->set_file_priorities({1, 1});
  seen.clear();
  auto again = next_event<download_finished>(events, seen, 30s);
  REQUIRE(again);
  CHECK(again->status.progress.pieces_have == 4);
  CHECK(again->status.progress.total_wanted == 65000);
  CHECK(seen["piece_verified"] == 2);
  std::ifstream a(dir.path / "get" / "set" / "a.bin", std::ios::binary);
  std::string got((std::istreambuf_iterator<char>(a)), std::istreambuf_iterator<char>());
  CHECK(got == tor.a);
}

TEST_CASE("the session's configuration lets idle scheduler threads sleep instead of polling") {
  // CAF's default makes an idle thread poll 500 times, 50 us apart, before it
  // sleeps: timer wake-ups that cost an embedder CPU between bursts of work.
  constexpr std::size_t caf_default = 500;
  caf::actor_system_config cfg;
  session::configure(cfg);
  CHECK(caf::get_or(cfg, "work-stealing.moderate-poll-attempts", caf_default) == 0);
  session ses{loopback()};
  CHECK(caf::get_or(ses.system().config(), "work-stealing.moderate-poll-attempts", caf_default) == 0);
}
