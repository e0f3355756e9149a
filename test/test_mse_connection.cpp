// Encrypted connections on real sockets on 127.0.0.1: tcp_connection's
// outgoing side against the listener's incoming side, under each policy.
#include "handshake.hpp"
#include "listener.hpp"
#include "loopback.hpp"
#include "net_service.hpp"
#include "tcp_connection.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string_view>

using namespace actorrent;
using namespace std::chrono_literals;

namespace {

const sha1_hash ours = sha1(std::string_view("an encrypted torrent"));

/// What one side saw, for the test thread to wait on.
struct seen {
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::uint8_t> bytes;
  std::vector<std::shared_ptr<tcp_connection>> accepted;
  std::vector<std::vector<std::uint8_t>> handshakes;
  std::optional<error> closed;
  bool connected = false;

  template <class Pred>
  bool wait(std::chrono::milliseconds timeout, Pred pred) {
    std::unique_lock<std::mutex> g(m);
    return cv.wait_for(g, timeout, [&] { return pred(*this); });
  }
  template <class F>
  void record(F f) {
    {
      std::lock_guard<std::mutex> g(m);
      f(*this);
    }
    cv.notify_all();
  }
};

/// With `conn`, every chunk is acknowledged (it holds only a weak reference,
/// so the connection's callbacks do not keep the connection alive).
tcp_connection::callbacks callbacks_for(const std::shared_ptr<seen>& s,
                                        std::weak_ptr<tcp_connection> conn = {}) {
  tcp_connection::callbacks cb;
  cb.on_connected = [s] { s->record([](seen& x) { x.connected = true; }); };
  cb.on_data = [s, conn](std::vector<std::uint8_t> chunk) {
    s->record([&](seen& x) { x.bytes.insert(x.bytes.end(), chunk.begin(), chunk.end()); });
    if (auto c = conn.lock()) c->ack();
  };
  cb.on_closed = [s](error err) { s->record([&](seen& x) { x.closed = std::move(err); }); };
  return cb;
}

std::shared_ptr<listener> listen(net_service& net, encryption_policy policy,
                                 const std::shared_ptr<seen>& server) {
  tcp_connection::incoming_encryption enc;
  enc.policy = policy;
  enc.lookup = [](const sha1_hash& req2) -> std::optional<sha1_hash> {
    if (req2 == mse::req2_hash(ours)) return ours;
    return std::nullopt;
  };
  auto l = listener::open(
    net.io(), "127.0.0.1", 0,
    [server](std::shared_ptr<tcp_connection> conn, std::vector<std::uint8_t> hs) {
      server->record([&](seen& x) {
        x.accepted.push_back(std::move(conn));
        x.handshakes.push_back(std::move(hs));
      });
    },
    5s, std::move(enc));
  REQUIRE(l.has_value());
  return *l;
}

std::vector<std::uint8_t> bt_handshake(const sha1_hash& ih) {
  wire::handshake h;
  h.info_hash = ih;
  h.peer_id.fill('p');
  std::vector<std::uint8_t> out(wire::handshake_size);
  wire::encode_handshake(h, std::span<std::uint8_t, wire::handshake_size>(out.data(), out.size()));
  return out;
}

std::shared_ptr<tcp_connection> dial(net_service& net, std::uint16_t port, encryption_policy policy,
                                     const sha1_hash& ih, const std::shared_ptr<seen>& client) {
  auto conn = tcp_connection::create(net.io(), {.encryption = policy, .info_hash = ih});
  conn->connect({"127.0.0.1", port}, 5s, callbacks_for(client));
  return conn;
}

} // namespace

TEST_CASE("require to prefer: RC4 both ways, the handshake and data arrive as sent") {
  net_service net{1};
  auto server = std::make_shared<seen>();
  auto l = listen(net, encryption_policy::prefer, server);
  auto client = std::make_shared<seen>();
  auto conn = dial(net, l->port(), encryption_policy::require, ours, client);
  auto hs = bt_handshake(ours);
  conn->send(hs);
  conn->send({'m', 'o', 'r', 'e'});
  REQUIRE(server->wait(5s, [](seen& x) { return !x.handshakes.empty(); }));
  CHECK(client->connected);
  CHECK(conn->encrypted());
  CHECK(server->handshakes[0] == hs);
  auto in = server->accepted[0];
  CHECK(in->encrypted());

  auto got = std::make_shared<seen>();
  in->start(callbacks_for(got, in));
  REQUIRE(got->wait(5s, [](seen& x) { return x.bytes.size() >= 4; }));
  CHECK(got->bytes == std::vector<std::uint8_t>{'m', 'o', 'r', 'e'});
  std::vector<std::uint8_t> big(200'000);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 7);
  in->send(big);
  REQUIRE(client->wait(5s, [&](seen& x) { return x.bytes.size() >= big.size(); }));
  CHECK(client->bytes == big);
  conn->close();
  in->close();
  l->close();
}

TEST_CASE("prefer to require: the plaintext attempt is refused, the encrypted one carries it") {
  net_service net{1};
  auto server = std::make_shared<seen>();
  auto l = listen(net, encryption_policy::require, server);
  auto client = std::make_shared<seen>();
  auto conn = dial(net, l->port(), encryption_policy::prefer, ours, client);
  auto hs = bt_handshake(ours);
  conn->send(hs);
  REQUIRE(server->wait(5s, [](seen& x) { return !x.handshakes.empty(); }));
  CHECK(server->handshakes[0] == hs);
  CHECK(conn->encrypted());
  CHECK(server->accepted[0]->encrypted());
  CHECK_FALSE(client->closed);
  conn->close();
  server->accepted[0]->close();
  l->close();
}

TEST_CASE("require to off: refused, and the client hears why") {
  net_service net{1};
  auto server = std::make_shared<seen>();
  auto l = listen(net, encryption_policy::off, server);
  auto client = std::make_shared<seen>();
  auto conn = dial(net, l->port(), encryption_policy::require, ours, client);
  conn->send(bt_handshake(ours));
  REQUIRE(client->wait(5s, [](seen& x) { return x.closed.has_value(); }));
  CHECK_FALSE(client->connected);
  CHECK(server->handshakes.empty());
  l->close();
}

TEST_CASE("an encrypted handshake for a torrent we do not have is refused") {
  net_service net{1};
  auto server = std::make_shared<seen>();
  auto l = listen(net, encryption_policy::prefer, server);
  auto client = std::make_shared<seen>();
  auto other = sha1(std::string_view("not ours"));
  auto conn = dial(net, l->port(), encryption_policy::require, other, client);
  conn->send(bt_handshake(other));
  REQUIRE(client->wait(5s, [](seen& x) { return x.closed.has_value(); }));
  CHECK(server->handshakes.empty());
  l->close();
}

TEST_CASE("require refuses a plaintext handshake at its first bytes") {
  net_service net{1};
  auto server = std::make_shared<seen>();
  auto l = listen(net, encryption_policy::require, server);
  int s = testing::connect_loopback(l->port());
  auto hs = bt_handshake(ours);
  REQUIRE(::send(s, hs.data(), hs.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(hs.size()));
  // The listener closes: the read sees the end of the stream (or a reset).
  timeval tv{5, 0};
  ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char c;
  CHECK(::recv(s, &c, 1, 0) <= 0);
  CHECK(server->handshakes.empty());
  ::close(s);
  l->close();
}
