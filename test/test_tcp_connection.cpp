// tcp_connection on real sockets on 127.0.0.1: the flow-control count, the
// queued-byte count and the callback contract hold on every path, including
// failures and closes that race with reads, writes and connects.
#include <doctest/doctest.h>

#include "loopback.hpp"

#include "listener.hpp"
#include "net_service.hpp"
#include "tcp_connection.hpp"

#include <asio/io_context.hpp>

#include <fcntl.h>
#include <poll.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

using namespace actorrent;
using namespace std::chrono_literals;

namespace {

// What the callbacks of one connection reported, for the test thread to wait on.
struct recorder {
  std::mutex m;
  std::condition_variable cv;
  int connected = 0;
  std::vector<std::vector<std::uint8_t>> chunks;
  std::vector<error> closed;
  int drained = 0;
  int after_close = 0;  // callbacks that ran after on_closed: must stay 0

  template <class Pred>
  bool wait(std::chrono::milliseconds timeout, Pred pred) {
    std::unique_lock<std::mutex> g(m);
    return cv.wait_for(g, timeout, [&] { return pred(*this); });
  }
  std::size_t chunk_count() {
    std::lock_guard<std::mutex> g(m);
    return chunks.size();
  }
  template <class F>
  void record(F f) {
    {
      std::lock_guard<std::mutex> g(m);
      if (!closed.empty()) ++after_close;
      f(*this);
    }
    cv.notify_all();
  }
};

tcp_connection::callbacks callbacks_for(const std::shared_ptr<recorder>& rec) {
  tcp_connection::callbacks cb;
  cb.on_connected = [rec] { rec->record([](recorder& r) { ++r.connected; }); };
  cb.on_data = [rec](std::vector<std::uint8_t> chunk) {
    rec->record([&](recorder& r) { r.chunks.push_back(std::move(chunk)); });
  };
  cb.on_closed = [rec](error err) {
    rec->record([&](recorder& r) { r.closed.push_back(std::move(err)); });
  };
  cb.on_drained = [rec] { rec->record([](recorder& r) { ++r.drained; }); };
  return cb;
}

/// Polls `pred` until it holds or `timeout` passes.
template <class Pred>
bool eventually(std::chrono::milliseconds timeout, Pred pred) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

/// A plain listening socket on 127.0.0.1. A small receive buffer (inherited
/// by accepted sockets) makes a peer that never reads stall our writes soon.
struct raw_server {
  int fd = -1;
  std::uint16_t port = 0;

  explicit raw_server(int rcvbuf = 0) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd, 8) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port = ntohs(a.sin_port);
  }
  ~raw_server() { ::close(fd); }

  /// The next connection, or -1 if none arrives within `timeout`.
  int accept(std::chrono::milliseconds timeout) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return -1;
    return ::accept(fd, nullptr, nullptr);
  }
  peer_endpoint endpoint() const { return {"127.0.0.1", port}; }
};

int raw_connect(std::uint16_t port) { return testing::connect_loopback(port); }

/// Closing with SO_LINGER 0 sends a reset: the other side's pending
/// operations fail instead of seeing an orderly end.
void reset(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd);
}

/// Writes into a socket from a thread of its own for as long as the reader
/// takes it, so that a connection always has more to read than it asks for.
class pump {
public:
  explicit pump(int fd) : fd_(fd) {
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
    thread_ = std::thread([this] { run(); });
  }
  ~pump() {
    stop_ = true;
    thread_.join();
  }

private:
  void run() {
    std::vector<std::uint8_t> block(16 * 1024, 0x5a);
    auto until = std::chrono::steady_clock::now() + 20s;
    while (!stop_ && std::chrono::steady_clock::now() < until) {
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      if (::send(fd_, block.data(), block.size(), MSG_NOSIGNAL) < 0 && errno != EAGAIN) return;
    }
  }

  int fd_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The listener's side of an accept: the connection and the handshake it read.
struct accepted {
  std::mutex m;
  std::condition_variable cv;
  std::shared_ptr<tcp_connection> conn;
  std::vector<std::uint8_t> handshake;

