// The UDP tracker protocol (BEP 15): the codec byte for byte, and the
// exchange's state machine on a fake clock.
#include "udp_tracker_exchange.hpp"
#include "udp_tracker_protocol.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace actorrent;
using namespace actorrent::udp_tracker;
using namespace std::chrono_literals;

namespace {

using bytes = std::vector<std::uint8_t>;
using time_point = udp_tracker_exchange::time_point;

struct fake_clock {
  time_point now = time_point{} + 1h;
  void advance(std::chrono::milliseconds d) { now += d; }
};

void put(bytes& b, std::uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
std::uint64_t get(const bytes& b, std::size_t off, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | b.at(off + static_cast<std::size_t>(i));
  return v;
}

bytes header(std::uint32_t act, std::uint32_t tid) {
  bytes b;
  put(b, act, 4);
  put(b, tid, 4);
  return b;
}
bytes connect_reply_bytes(std::uint32_t tid, std::uint64_t cid) {
  auto b = header(0, tid);
  put(b, cid, 8);
  return b;
}
bytes announce_reply_bytes(std::uint32_t tid, std::int32_t interval, std::int32_t leechers,
                           std::int32_t seeders, const bytes& peers) {
  auto b = header(1, tid);
  put(b, static_cast<std::uint32_t>(interval), 4);
  put(b, static_cast<std::uint32_t>(leechers), 4);
  put(b, static_cast<std::uint32_t>(seeders), 4);
  b.insert(b.end(), peers.begin(), peers.end());
  return b;
}
bytes error_bytes(std::uint32_t tid, const std::string& text) {
  auto b = header(3, tid);
  b.insert(b.end(), text.begin(), text.end());
  return b;
}

std::uint32_t tid_of(const bytes& datagram) { return static_cast<std::uint32_t>(get(datagram, 12, 4)); }
std::uint32_t action_of(const bytes& datagram) { return static_cast<std::uint32_t>(get(datagram, 8, 4)); }

announce_fields some_announce() {
  announce_fields f;
  for (std::uint8_t i = 0; i < 20; ++i) {
    f.info_hash.bytes[i] = i;
    f.peer_id[i] = static_cast<std::uint8_t>(0xa0 + i);
  }
  f.downloaded = 1000;
  f.left = 2000;
  f.uploaded = 3000;
  f.event = announce_event::started;
  f.key = 0xdeadbeef;
  f.num_want = 50;
  f.port = 6881;
  return f;
}

const peer_endpoint tracker{"127.0.0.1", 6969};

udp_tracker_timing quick() {
  udp_tracker_timing t;
  t.retransmit_base = 100ms;
  t.max_retransmits = 3;
  t.connection_lifetime = 60s;
  return t;
}

} // namespace

TEST_CASE("connect and announce requests have the BEP 15 layout") {
  auto c = encode_connect(0x01020304);
  REQUIRE(c.size() == 16);
  CHECK(get(c, 0, 8) == 0x41727101980ULL);
  CHECK(get(c, 8, 4) == 0);
  CHECK(get(c, 12, 4) == 0x01020304);

  auto a = encode_announce(0x1122334455667788ULL, 7, some_announce());
  REQUIRE(a.size() == 98);
  CHECK(get(a, 0, 8) == 0x1122334455667788ULL);
  CHECK(get(a, 8, 4) == 1);
  CHECK(get(a, 12, 4) == 7);
  CHECK(a[16] == 0);
  CHECK(a[35] == 19);
  CHECK(a[36] == 0xa0);
  CHECK(get(a, 56, 8) == 1000);  // downloaded
  CHECK(get(a, 64, 8) == 2000);  // left
  CHECK(get(a, 72, 8) == 3000);  // uploaded
  CHECK(get(a, 80, 4) == 2);     // started
  CHECK(get(a, 84, 4) == 0);     // IP: the source address
  CHECK(get(a, 88, 4) == 0xdeadbeef);
  CHECK(get(a, 92, 4) == 50);
  CHECK(get(a, 96, 2) == 6881);

  auto f = some_announce();
  f.event = announce_event::completed;
  CHECK(get(encode_announce(1, 1, f), 80, 4) == 1);
  f.event = announce_event::stopped;
  f.num_want = -1;
  auto s = encode_announce(1, 1, f);
  CHECK(get(s, 80, 4) == 3);
  CHECK(get(s, 92, 4) == 0xffffffff);
}

TEST_CASE("scrape requests carry each info-hash, at most 74") {
  std::vector<sha1_hash> hashes(2);
  hashes[1].bytes[0] = 0x55;
  auto s = encode_scrape(9, 10, hashes);
  REQUIRE(s.size() == 16 + 40);
  CHECK(get(s, 8, 4) == 2);
  CHECK(s[36] == 0x55);
  std::vector<sha1_hash> many(100);
  CHECK(encode_scrape(9, 10, many).size() == 16 + 20 * 74);
}

TEST_CASE("replies decode strictly") {
  expectation conn{action::connect, 42};
  SUBCASE("connect") {
    auto r = decode_reply(connect_reply_bytes(42, 0xabcdef), conn);
    REQUIRE(r);
    CHECK(std::get<connect_reply>(*r).connection_id == 0xabcdef);
  }
  SUBCASE("a connect reply of the wrong size") {
    auto b = connect_reply_bytes(42, 1);
    b.push_back(0);
    auto r = decode_reply(b, conn);
    REQUIRE_FALSE(r);
    CHECK(r.err().code == errc::tracker_reply);
    CHECK(r.err().message.find("17 bytes") != std::string::npos);
  }
  SUBCASE("short datagrams") {
    auto r = decode_reply(bytes{0, 0, 0}, conn);
    REQUIRE_FALSE(r);
    CHECK(r.err().message.find("only 3 bytes") != std::string::npos);
  }
  SUBCASE("oversized datagrams") {
    bytes big = connect_reply_bytes(42, 1);
    big.resize(max_datagram + 1);
    auto r = decode_reply(big, conn);
    REQUIRE_FALSE(r);
    CHECK(r.err().message.find("more than") != std::string::npos);
  }
  SUBCASE("a wrong transaction id") {
    auto r = decode_reply(connect_reply_bytes(43, 1), conn);
    REQUIRE_FALSE(r);
    CHECK(r.err().message.find("transaction id 43") != std::string::npos);
  }
  SUBCASE("a wrong action") {
    auto r = decode_reply(announce_reply_bytes(42, 1, 2, 3, {}), conn);
    REQUIRE_FALSE(r);
    CHECK(r.err().message.find("announce reply to a connect request") != std::string::npos);
    bytes odd = header(9, 42);
    odd.resize(16);
    auto u = decode_reply(odd, conn);
    REQUIRE_FALSE(u);
    CHECK(u.err().message.find("unknown action 9") != std::string::npos);
  }
  SUBCASE("an error reply, made printable") {
    auto r = decode_reply(error_bytes(42, "no such torrent\x1b[2J"), conn);
    REQUIRE(r);
    auto msg = std::get<error_reply>(*r).message;
    CHECK(msg.find("no such torrent") == 0);
    CHECK(msg.find('\x1b') == std::string::npos);
  }
}

TEST_CASE("announce replies carry 6-byte IPv4 or 18-byte IPv6 peers") {
  bytes v4{127, 0, 0, 1, 0x1a, 0xe1, 10, 0, 0, 2, 0, 0 /*port 0: dropped*/, 127, 0, 0, 1, 0x1a, 0xe1};
  auto r = decode_reply(announce_reply_bytes(5, 1800, 3, 4, v4), {action::announce, 5, family::v4});
  REQUIRE(r);
  auto& a = std::get<udp_tracker::announce_reply>(*r);
  CHECK(a.interval == 1800);
  CHECK(a.leechers == 3);
  CHECK(a.seeders == 4);
  REQUIRE(a.peers.size() == 1);
  CHECK(a.peers[0] == peer_endpoint{"127.0.0.1", 6881});

  bytes v6(16, 0);
  v6[15] = 1;
  v6.push_back(0x1a);
  v6.push_back(0xe2);
  auto r6 = decode_reply(announce_reply_bytes(5, 60, 0, 1, v6), {action::announce, 5, family::v6});
  REQUIRE(r6);
  REQUIRE(std::get<udp_tracker::announce_reply>(*r6).peers.size() == 1);
  CHECK(std::get<udp_tracker::announce_reply>(*r6).peers[0] == peer_endpoint{"::1", 6882});

  // 18 bytes are also three IPv4 peers; 12 bytes are two IPv4 peers but no
  // whole IPv6 one.
  CHECK(decode_reply(announce_reply_bytes(5, 60, 0, 1, v6), {action::announce, 5, family::v4}));
  bytes two_v4(v4.begin(), v4.begin() + 12);
  auto bad = decode_reply(announce_reply_bytes(5, 60, 0, 1, two_v4), {action::announce, 5, family::v6});
  REQUIRE_FALSE(bad);
  CHECK(bad.err().message.find("18-byte IPv6") != std::string::npos);
  auto cut = v4;
  cut.pop_back();
  CHECK_FALSE(decode_reply(announce_reply_bytes(5, 60, 0, 1, cut), {action::announce, 5, family::v4}));
  CHECK_FALSE(decode_reply(header(1, 5), {action::announce, 5, family::v4}));
}

TEST_CASE("scrape replies need one entry per hash asked") {
  auto b = header(2, 8);
  for (std::uint32_t v : {5u, 10u, 2u, 1u, 0u, 0u}) put(b, v, 4);
  auto r = decode_reply(b, {action::scrape, 8, family::v4, 2});
  REQUIRE(r);
  auto& s = std::get<scrape_reply>(*r);
  REQUIRE(s.entries.size() == 2);
  CHECK(s.entries[0] == scrape_entry{5, 10, 2});
  CHECK(s.entries[1] == scrape_entry{1, 0, 0});
  CHECK_FALSE(decode_reply(b, {action::scrape, 8, family::v4, 1}));
  CHECK_FALSE(decode_reply(b, {action::scrape, 8, family::v4, 3}));
}

TEST_CASE("an exchange connects, announces and reports the peers") {
  fake_clock clock;
  udp_tracker_exchange ex(some_announce(), tracker, family::v4, std::nullopt, quick());
  auto s = ex.start(clock.now);
  REQUIRE(s.send.size() == 16);
  CHECK(action_of(s.send) == 0);
  CHECK(s.wake == clock.now + 100ms);

  clock.advance(10ms);
  s = ex.on_datagram(tracker, connect_reply_bytes(tid_of(s.send), 777), clock.now);
  REQUIRE(s.send.size() == 98);
  CHECK(get(s.send, 0, 8) == 777);
  CHECK(action_of(s.send) == 1);
  CHECK_FALSE(s.done);

  bytes peer{127, 0, 0, 2, 0x1a, 0xe1};
  s = ex.on_datagram(tracker, announce_reply_bytes(tid_of(s.send), 900, 1, 2, peer), clock.now);
  REQUIRE(s.done);
  REQUIRE(*s.done);
  auto& a = std::get<udp_tracker::announce_reply>(**s.done);
  CHECK(a.interval == 900);
  CHECK(a.peers == std::vector<peer_endpoint>{{"127.0.0.2", 6881}});
  CHECK(ex.finished());
  REQUIRE(ex.connection());
  CHECK(ex.connection()->id == 777);
  // Nothing more after the end.
  CHECK_FALSE(ex.on_timer(clock.now + 1h).done);
}

TEST_CASE("retransmissions wait 15 * 2^n seconds, n bounded") {
  fake_clock clock;
  udp_tracker_timing t;  // the defaults: 15 s, 3 retransmissions
  udp_tracker_exchange ex(some_announce(), tracker, family::v4, std::nullopt, t);
  auto first = ex.start(clock.now);
  CHECK(first.wake == clock.now + 15s);
  // Too early: nothing is sent again.
  auto early = ex.on_timer(clock.now + 14s);
  CHECK(early.send.empty());
  CHECK(early.wake == clock.now + 15s);

  std::vector<std::chrono::seconds> waits;
  auto s = first;
  while (!s.done) {
    auto waited = s.wake - clock.now;
    waits.push_back(std::chrono::duration_cast<std::chrono::seconds>(waited));
    clock.now = s.wake;
    s = ex.on_timer(clock.now);
    if (!s.done) {
      // The same datagram, same transaction id: a late reply still counts.
      CHECK(s.send == first.send);
    }
  }
  CHECK(waits == std::vector<std::chrono::seconds>{15s, 30s, 60s, 120s});
  REQUIRE_FALSE(*s.done);
  CHECK(s.done->err().code == errc::timeout);
  CHECK(s.done->err().message.find("after 4 tries") != std::string::npos);
  CHECK(ex.retransmissions() == 3);
}

TEST_CASE("a late reply to an earlier try is accepted") {
  fake_clock clock;
  udp_tracker_exchange ex(some_announce(), tracker, family::v4, std::nullopt, quick());
  auto s = ex.start(clock.now);
  auto tid = tid_of(s.send);
  clock.now = s.wake;
  CHECK_FALSE(ex.on_timer(clock.now).send.empty());
  s = ex.on_datagram(tracker, connect_reply_bytes(tid, 5), clock.now);
  CHECK(action_of(s.send) == 1);
}

TEST_CASE("the limit ends an exchange before its tries run out") {
  fake_clock clock;
  udp_tracker_exchange ex(some_announce(), tracker, family::v4, std::nullopt, {}, clock.now + 2s);
  auto s = ex.start(clock.now);
  CHECK(s.wake == clock.now + 2s);
  clock.now = s.wake;
  s = ex.on_timer(clock.now);
  REQUIRE(s.done);
  REQUIRE_FALSE(*s.done);
  CHECK(s.done->err().code == errc::timeout);
}

TEST_CASE("wrong transaction ids, wrong senders and garbage are ignored with a reason") {
  fake_clock clock;
  udp_tracker_exchange ex(some_announce(), tracker, family::v4, std::nullopt, quick());
  auto s = ex.start(clock.now);
  auto tid = tid_of(s.send);

  auto stray = ex.on_datagram(tracker, connect_reply_bytes(tid + 1, 5), clock.now);
  CHECK_FALSE(stray.done);
  CHECK(stray.send.empty());
  CHECK(stray.ignored.find("transaction id") != std::string::npos);
  CHECK(stray.wake == clock.now + 100ms);

  auto other = ex.on_datagram(peer_endpoint{"127.0.0.9", 6969}, connect_reply_bytes(tid, 5), clock.now);
  CHECK_FALSE(other.done);
  CHECK(other.send.empty());
  CHECK(other.ignored.find("not the tracker") != std::string::npos);
  auto other_port = ex.on_datagram(peer_endpoint{"127.0.0.1", 6970}, connect_reply_bytes(tid, 5), clock.now);
  CHECK(other_port.ignored.find("not the tracker") != std::string::npos);

  auto garbage = ex.on_datagram(tracker, bytes{1, 2, 3}, clock.now);
  CHECK_FALSE(garbage.done);
  CHECK(garbage.ignored.find("only 3 bytes") != std::string::npos);

  // The real reply still works.
  s = ex.on_datagram(tracker, connect_reply_bytes(tid, 5), clock.now);
  CHECK(action_of(s.send) == 1);
  CHECK(get(s.send, 0, 8) == 5);
}

TEST_CASE("an error action ends the exchange with the tracker's message") {
  fake_clock clock;
  udp_tracker_exchange ex(some_announce(), tracker, family::v4, udp_connection_id{9, clock.now}, quick());
  auto s = ex.start(clock.now);
  REQUIRE(action_of(s.send) == 1);  // the cached connection id is used
  s = ex.on_datagram(tracker, error_bytes(tid_of(s.send), "torrent not whitelisted"), clock.now);
  REQUIRE(s.done);
  REQUIRE_FALSE(*s.done);
  CHECK(s.done->err().code == errc::tracker_failure);
  CHECK(s.done->err().message == "torrent not whitelisted");
  CHECK_FALSE(ex.connection());
}

TEST_CASE("a connection id is reused for a minute, then asked for again") {
  fake_clock clock;
  udp_connection_id cached{1234, clock.now};
  {
    udp_tracker_exchange ex(some_announce(), tracker, family::v4, cached, quick());
    auto s = ex.start(clock.now + 59s);
    CHECK(action_of(s.send) == 1);
    CHECK(get(s.send, 0, 8) == 1234);
  }
  {
    udp_tracker_exchange ex(some_announce(), tracker, family::v4, cached, quick());
    auto s = ex.start(clock.now + 60s);
    CHECK(action_of(s.send) == 0);
    CHECK_FALSE(ex.connection());
  }
  SUBCASE("expiry while retransmitting means a new connect") {
    udp_tracker_timing t;
    t.retransmit_base = 20s;
    t.max_retransmits = 5;
    udp_tracker_exchange ex(some_announce(), tracker, family::v4, cached, t);
    auto s = ex.start(clock.now + 30s);
    REQUIRE(action_of(s.send) == 1);
    clock.now = s.wake;  // +50 s: still valid
    s = ex.on_timer(clock.now);
    CHECK(action_of(s.send) == 1);
    clock.now = s.wake;  // +90 s: expired
    s = ex.on_timer(clock.now);
    REQUIRE_FALSE(s.send.empty());
    CHECK(action_of(s.send) == 0);
    CHECK(s.wake == clock.now + 80s);  // n keeps counting: 20 s * 2^2
  }
}

TEST_CASE("an announce over IPv6 takes 18-byte peers") {
  fake_clock clock;
  peer_endpoint v6_tracker{"::1", 6969};
  udp_tracker_exchange ex(some_announce(), v6_tracker, family::v6, udp_connection_id{3, clock.now}, quick());
  auto s = ex.start(clock.now);
  bytes peers(16, 0);
  peers[0] = 0xfe;
  peers[1] = 0x80;
  peers[15] = 7;
  peers.push_back(0);
  peers.push_back(80);
  s = ex.on_datagram(v6_tracker, announce_reply_bytes(tid_of(s.send), 60, 0, 1, peers), clock.now);
  REQUIRE(s.done);
  REQUIRE(*s.done);
  CHECK(std::get<udp_tracker::announce_reply>(**s.done).peers ==
        std::vector<peer_endpoint>{{"fe80::7", 80}});
}

TEST_CASE("a scrape asks for each hash and gets the counts") {
  fake_clock clock;
  std::vector<sha1_hash> hashes(2);
  udp_tracker_exchange ex(hashes, tracker, family::v4, udp_connection_id{3, clock.now}, quick());
  auto s = ex.start(clock.now);
  REQUIRE(action_of(s.send) == 2);
  REQUIRE(s.send.size() == 56);
  auto reply = header(2, tid_of(s.send));
  for (std::uint32_t v : {1u, 2u, 3u, 4u, 5u, 6u}) put(reply, v, 4);
  s = ex.on_datagram(tracker, reply, clock.now);
  REQUIRE(s.done);
  REQUIRE(*s.done);
  auto& sc = std::get<scrape_reply>(**s.done);
  CHECK(sc.entries == std::vector<scrape_entry>{{1, 2, 3}, {4, 5, 6}});
}

// ---------------------------------------------------------------------------
// udp_tracker_client over real loopback sockets.

#include "net_service.hpp"
#include "udp_tracker_client.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

namespace {

// A BEP 15 tracker on a loopback address, in a thread of its own. Before
// each real reply, a second socket sends a copy naming another peer: a
// client that took replies from anyone would report that peer.
class loopback_tracker {
public:
  explicit loopback_tracker(bool v6) : v6_(v6) {
    fd_ = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
    spoof_ = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
    REQUIRE(fd_ >= 0);
    REQUIRE(spoof_ >= 0);
    sockaddr_storage a{};
    socklen_t len = 0;
    if (v6) {
      auto* s6 = reinterpret_cast<sockaddr_in6*>(&a);
      s6->sin6_family = AF_INET6;
      s6->sin6_addr = in6addr_loopback;
      len = sizeof *s6;
    } else {
      auto* s4 = reinterpret_cast<sockaddr_in*>(&a);
      s4->sin_family = AF_INET;
      s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      len = sizeof *s4;
    }
    ok_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) == 0 &&
          ::bind(spoof_, reinterpret_cast<sockaddr*>(&a), len) == 0;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&a)->sin6_port
                     : reinterpret_cast<sockaddr_in*>(&a)->sin_port);
    if (ok_) thread_ = std::thread([this] { serve(); });
  }
  ~loopback_tracker() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
    ::close(spoof_);
  }
  bool ok() const { return ok_; }
  std::string url() const {
    return std::string("udp://") + (v6_ ? "[::1]" : "127.0.0.1") + ":" + std::to_string(port_) + "/announce";
  }
  std::vector<std::uint32_t> actions() {
    std::lock_guard<std::mutex> g(m_);
    return actions_;
  }

