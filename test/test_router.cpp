// Incoming connections on a real loopback socket: the listener reads the
// handshake, the peer router hands the connection to the torrent it names,
// and refuses what names no torrent or is no handshake at all.
#include <doctest/doctest.h>

#include "loopback.hpp"

#include "actorrent/session.hpp"
#include "handshake.hpp"
#include "interfaces.hpp"
#include "listener.hpp"
#include "net_service.hpp"
#include "peer_router_actor.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <poll.h>

#include <chrono>
#include <condition_variable>
#include <mutex>

using namespace actorrent;
using namespace std::chrono_literals;

namespace {

// Info-hashes of the handshakes each stand-in torrent was handed.
struct arrivals {
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::pair<char, sha1_hash>> seen;

  void push(char who, sha1_hash h) {
    {
      std::lock_guard<std::mutex> g(m);
      seen.emplace_back(who, h);
    }
    cv.notify_all();
  }
  bool wait_for_count(std::size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> g(m);
    return cv.wait_for(g, timeout, [&] { return seen.size() >= n; });
  }
  std::vector<std::pair<char, sha1_hash>> all() {
    std::lock_guard<std::mutex> g(m);
    return seen;
  }
};

incoming_peer_actor::behavior_type stand_in(incoming_peer_actor::pointer, char who,
                                            std::shared_ptr<arrivals> log) {
  return {
    [who, log](incoming_atom, connection_ptr& conn, std::vector<std::uint8_t>& hs) {
      auto decoded = wire::decode_handshake(hs);
      REQUIRE(decoded.has_value());
      log->push(who, decoded->info_hash);
      conn->close();
    },
  };
}

int connect_to(std::uint16_t port) { return testing::connect_loopback(port); }

std::vector<std::uint8_t> handshake_for(const sha1_hash& h) {
  wire::handshake hs;
  hs.info_hash = h;
  hs.peer_id.fill('p');
  std::vector<std::uint8_t> out(wire::handshake_size);
  wire::encode_handshake(hs, std::span<std::uint8_t, wire::handshake_size>(out));
  return out;
}

/// True when the other side closed the connection within `timeout`.
bool closed_by_peer(int s, std::chrono::milliseconds timeout) {
  pollfd p{s, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
  char c;
  return ::recv(s, &c, 1, 0) == 0;
}

caf::actor_system_config& with_types(caf::actor_system_config& cfg) {
  session::configure(cfg);
  cfg.set("logger.console", caf::atom("none"));
  return cfg;
}

struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{with_types(cfg)};
  net_service net{1};
  std::shared_ptr<arrivals> log = std::make_shared<arrivals>();
  peer_router_actor router = spawn_peer_router(sys);
  std::shared_ptr<listener> acceptor;
  sha1_hash a = sha1("torrent a");
  sha1_hash b = sha1("torrent b");
  incoming_peer_actor ta = sys.spawn(stand_in, 'a', log);
  incoming_peer_actor tb = sys.spawn(stand_in, 'b', log);
  // Stand-ins a test adds; stopped with the others, even when a test fails.
  std::vector<incoming_peer_actor> more;

  fixture() {
    auto r = router;
    auto l = listener::open(
      net.io(), "127.0.0.1", 0,
      [r](connection_ptr conn, std::vector<std::uint8_t> hs) {
        caf::anon_send(r, incoming_atom_v, std::move(conn), std::move(hs));
      },
      1500ms);
    REQUIRE(l.has_value());
    acceptor = *l;
    REQUIRE(acceptor->port() != 0);
    caf::anon_send(router, register_atom_v, a, ta);
    caf::anon_send(router, register_atom_v, b, tb);
  }

  ~fixture() {
    acceptor->close();
    caf::anon_send_exit(router, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(ta, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(tb, caf::exit_reason::user_shutdown);
    for (auto& t : more) caf::anon_send_exit(t, caf::exit_reason::user_shutdown);
    sys.await_all_actors_done();
  }

  incoming_peer_actor spawn_stand_in(char who) {
    more.push_back(sys.spawn(stand_in, who, log));
    return more.back();
  }

  /// Connects and sends the handshake for `h`; returns the socket.
  int send_handshake(const sha1_hash& h) {
    int s = connect_to(acceptor->port());
    auto hs = handshake_for(h);
    REQUIRE(::send(s, hs.data(), hs.size(), 0) == static_cast<ssize_t>(hs.size()));
    return s;
  }
};

} // namespace

TEST_CASE("an incoming handshake reaches the torrent it names, among several") {
  fixture f;
  int s1 = connect_to(f.acceptor->port());
  auto hs = handshake_for(f.b);
  REQUIRE(::send(s1, hs.data(), hs.size(), 0) == static_cast<ssize_t>(hs.size()));
  REQUIRE(f.log->wait_for_count(1, 5s));
  int s2 = connect_to(f.acceptor->port());
  hs = handshake_for(f.a);
  // Sent in two parts: the listener must wait for all 68 bytes.
  REQUIRE(::send(s2, hs.data(), 30, 0) == 30);
  std::this_thread::sleep_for(50ms);
  REQUIRE(::send(s2, hs.data() + 30, hs.size() - 30, 0) == static_cast<ssize_t>(hs.size() - 30));
  REQUIRE(f.log->wait_for_count(2, 5s));
  auto seen = f.log->all();
  CHECK(seen[0] == std::make_pair('b', f.b));
  CHECK(seen[1] == std::make_pair('a', f.a));
  ::close(s1);
  ::close(s2);
}

TEST_CASE("connections for unknown torrents, non-handshakes and silent peers are closed") {
  fixture f;
  int unknown = connect_to(f.acceptor->port());
  auto hs = handshake_for(sha1("no such torrent"));
  REQUIRE(::send(unknown, hs.data(), hs.size(), 0) == static_cast<ssize_t>(hs.size()));
  CHECK(closed_by_peer(unknown, 5000ms));

  int garbage = connect_to(f.acceptor->port());
  std::vector<std::uint8_t> junk(wire::handshake_size, 'x');
  REQUIRE(::send(garbage, junk.data(), junk.size(), 0) == static_cast<ssize_t>(junk.size()));
  CHECK(closed_by_peer(garbage, 5000ms));

  // Says nothing: dropped once the handshake deadline (1.5 s here) passed.
  auto t0 = std::chrono::steady_clock::now();
  int silent = connect_to(f.acceptor->port());
  CHECK(closed_by_peer(silent, 5000ms));
  CHECK(std::chrono::steady_clock::now() - t0 >= 1s);

  CHECK(f.log->all().empty());
  ::close(unknown);
  ::close(garbage);
  ::close(silent);
}

TEST_CASE("a second torrent cannot take over an info-hash that is registered") {
  fixture f;
  // Same sender as the fixture's registrations, so it arrives after them.
  caf::anon_send(f.router, register_atom_v, f.a, f.spawn_stand_in('A'));
  int s = f.send_handshake(f.a);
  REQUIRE(f.log->wait_for_count(1, 5s));
  auto seen = f.log->all();
  CHECK(seen[0].first == 'a');
  CHECK(seen[0].second == f.a);
  ::close(s);
}

TEST_CASE("a torrent that exited is forgotten: another with its info-hash registers and gets its peers") {
  fixture f;
  // A handshake reaching 'a' proves the router registered (and monitors) it.
  int s1 = f.send_handshake(f.a);
  REQUIRE(f.log->wait_for_count(1, 5s));
  REQUIRE(f.log->all()[0].first == 'a');
  ::close(s1);

  caf::scoped_actor self{f.sys};
  self->monitor(f.ta);
  self->send_exit(f.ta, caf::exit_reason::user_shutdown);
  bool down = false;
  self->receive([&](caf::down_msg&) { down = true; }, caf::after(5s) >> [] {});
  REQUIRE(down);

  // The router learns of the exit from its own monitor, in no fixed order
  // with our registration, which it refuses while it still knows 'a': try
  // again until it takes, within a bound.
  auto successor = f.spawn_stand_in('A');
  auto deadline = std::chrono::steady_clock::now() + 5s;
  bool arrived = false;
  while (!arrived && std::chrono::steady_clock::now() < deadline) {
    caf::anon_send(f.router, register_atom_v, f.a, successor);
    int s = f.send_handshake(f.a);
    arrived = f.log->wait_for_count(2, 500ms);
    ::close(s);
  }
  REQUIRE(arrived);
  auto seen = f.log->all();
  CHECK(seen[1].first == 'A');
  CHECK(seen[1].second == f.a);
}