  bool wait(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> g(m);
    return cv.wait_for(g, timeout, [&] { return conn != nullptr; });
  }
};

/// A connection to `server`, connected: the caller's socket end and ours.
struct connected_pair {
  std::shared_ptr<tcp_connection> conn;
  std::shared_ptr<recorder> rec = std::make_shared<recorder>();
  int peer = -1;
};

connected_pair connect_to(asio::io_context& io, raw_server& server) {
  connected_pair p;
  p.conn = tcp_connection::create(io, {});
  p.conn->connect(server.endpoint(), 5s, callbacks_for(p.rec));
  p.peer = server.accept(5s);
  REQUIRE(p.peer >= 0);
  REQUIRE(p.rec->wait(5s, [](recorder& r) { return r.connected == 1 || !r.closed.empty(); }));
  REQUIRE(p.rec->closed.empty());
  return p;
}

/// Queues far more than a peer that never reads can take, so a write stays
/// in flight and more waits behind it.
void queue_a_stalled_write(tcp_connection& conn) {
  for (int i = 0; i < 8; ++i) conn.send(std::vector<std::uint8_t>(1024 * 1024, 0xa5));
  // Let the first write go out and stall against the full receive buffer.
  std::this_thread::sleep_for(100ms);
  REQUIRE(conn.queued_bytes() > 0);
}

} // namespace