private:
  void serve() {
    std::array<std::uint8_t, 2048> buf{};
    // Bounded: the test's exchanges take milliseconds; the destructor ends it sooner.
    auto end = std::chrono::steady_clock::now() + 30s;
    while (!stop_ && std::chrono::steady_clock::now() < end) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      sockaddr_storage from{};
      socklen_t flen = sizeof from;
      auto n = ::recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &flen);
      if (n < 16) continue;
      bytes in(buf.begin(), buf.begin() + n);
      auto act = static_cast<std::uint32_t>(get(in, 8, 4));
      auto tid = static_cast<std::uint32_t>(get(in, 12, 4));
      {
        std::lock_guard<std::mutex> g(m_);
        actions_.push_back(act);
      }
      bytes reply, fake;
      if (act == 0) {
        reply = connect_reply_bytes(tid, 0x77);
      } else if (act == 1 && get(in, 0, 8) == 0x77) {
        reply = announce_reply_bytes(tid, 60, 1, 2, peer_entry(2));
        fake = announce_reply_bytes(tid, 60, 1, 2, peer_entry(9));
      } else if (act == 2 && get(in, 0, 8) == 0x77) {
        reply = header(2, tid);
        for (std::uint32_t v : {3u, 4u, 5u}) put(reply, v, 4);
      }
      if (!fake.empty())
        ::sendto(spoof_, fake.data(), fake.size(), 0, reinterpret_cast<sockaddr*>(&from), flen);
      if (!reply.empty())
        ::sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), flen);
    }
  }
  // One peer on port 6881 at 127.0.0.<last> or ::<last>.
  bytes peer_entry(std::uint8_t last) const {
    bytes b;
    if (v6_) {
      b.assign(16, 0);
      b[15] = last;
    } else {
      b = {127, 0, 0, last};
    }
    b.push_back(0x1a);
    b.push_back(0xe1);
    return b;
  }

  bool v6_;
  int fd_ = -1, spoof_ = -1;
  bool ok_ = false;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex m_;
  std::vector<std::uint32_t> actions_;
};

