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

/// Stops `torrent` and waits until it has exited (each step bounded).
void stop_and_wait(caf::actor_system& sys, const caf::actor& torrent) {
  caf::scoped_actor ctl{sys};
  ctl->monitor(torrent);
  bool replied = false;
  ctl->request(torrent, 30s, stop_atom_v)
    .receive([&](torrent_status&) { replied = true; },
             [&](caf::error& err) { FAIL("stop failed: " << caf::to_string(err)); });
  CHECK(replied);
  bool down = false;
  ctl->receive([&](caf::down_msg&) { down = true; }, caf::after(10s) >> [] {});
  REQUIRE(down);
}

/// Sends a handshake for `info_hash` to 127.0.0.1:port and returns the
/// info-hash of the handshake that comes back, if one does within 2 s.
std::optional<sha1_hash> answered_handshake(std::uint16_t port, const sha1_hash& info_hash) {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(s >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
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
  ctl->request(*first, 5s, status_atom_v)
    .receive([&](torrent_status&) { answered = true; }, [](caf::error&) {});
  CHECK(answered);
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
    gone = first->address();
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