TEST_CASE("the handshake the listener read is the first chunk, counted like any other") {
  net_service net{1};
  auto got = std::make_shared<accepted>();
  auto l = listener::open(
    net.io(), "127.0.0.1", 0,
    [got](std::shared_ptr<tcp_connection> conn, std::vector<std::uint8_t> hs) {
      {
        std::lock_guard<std::mutex> g(got->m);
        got->conn = std::move(conn);
        got->handshake = std::move(hs);
      }
      got->cv.notify_all();
    },
    5s);
  REQUIRE(l.has_value());
  int s = raw_connect((*l)->port());
  // The protocol's 20 bytes first: anything else opens an encrypted handshake.
  std::string_view prefix = "\x13" "BitTorrent protocol";
  std::vector<std::uint8_t> hs(68);
  for (std::size_t i = 0; i < hs.size(); ++i)
    hs[i] = i < prefix.size() ? static_cast<std::uint8_t>(prefix[i]) : static_cast<std::uint8_t>(i);
  REQUIRE(::send(s, hs.data(), hs.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(hs.size()));
  REQUIRE(got->wait(5s));
  CHECK(got->handshake == hs);

  {
    pump more(s);
    auto rec = std::make_shared<recorder>();
    got->conn->start(callbacks_for(rec), std::move(got->handshake));
    // The receiver acknowledges nothing yet: four chunks in all, the
    // handshake among them, then the connection must stop reading.
    REQUIRE(rec->wait(5s, [](recorder& r) { return r.chunks.size() >= 4; }));
    std::this_thread::sleep_for(300ms);
    CHECK(rec->chunk_count() == 4);
    CHECK(rec->chunks.front() == hs);
    // One acknowledgement buys exactly one more chunk.
    got->conn->ack();
    REQUIRE(rec->wait(5s, [](recorder& r) { return r.chunks.size() >= 5; }));
    std::this_thread::sleep_for(300ms);
    CHECK(rec->chunk_count() == 5);
    got->conn->close();
    REQUIRE(rec->wait(5s, [](recorder& r) { return !r.closed.empty(); }));
  }
  (*l)->close();
  ::close(s);
}

TEST_CASE("a connection that fails with a write in flight counts nothing as queued") {
  net_service net{1};
  raw_server server(4096);
  auto p = connect_to(net.io(), server);
  queue_a_stalled_write(*p.conn);
  reset(p.peer);
  REQUIRE(p.rec->wait(5s, [](recorder& r) { return !r.closed.empty(); }));
  CHECK(p.rec->closed.front().code == errc::io_error);
  // Whoever waits for the queue to drain must not wait for bytes that will
  // never be written.
  CHECK(p.conn->queued_bytes() == 0);
}

TEST_CASE("closing with a write in flight counts nothing as queued") {
  net_service net{1};
  raw_server server(4096);
  auto p = connect_to(net.io(), server);
  queue_a_stalled_write(*p.conn);
  p.conn->close();
  REQUIRE(p.rec->wait(5s, [](recorder& r) { return !r.closed.empty(); }));
  CHECK(p.rec->closed.front().code == errc::cancelled);
  CHECK(p.conn->queued_bytes() == 0);
  ::close(p.peer);
}

TEST_CASE("bytes sent after the connection closed are not counted as queued") {
  net_service net{1};
  raw_server server;
  auto p = connect_to(net.io(), server);
  p.conn->close();
  REQUIRE(p.rec->wait(5s, [](recorder& r) { return !r.closed.empty(); }));
  p.conn->send(std::vector<std::uint8_t>(1000, 1));
  CHECK(eventually(2s, [&] { return p.conn->queued_bytes() == 0; }));
  ::close(p.peer);
}

TEST_CASE("remote() names the peer as soon as connect() returns") {
  // Not running yet: nothing of the connect has happened on the network side.
  asio::io_context io;
  raw_server server;
  auto rec = std::make_shared<recorder>();
  auto conn = tcp_connection::create(io, {});
  CHECK(conn->remote() == peer_endpoint{});
  conn->connect(server.endpoint(), 5s, callbacks_for(rec));
  CHECK(conn->remote() == server.endpoint());
  conn->close();
  io.run_for(5s);
  CHECK(rec->closed.size() == 1);
}

TEST_CASE("remote() read by another thread while the connect completes") {
  // The value must never be seen half-written; under -fsanitize=thread this
  // also shows whether the read and the network thread's work are ordered.
  net_service net{1};
  raw_server server;
  for (int i = 0; i < 20; ++i) {
    auto rec = std::make_shared<recorder>();
    auto conn = tcp_connection::create(net.io(), {});
    std::atomic<bool> done{false};
    std::atomic<int> odd{0};
    std::thread reader([&] {
      while (!done) {
        auto r = conn->remote();
        if (r != peer_endpoint{} && r != server.endpoint()) ++odd;
      }
    });
    conn->connect(server.endpoint(), 5s, callbacks_for(rec));
    int peer = server.accept(5s);
    bool connected = rec->wait(5s, [](recorder& r) { return r.connected == 1; });
    done = true;
    reader.join();
    REQUIRE(connected);
    CHECK(odd == 0);
    CHECK(conn->remote() == server.endpoint());
    conn->close();
    REQUIRE(rec->wait(5s, [](recorder& r) { return !r.closed.empty(); }));
    ::close(peer);
  }
}

TEST_CASE("close() before connect() or start() still reports on_closed, once") {
  net_service net{1};
  raw_server server;
  SUBCASE("connect") {
    auto rec = std::make_shared<recorder>();
    auto conn = tcp_connection::create(net.io(), {});
    conn->close();
    conn->connect(server.endpoint(), 5s, callbacks_for(rec));
    CHECK(rec->wait(2s, [](recorder& r) { return !r.closed.empty(); }));
    std::this_thread::sleep_for(100ms);
    std::lock_guard<std::mutex> g(rec->m);
    CHECK(rec->closed.size() == 1);
    CHECK(rec->connected == 0);
  }
  SUBCASE("start") {
    int s = raw_connect(server.port);
    int peer = server.accept(5s);
    REQUIRE(peer >= 0);
    asio::ip::tcp::socket sock(net.io());
    asio::error_code ec;
    sock.assign(asio::ip::tcp::v4(), peer, ec);
    REQUIRE(!ec);
    auto conn = tcp_connection::adopt(std::move(sock), {});
    auto rec = std::make_shared<recorder>();
    conn->close();
    conn->start(callbacks_for(rec));
    CHECK(rec->wait(2s, [](recorder& r) { return !r.closed.empty(); }));
    ::close(s);
  }
}

TEST_CASE("a connect that completes as its deadline passes is not closed as timed out") {
  // Both the connect and the deadline are ready before the network thread
  // runs again, so their handlers are queued together: whichever runs first
  // decides, and the other must not undo it.
  asio::io_context io;
  raw_server server;
  auto rec = std::make_shared<recorder>();
  auto conn = tcp_connection::create(io, {});
  conn->connect(server.endpoint(), 20ms, callbacks_for(rec));
  io.poll_one();  // starts the connect and the deadline, and no more
  int peer = server.accept(5s);
  REQUIRE(peer >= 0);
  std::this_thread::sleep_for(100ms);
  io.run_for(200ms);
  {
    std::lock_guard<std::mutex> g(rec->m);
    if (rec->connected == 1) {
      CHECK(rec->closed.empty());
    } else {
      REQUIRE(rec->closed.size() == 1);
      CHECK(rec->closed.front().code == errc::timeout);
    }
  }
  conn->close();
  io.run_for(5s);
  CHECK(rec->closed.size() == 1);
  ::close(peer);
}

TEST_CASE("close is final: on_closed once, no callback after it, however often close() is called") {
  net_service net{1};
  raw_server server;
  auto p = connect_to(net.io(), server);
  {
    pump incoming(p.peer);
    REQUIRE(p.rec->wait(5s, [](recorder& r) { return !r.chunks.empty(); }));
    p.conn->send(std::vector<std::uint8_t>(64 * 1024, 7));
    p.conn->notify_when_drained(1);
    p.conn->close();
    p.conn->close();
    p.conn->ack();
    REQUIRE(p.rec->wait(5s, [](recorder& r) { return !r.closed.empty(); }));
    p.conn->close();
    p.conn->ack();
    p.conn->notify_when_drained(1 << 30);
    std::this_thread::sleep_for(200ms);
  }
  std::lock_guard<std::mutex> g(p.rec->m);
  CHECK(p.rec->closed.size() == 1);
  CHECK(p.rec->after_close == 0);
  ::close(p.peer);
}

TEST_CASE("bytes sent before the connect completes go out once it does") {
  net_service net{1};
  raw_server server;
  auto rec = std::make_shared<recorder>();
  auto conn = tcp_connection::create(net.io(), {});
  std::vector<std::uint8_t> hello{'h', 'e', 'l', 'l', 'o'};
  conn->send(hello);
  conn->connect(server.endpoint(), 5s, callbacks_for(rec));
  int peer = server.accept(5s);
  REQUIRE(peer >= 0);
  std::vector<std::uint8_t> got(hello.size());
  std::size_t n = 0;
  auto until = std::chrono::steady_clock::now() + 5s;
  while (n < got.size() && std::chrono::steady_clock::now() < until) {
    pollfd p{peer, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    auto r = ::recv(peer, got.data() + n, got.size() - n, 0);
    if (r <= 0) break;
    n += static_cast<std::size_t>(r);
  }
  CHECK(got == hello);
  {
    std::lock_guard<std::mutex> g(rec->m);
    CHECK(rec->connected == 1);
    CHECK(rec->closed.empty());
  }
  conn->close();
  REQUIRE(rec->wait(5s, [](recorder& r) { return !r.closed.empty(); }));
  ::close(peer);
}

TEST_CASE("an ack() before start() reads nothing that nobody would receive") {
  net_service net{1};
  raw_server server;
  int s = raw_connect(server.port);
  int peer = server.accept(5s);
  REQUIRE(peer >= 0);
  asio::ip::tcp::socket sock(net.io());
  asio::error_code ec;
  sock.assign(asio::ip::tcp::v4(), peer, ec);
  REQUIRE(!ec);
  auto conn = tcp_connection::adopt(std::move(sock), {});
  std::vector<std::uint8_t> hello{'h', 'e', 'l', 'l', 'o'};
  REQUIRE(::send(s, hello.data(), hello.size(), MSG_NOSIGNAL) == 5);
  conn->ack();
  std::this_thread::sleep_for(200ms);  // room for a read that must not happen
  auto rec = std::make_shared<recorder>();
  conn->start(callbacks_for(rec));
  REQUIRE(rec->wait(5s, [](recorder& r) { return !r.chunks.empty(); }));
  CHECK(rec->chunks.front() == hello);
  conn->close();
  REQUIRE(rec->wait(5s, [](recorder& r) { return !r.closed.empty(); }));
  ::close(s);
}

TEST_CASE("a chunk given back with its ack is the buffer of a later read, not a new zero-filled one") {
  net_service net{1};
  auto got = std::make_shared<accepted>();
  auto l = listener::open(
    net.io(), "127.0.0.1", 0,
    [got](std::shared_ptr<tcp_connection> conn, std::vector<std::uint8_t> hs) {
      {
        std::lock_guard<std::mutex> g(got->m);
        got->conn = std::move(conn);
        got->handshake = std::move(hs);
      }
      got->cv.notify_all();
    },
    5s);
  REQUIRE(l.has_value());
  int s = raw_connect((*l)->port());
  // A plaintext handshake: any other first bytes start an encrypted one.
  std::vector<std::uint8_t> hs(68, 0x13);
  std::string_view prefix = "\x13" "BitTorrent protocol";
  std::copy(prefix.begin(), prefix.end(), hs.begin());
  REQUIRE(::send(s, hs.data(), hs.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(hs.size()));
  REQUIRE(got->wait(5s));
  {
    pump more(s);
    auto rec = std::make_shared<recorder>();
    got->conn->start(callbacks_for(rec), std::move(got->handshake));
    // Four chunks, then the connection waits for an ack. The largest of the
    // three reads goes back with it.
    REQUIRE(rec->wait(5s, [](recorder& r) { return r.chunks.size() >= 4; }));
    std::vector<std::uint8_t> spent;
    {
      std::lock_guard<std::mutex> g(rec->m);
      auto largest = std::max_element(rec->chunks.begin() + 1, rec->chunks.end(),
                                      [](auto& a, auto& b) { return a.size() < b.size(); });
      spent = std::move(*largest);
    }
    REQUIRE(spent.size() * 2 >= tcp_connection::options{}.read_chunk);
    // A capacity no fresh read buffer has (those are exactly one chunk) marks
    // it; its address would not, malloc may hand out a freed block again.
    spent.reserve(tcp_connection::options{}.read_chunk + 4096);
    const auto mark = spent.capacity();
    got->conn->ack(std::move(spent));
    // The read in flight at the ack has a buffer of its own; the one after it
    // reads into the chunk given back.
    got->conn->ack();
    REQUIRE(rec->wait(5s, [](recorder& r) { return r.chunks.size() >= 6; }));
    {
      std::lock_guard<std::mutex> g(rec->m);
      CHECK((rec->chunks[4].capacity() == mark || rec->chunks[5].capacity() == mark));
    }
    got->conn->close();
    REQUIRE(rec->wait(5s, [](recorder& r) { return !r.closed.empty(); }));
  }
  (*l)->close();
  ::close(s);
}

TEST_CASE("under a download limit reads wait for a block's worth of budget, not the bytes that trickled in") {
  net_service net{1};
  raw_server server;
  auto conn = tcp_connection::create(net.io(), {});
  // 2 MB/s: 2 bytes a microsecond reach the bucket between two reads.
  conn->set_rate_limits({std::make_shared<rate_limiter>(2'000'000)}, {});
  auto rec = std::make_shared<recorder>();
  std::atomic<std::size_t> bytes{0};
  auto cb = callbacks_for(rec);
  cb.on_data = [rec, &bytes, c = std::weak_ptr<tcp_connection>(conn)](std::vector<std::uint8_t> chunk) {
    bytes += chunk.size();
    rec->record([&](recorder& r) { r.chunks.push_back(std::vector<std::uint8_t>(chunk.size())); });
    if (auto s = c.lock()) s->ack(std::move(chunk));
  };
  conn->connect(server.endpoint(), 5s, std::move(cb));
  int peer = server.accept(5s);
  REQUIRE(peer >= 0);
  {
    pump more(peer);
    // The first burst (200 000 bytes) and then about a second at the rate.
    REQUIRE(eventually(10s, [&] { return bytes.load() >= 2'000'000; }));
    conn->close();
    REQUIRE(rec->wait(5s, [](recorder& r) { return !r.closed.empty(); }));
  }
  std::lock_guard<std::mutex> g(rec->m);
  const auto n = rec->chunks.size();
  const double mean = static_cast<double>(bytes.load()) / static_cast<double>(n);
  MESSAGE(n << " reads for " << bytes.load() << " bytes, " << mean << " bytes a read");
  // Reads of whatever budget had accumulated came to a few hundred bytes each.
  CHECK(mean >= 12 * 1024);
  ::close(peer);
}