// One exchange through the client, waited for (bounded).
result<udp_tracker_answer> run_sync(udp_tracker_client& c, const std::string& text, udp_tracker_query q) {
  struct box {
    std::mutex m;
    std::condition_variable cv;
    std::optional<result<udp_tracker_answer>> r;
  };
  auto b = std::make_shared<box>();
  auto u = parse_url(text);
  REQUIRE(u);
  c.run(*u, std::move(q), 3s, [b](result<udp_tracker_answer> r) {
    std::lock_guard<std::mutex> g(b->m);
    b->r.emplace(std::move(r));
    b->cv.notify_all();
  });
  std::unique_lock<std::mutex> g(b->m);
  REQUIRE(b->cv.wait_for(g, 10s, [&] { return b->r.has_value(); }));
  return std::move(*b->r);
}

} // namespace

TEST_CASE("the client announces over IPv4 and IPv6, reuses the connection id, ignores other senders") {
  for (bool v6 : {false, true}) {
    CAPTURE(v6);
    loopback_tracker tracker(v6);
    if (!tracker.ok()) {
      WARN_MESSAGE(!v6, "skipped: no loopback address of this family");
      continue;
    }
    net_service net;
    udp_tracker_client client(net.io());
    auto r = run_sync(client, tracker.url(), some_announce());
    REQUIRE_MESSAGE(r, (r ? "" : r.err().to_string()));
    auto& a = std::get<udp_tracker::announce_reply>(*r);
    CHECK(a.peers == std::vector<peer_endpoint>{{v6 ? "::2" : "127.0.0.2", 6881}});

    // Within the minute: no second connect.
    auto again = run_sync(client, tracker.url(), some_announce());
    REQUIRE(again);
    auto s = run_sync(client, tracker.url(), std::vector<sha1_hash>(1));
    REQUIRE(s);
    CHECK(std::get<scrape_reply>(*s).entries == std::vector<scrape_entry>{{3, 4, 5}});
    CHECK(tracker.actions() == std::vector<std::uint32_t>{0, 1, 1, 2});
  }
}

TEST_CASE("the client gives up on a silent tracker within its limit") {
  net_service net;
  // A bound socket that never answers.
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  udp_tracker_timing t;
  t.retransmit_base = 100ms;
  t.max_retransmits = 2;
  udp_tracker_client client(net.io(), t);
  auto start = std::chrono::steady_clock::now();
  auto r = run_sync(client, "udp://127.0.0.1:" + std::to_string(ntohs(a.sin_port)), some_announce());
  auto took = std::chrono::steady_clock::now() - start;
  ::close(fd);
  REQUIRE_FALSE(r);
  CHECK(r.err().code == errc::timeout);
  CHECK(r.err().message.find("after 3 tries") != std::string::npos);
  // 100 + 200 + 400 ms of waiting, not the 3 s limit.
  CHECK(took >= 650ms);
  CHECK(took < 3s);
}
