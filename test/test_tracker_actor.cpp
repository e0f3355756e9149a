#include <doctest/doctest.h>

#include "loopback.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "announce_reply.hpp"
#include "http_client.hpp"
#include "messages.hpp"
#include "net_service.hpp"
#include "tracker_actor.hpp"

using namespace actorrent;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

// What the stand-in torrent received, in arrival order.
struct torrent_event {
  enum kind_t { peers, note, reply } kind;
  std::vector<peer_endpoint> endpoints;
  std::string text;
};

class event_log {
public:
  void push(torrent_event e) {
    {
      std::lock_guard<std::mutex> g(m_);
      events_.push_back(std::move(e));
    }
    cv_.notify_all();
  }

  /// Waits (bounded) until some event satisfies `pred`; returns a copy of it.
  std::optional<torrent_event> wait_for(const std::function<bool(const torrent_event&)>& pred,
                                        std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> g(m_);
    std::optional<torrent_event> found;
    cv_.wait_for(g, timeout, [&] {
      for (const auto& e : events_)
        if (pred(e)) {
          found = e;
          return true;
        }
      return false;
    });
    return found;
  }

  std::vector<torrent_event> all() {
    std::lock_guard<std::mutex> g(m_);
    return events_;
  }

  /// The counters the stand-in torrent gives its tracker from now on.
  void set_counters(transfer_stats s) {
    std::lock_guard<std::mutex> g(m_);
    counters_ = s;
  }

  transfer_stats counters() {
    std::lock_guard<std::mutex> g(m_);
    return counters_;
  }

private:
  std::mutex m_;
  transfer_stats counters_{0, 0, 1000};
  std::condition_variable cv_;
  std::vector<torrent_event> events_;
};

bool has_endpoint(const torrent_event& e, const peer_endpoint& p) {
  if (e.kind != torrent_event::peers) return false;
  for (const auto& x : e.endpoints)
    if (x == p) return true;
  return false;
}

auto note_containing(std::string a, std::string b = {}) {
  return [a = std::move(a), b = std::move(b)](const torrent_event& e) {
    return e.kind == torrent_event::note && e.text.find(a) != std::string::npos &&
           e.text.find(b) != std::string::npos;
  };
}

// A torrent that records what its tracker tells it and gives the counters
// the test set.
tracker_owner_actor::behavior_type stand_in_torrent(std::shared_ptr<event_log> log) {
  return {
    [log](peers_atom, std::vector<peer_endpoint>& peers) {
      log->push({torrent_event::peers, std::move(peers), {}});
    },
    [log](tracker_atom, const std::string& tracker, const std::string& text) {
      log->push({torrent_event::note, {}, "tracker " + tracker + ": " + text});
    },
    [log](tracker_atom, const std::string& tracker, std::int32_t interval, std::uint32_t peers,
          std::int64_t seeders, std::int64_t leechers) {
      log->push({torrent_event::reply, {}, "reply " + tracker + " interval=" + std::to_string(interval) +
                                             " peers=" + std::to_string(peers) + " seeders=" +
                                             std::to_string(seeders) + " leechers=" +
                                             std::to_string(leechers)});
    },
    [log](stats_atom) { return log->counters(); },
  };
}

using testing::free_port;

bool port_accepts(std::uint16_t port) {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(s);
  return ok;
}

std::string bstr(std::string_view s) { return std::to_string(s.size()) + ":" + std::string(s); }

std::string compact(const peer_endpoint& p) {
  in_addr a{};
  REQUIRE(::inet_pton(AF_INET, p.host.c_str(), &a) == 1);
  std::string out(reinterpret_cast<const char*>(&a), 4);
  out += static_cast<char>(p.port >> 8);
  out += static_cast<char>(p.port & 0xff);
  return out;
}

std::string http_ok(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// A bencoded announce reply with keys in sorted order.
std::string announce_body(const std::vector<peer_endpoint>& peers, int interval,
                          const std::string& tracker_id = {}, const std::string& warning = {}) {
  std::string peer_bytes;
  for (const auto& p : peers) peer_bytes += compact(p);
  std::string out = "d8:intervali" + std::to_string(interval) + "e5:peers" + bstr(peer_bytes);
  if (!tracker_id.empty()) out += "10:tracker id" + bstr(tracker_id);
  if (!warning.empty()) out += "15:warning message" + bstr(warning);
  return out + "e";
}

std::string failure_body(const std::string& reason) { return "d14:failure reason" + bstr(reason) + "e"; }

// The value of `name` in the query of a request target ("" when absent).
std::string query_value(const std::string& target, const std::string& name) {
  auto q = target.find('?');
  if (q == std::string::npos) return {};
  std::string rest = target.substr(q + 1);
  std::size_t pos = 0;
  while (pos <= rest.size()) {
    auto amp = rest.find('&', pos);
    auto part = rest.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    auto eq = part.find('=');
    if (part.substr(0, eq) == name) return eq == std::string::npos ? "" : part.substr(eq + 1);
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return {};
}

// A blocking HTTP server on 127.0.0.1 that records each request target and
// answers with what `respond` returns; std::nullopt keeps the connection open
// without answering (a tracker that hangs).
class fake_tracker {
public:
  using responder = std::function<std::optional<std::string>(const std::string& target)>;

  struct request {
    std::string target;
    steady::time_point when;
  };

  explicit fake_tracker(responder respond) : respond_(std::move(respond)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listen_fd_ >= 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(listen_fd_, 16) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }

  ~fake_tracker() {
    stop_ = true;
    thread_.join();
    for (int fd : held_) ::close(fd);
    ::close(listen_fd_);
  }

  fake_tracker(const fake_tracker&) = delete;
  fake_tracker& operator=(const fake_tracker&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/announce"; }

  std::vector<request> requests() {
    std::lock_guard<std::mutex> g(m_);
    return requests_;
  }

  /// Waits (bounded) until at least `n` requests arrived.
  bool wait_requests(std::size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> g(m_);
    return cv_.wait_for(g, timeout, [&] { return requests_.size() >= n; });
  }

private:
  void serve() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      timeval tv{2, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      std::string head;
      char buf[4096];
      while (head.find("\r\n\r\n") == std::string::npos && head.size() < 65536) {
        auto n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        head.append(buf, static_cast<std::size_t>(n));
      }
      // "GET <target> HTTP/1.1"
      std::string target;
      auto sp1 = head.find(' ');
      auto sp2 = sp1 == std::string::npos ? sp1 : head.find(' ', sp1 + 1);
      if (sp2 != std::string::npos) target = head.substr(sp1 + 1, sp2 - sp1 - 1);
      {
        std::lock_guard<std::mutex> g(m_);
        requests_.push_back({target, steady::now()});
      }
      cv_.notify_all();
      auto reply = respond_(target);
      if (!reply) {
        held_.push_back(fd);
        continue;
      }
      std::size_t sent = 0;
      while (sent < reply->size()) {
        auto n = ::send(fd, reply->data() + sent, reply->size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<std::size_t>(n);
      }
      ::close(fd);
    }
  }

  responder respond_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<int> held_;  // only touched by the server thread until it is joined
  std::mutex m_;
  std::condition_variable cv_;
  std::vector<request> requests_;
};

std::array<std::uint8_t, 20> make_peer_id(char tag) {
  std::array<std::uint8_t, 20> id{};
  std::string s = "-AT0001-test-peer-";
  s += tag;
  s += tag;
  std::copy(s.begin(), s.end(), id.begin());
  return id;
}

caf::actor_system_config& with_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::actorrent_api>();
  cfg.add_message_types<caf::id_block::actorrent>();
  return cfg;
}

// An actor system, a network thread and the actors of one test. The network
// thread goes before the actor system, and every actor is gone before the
// network thread, so no socket handler ever outlives what it talks to.
struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{with_types(cfg)};
  net_service net;
  std::vector<tracker_actor> trackers;
  std::vector<tracker_owner_actor> torrents;

  ~fixture() {
    caf::scoped_actor self{sys};
    for (auto& t : trackers) {
      self->send_exit(t, caf::exit_reason::user_shutdown);
      self->wait_for(t);
    }
    for (auto& t : torrents) {
      self->send_exit(t, caf::exit_reason::user_shutdown);
      self->wait_for(t);
    }
  }

  std::pair<tracker_owner_actor, std::shared_ptr<event_log>> torrent() {
    auto log = std::make_shared<event_log>();
    auto t = sys.spawn(stand_in_torrent, log);
    torrents.push_back(t);
    return {t, log};
  }

  /// A tracker actor whose owner's start-up check is already over.
  tracker_actor tracker(tracker_config c, tracker_owner_actor t) {
    auto h = waiting_tracker(std::move(c), std::move(t));
    caf::anon_send(h, ready_atom_v);
    return h;
  }

  /// A tracker actor whose owner is still checking.
  tracker_actor waiting_tracker(tracker_config c, tracker_owner_actor t) {
    auto h = spawn_tracker(sys, net.io(), std::move(c), std::move(t));
    trackers.push_back(h);
    return h;
  }

  struct stop_result {
    bool replied = false;
    bool value = false;
    std::chrono::milliseconds took{0};
  };

  /// Sends stop_atom and waits (bounded) for the reply.
  stop_result stop(const tracker_actor& t, std::chrono::milliseconds bound = 10s) {
    caf::scoped_actor self{sys};
    stop_result r;
    auto start = steady::now();
    self->request(t, bound, stop_atom_v)
      .receive(
        [&](bool ok) {
          r.replied = true;
          r.value = ok;
        },
        [&](caf::error&) {});
    r.took = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - start);
    return r;
  }
};

tracker_config base_config(std::vector<std::vector<std::string>> tiers, char tag = 'a') {
  tracker_config c;
  c.tiers = std::move(tiers);
  c.info_hash = sha1(std::string_view("actorrent tracker actor test"));
  c.peer_id = make_peer_id(tag);
  c.port = 6881;
  c.shuffle_tiers = false;
  c.request_timeout = 2s;
  c.stop_timeout = 2s;
  return c;
}

const peer_endpoint sample_peer{"127.0.0.1", 7001};

// http_get, waited for (bounded); counts how often `done` ran.
struct sync_get {
  std::mutex m;
  std::condition_variable cv;
  std::optional<result<http_response>> r;
  int calls = 0;
};

std::shared_ptr<sync_get> get(asio::io_context& io, const std::string& text,
                              std::chrono::milliseconds timeout, std::size_t max = 4096,
                              const http_tls_options& tls = {}) {
  auto out = std::make_shared<sync_get>();
  auto u = parse_url(text);
  REQUIRE(u.has_value());
  http_get(
    io, *u, "actorrent-test", timeout, max,
    [out](result<http_response> r) {
      std::lock_guard<std::mutex> g(out->m);
      ++out->calls;
      out->r.emplace(std::move(r));
      out->cv.notify_all();
    },
    tls);
  std::unique_lock<std::mutex> g(out->m);
  REQUIRE(out->cv.wait_for(g, timeout + 5s, [&] { return out->r.has_value(); }));
  return out;
}

} // namespace

TEST_CASE("http_get fetches a response and reports failures") {
  net_service net;
  auto get = [&](const std::string& text, std::chrono::milliseconds timeout) {
    return ::get(net.io(), text, timeout);
  };

  fake_tracker ok([](const std::string&) { return http_ok("hello"); });
  auto a = get(ok.url() + "?x=1", 2s);
  REQUIRE(a->r->has_value());
  CHECK((*a->r)->status == 200);
  CHECK((*a->r)->body == "hello");
  REQUIRE(ok.requests().size() == 1);
  CHECK(ok.requests()[0].target == "/announce?x=1");

  fake_tracker big([](const std::string&) { return http_ok(std::string(10000, 'x')); });
  auto b = get(big.url(), 2s);
  REQUIRE_FALSE(b->r->has_value());
  CHECK(b->r->err().code == errc::tracker_http);

  fake_tracker hang([](const std::string&) { return std::nullopt; });
  auto start = steady::now();
  auto c = get(hang.url(), 300ms);
  REQUIRE_FALSE(c->r->has_value());
  CHECK(c->r->err().code == errc::timeout);
  CHECK(steady::now() - start < 2s);

  auto d = get("http://127.0.0.1:" + std::to_string(free_port()) + "/announce", 2s);
  REQUIRE_FALSE(d->r->has_value());
  CHECK(d->r->err().code == errc::tracker_http);

  auto e = get("udp://127.0.0.1:6969/announce", 2s);
  REQUIRE_FALSE(e->r->has_value());
  CHECK(e->r->err().code == errc::invalid_argument);

  // `done` ran exactly once for each, even for the timed-out exchange.
  std::this_thread::sleep_for(100ms);
  for (auto* o : {a.get(), b.get(), c.get(), d.get(), e.get()}) {
    std::lock_guard<std::mutex> g(o->m);
    CHECK(o->calls == 1);
  }
}

TEST_CASE("http_get follows redirects, at most max_http_redirects, within one deadline") {
  net_service net;
  fake_tracker target([](const std::string&) { return http_ok("arrived"); });
  auto to_target = target.url() + "?moved=1";
  fake_tracker moved([&](const std::string&) {
    return "HTTP/1.1 302 Found\r\nLocation: " + to_target + "\r\nContent-Length: 0\r\n\r\n";
  });
  auto a = get(net.io(), moved.url(), 2s);
  REQUIRE(a->r->has_value());
  CHECK((*a->r)->body == "arrived");
  REQUIRE(target.requests().size() == 1);
  CHECK(target.requests()[0].target == "/announce?moved=1");

  // A path on the same server, then a loop back to the start.
  fake_tracker loop([](const std::string& t) -> std::string {
    auto next = t == "/announce" ? "/elsewhere" : "/announce";
    return std::string("HTTP/1.1 307 Temporary Redirect\r\nLocation: ") + next + "\r\n\r\n";
  });
  auto b = get(net.io(), loop.url(), 2s);
  REQUIRE_FALSE(b->r->has_value());
  CHECK(b->r->err().code == errc::tracker_http);
  CHECK(b->r->err().message.find("redirect loop: more than 5 redirects") != std::string::npos);
  CHECK(loop.requests().size() == static_cast<std::size_t>(max_http_redirects) + 1);

  // The deadline covers the whole chain.
  fake_tracker hang([](const std::string&) { return std::nullopt; });
  auto to_hang = hang.url();
  fake_tracker to_hanging([&](const std::string&) {
    return "HTTP/1.1 301 Moved\r\nLocation: " + to_hang + "\r\n\r\n";
  });
  auto start = steady::now();
  auto c = get(net.io(), to_hanging.url(), 400ms);
  REQUIRE_FALSE(c->r->has_value());
  CHECK(c->r->err().code == errc::timeout);
  CHECK(c->r->err().message.find("timed out after 400 ms") != std::string::npos);
  CHECK(steady::now() - start < 2s);

  // A redirect without Location is the response itself; a bad one is an error.
  fake_tracker nowhere([](const std::string&) {
    return std::string("HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n");
  });
  auto d = get(net.io(), nowhere.url(), 2s);
  REQUIRE(d->r->has_value());
  CHECK((*d->r)->status == 302);
  fake_tracker to_udp([](const std::string&) {
    return std::string("HTTP/1.1 302 Found\r\nLocation: udp://127.0.0.1:1/a\r\n\r\n");
  });
  auto e = get(net.io(), to_udp.url(), 2s);
  REQUIRE_FALSE(e->r->has_value());
  CHECK(e->r->err().message.find("bad redirect") != std::string::npos);
}

TEST_CASE("https: no fallback to plain HTTP, and an unreadable CA file is named") {
  net_service net;
  fake_tracker plain([](const std::string&) { return http_ok("d8:intervali60e5:peers0:e"); });
  auto tls_url = "https" + plain.url().substr(4);
  // The server answers in plain HTTP once its read of the hello times out (2 s).
  auto a = get(net.io(), tls_url, 6s);
  REQUIRE_FALSE(a->r->has_value());
  CHECK(a->r->err().code == errc::tracker_http);
  CHECK(a->r->err().message.find("TLS handshake with 127.0.0.1:") != std::string::npos);
  // What reached the plain server was a TLS hello, never our GET.
  for (const auto& r : plain.requests()) CHECK(r.target.find("/announce") == std::string::npos);

  auto b = get(net.io(), tls_url, 2s, 4096, http_tls_options{"/nonexistent/ca.pem"});
  REQUIRE_FALSE(b->r->has_value());
  CHECK(b->r->err().message.find("tracker CA file /nonexistent/ca.pem") != std::string::npos);
}

TEST_CASE("an https tracker is announced to, not skipped") {
  fake_tracker plain([](const std::string&) { return http_ok(announce_body({sample_peer}, 1800)); });
  auto tls_url = "https" + plain.url().substr(4);
  fixture fx;
  auto [torrent, log] = fx.torrent();
  auto cfg = base_config({{tls_url}});
  cfg.request_timeout = 6s;
  auto t = fx.tracker(cfg, torrent);
  // The plain server cannot speak TLS: the announce fails at the handshake.
  CHECK(log->wait_for(note_containing(tls_url, "TLS handshake"), 10s));
  for (const auto& e : log->all()) CHECK(e.kind != torrent_event::peers);
  fx.stop(t);
}

TEST_CASE("two tracker actors meet through a real opentracker, over HTTP and over UDP") {
  std::string scheme;
  SUBCASE("http") { scheme = "http"; }
  SUBCASE("udp") { scheme = "udp"; }
  const char* binary = "/usr/bin/opentracker";
  if (::access(binary, X_OK) != 0 || ::geteuid() != 0) {
    // opentracker chroots into its directory, which needs root.
    WARN_MESSAGE(false, "skipped: needs /usr/bin/opentracker and root");
    return;
  }
  namespace fs = std::filesystem;
  char tmpl[] = "/tmp/actorrent-tracker-actor-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  fs::path dir = tmpl;
  auto cfg_a = base_config({}, 'a');
  {
    std::ofstream wl(dir / "whitelist");
    wl << cfg_a.info_hash.hex() << "\n";
  }
  // opentracker reads the whitelist after dropping to user "nobody".
  fs::permissions(dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                         fs::perms::others_read | fs::perms::others_exec);

  pid_t pid = -1;
  std::uint16_t port = 0;
  for (int attempt = 0; attempt < 3 && pid < 0; ++attempt) {
    port = free_port();
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      int devnull = ::open("/dev/null", O_RDWR);
      if (devnull >= 0) {
        ::dup2(devnull, 1);
        ::dup2(devnull, 2);
      }
      auto p = std::to_string(port);
      // The whitelist is read after the chroot into -d, hence the relative path.
      ::execl(binary, "opentracker", "-i", "127.0.0.1", "-p", p.c_str(), "-P", p.c_str(), "-d",
              dir.c_str(), "-w", "whitelist", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    bool ready = false;
    for (int i = 0; i < 250 && !ready; ++i) {
      if (::waitpid(child, nullptr, WNOHANG) == child) break;
      ready = port_accepts(port);
      if (!ready) std::this_thread::sleep_for(20ms);
    }
    if (ready) {
      pid = child;
    } else {
      ::kill(child, SIGKILL);
      ::waitpid(child, nullptr, 0);
    }
  }
  REQUIRE_MESSAGE(pid > 0, "opentracker did not start");
  struct reaper {
    pid_t pid;
    fs::path dir;
    ~reaper() {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } reap{pid, dir};

  auto http_url = "http://127.0.0.1:" + std::to_string(port) + "/announce";
  auto url = scheme + "://127.0.0.1:" + std::to_string(port) + "/announce";
  fixture fx;

  // The whitelist may be loaded a moment after the port opens. A "stopped"
  // announce tells when it is active without adding a peer to the swarm.
  {
    announce_request probe;
    probe.announce_url = http_url;
    probe.info_hash = cfg_a.info_hash;
    probe.peer_id = make_peer_id('p');
    probe.port = 1;
    probe.event = announce_event::stopped;
    bool whitelisted = false;
    for (int i = 0; i < 100 && !whitelisted; ++i) {
      auto g = get(fx.net.io(), build_announce_url(probe), 2s);
      REQUIRE_MESSAGE(g->r->has_value(), (g->r->has_value() ? "" : g->r->err().to_string()));
      auto reply = parse_announce_reply((*g->r)->body);
      whitelisted = reply && reply->failure_reason.empty();
      if (!whitelisted) std::this_thread::sleep_for(50ms);
    }
    REQUIRE_MESSAGE(whitelisted, "opentracker never accepted the whitelisted info-hash");
  }

  cfg_a.tiers = {{url}};
  cfg_a.port = 40001;
  auto [torrent_a, log_a] = fx.torrent();
  auto a = fx.tracker(cfg_a, torrent_a);
  // opentracker lists the announcing peer itself, which tells us A is registered.
  const peer_endpoint ep_a{"127.0.0.1", 40001}, ep_b{"127.0.0.1", 40002}, ep_c{"127.0.0.1", 40003};
  REQUIRE(log_a->wait_for([&](const torrent_event& e) { return has_endpoint(e, ep_a); }, 5s));

  auto cfg_b = base_config({{url}}, 'b');
  cfg_b.port = 40002;
  auto [torrent_b, log_b] = fx.torrent();
  auto b = fx.tracker(cfg_b, torrent_b);
  CHECK(log_b->wait_for([&](const torrent_event& e) { return has_endpoint(e, ep_a); }, 5s));

  auto stopped = fx.stop(a);
  CHECK(stopped.replied);
  CHECK(stopped.value);
  CHECK(stopped.took < cfg_a.stop_timeout + 500ms);

  // A third peer now sees B but no longer A.
  auto cfg_c = base_config({{url}}, 'c');
  cfg_c.port = 40003;
  auto [torrent_c, log_c] = fx.torrent();
  auto c = fx.tracker(cfg_c, torrent_c);
  auto seen = log_c->wait_for([&](const torrent_event& e) { return has_endpoint(e, ep_b); }, 5s);
  REQUIRE(seen);
  CHECK_FALSE(has_endpoint(*seen, ep_a));
  CHECK(has_endpoint(*seen, ep_c));

  CHECK(fx.stop(b).value);
  CHECK(fx.stop(c).value);
  // Nothing went wrong on the way: peers and accepted announces, no notes.
  for (auto* log : {log_a.get(), log_b.get(), log_c.get()})
    for (const auto& e : log->all()) CHECK_MESSAGE(e.kind != torrent_event::note, e.text);
}

TEST_CASE("BEP 12: a dead tracker falls back to the next one of its tier") {
  fake_tracker good([](const std::string&) { return http_ok(announce_body({sample_peer}, 1800)); });
  auto dead = "http://127.0.0.1:" + std::to_string(free_port()) + "/announce";
  fixture fx;
  auto [torrent, log] = fx.torrent();
  auto t = fx.tracker(base_config({{dead, good.url(), "wss://127.0.0.1:6969/announce"}}), torrent);

  auto peers = log->wait_for([](const torrent_event& e) { return has_endpoint(e, sample_peer); }, 5s);
  REQUIRE(peers);
  CHECK(log->wait_for(note_containing(dead, "HTTP exchange failed: tracker_http: connect to"), 1s));
  CHECK(log->wait_for(note_containing("wss://127.0.0.1:6969/announce", "unsupported scheme 'wss'"), 1s));
  // The working tracker was told we started.
  REQUIRE(good.requests().size() >= 1);
  CHECK(query_value(good.requests()[0].target, "event") == "started");
  auto r = fx.stop(t);
  CHECK(r.replied);
  CHECK(r.value);
}

TEST_CASE("BEP 12: the tracker that answers moves to the front of its tier") {
  fake_tracker refusing([](const std::string&) { return http_ok(failure_body("go away")); });
  fake_tracker good([](const std::string&) { return http_ok(announce_body({sample_peer}, 1800)); });

  SUBCASE("same tier: later announces go to the working tracker first") {
    fixture fx;
    auto [torrent, log] = fx.torrent();
    auto t = fx.tracker(base_config({{refusing.url(), good.url()}}), torrent);
    REQUIRE(good.wait_requests(1, 5s));
    caf::anon_send(t, completed_atom_v);
    REQUIRE(good.wait_requests(2, 5s));
    CHECK(fx.stop(t).value);
    auto g = good.requests();
    REQUIRE(g.size() == 3);
    CHECK(query_value(g[0].target, "event") == "started");
    CHECK(query_value(g[1].target, "event") == "completed");
    CHECK(query_value(g[2].target, "event") == "stopped");
    CHECK(refusing.requests().size() == 1);
    CHECK(log->wait_for(note_containing(refusing.url(), "failure: go away"), 1s));
  }

  SUBCASE("tiers: later announces start from the first tier again") {
    fixture fx;
    auto [torrent, log] = fx.torrent();
    auto t = fx.tracker(base_config({{refusing.url()}, {good.url()}}), torrent);
    REQUIRE(good.wait_requests(1, 5s));
    caf::anon_send(t, completed_atom_v);
    REQUIRE(good.wait_requests(2, 5s));
    CHECK(refusing.requests().size() == 2);
    CHECK(query_value(refusing.requests()[1].target, "event") == "completed");
    CHECK(query_value(good.requests()[1].target, "event") == "completed");
    CHECK(fx.stop(t).value);
  }
}

TEST_CASE("tracker failures reach the torrent as notes") {
  fake_tracker refusing(
    [](const std::string&) { return http_ok(failure_body("torrent not registered here")); });
  fake_tracker not_http([](const std::string&) { return std::string("garbage\r\n\r\nmore garbage"); });
  fake_tracker not_bencode([](const std::string&) { return http_ok("<html>hello</html>"); });
  fake_tracker missing([](const std::string&) {
    return std::string("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  });
  fake_tracker warns([](const std::string&) {
    return http_ok(announce_body({sample_peer}, 1800, {}, "slow down"));
  });

  fixture fx;
  auto [torrent, log] = fx.torrent();
  auto t = fx.tracker(
    base_config({{refusing.url(), not_http.url(), not_bencode.url(), missing.url(), warns.url()}}),
    torrent);
  REQUIRE(log->wait_for([](const torrent_event& e) { return has_endpoint(e, sample_peer); }, 5s));
  CHECK(log->wait_for(note_containing(refusing.url(), "failure: torrent not registered here"), 1s));
  CHECK(log->wait_for(note_containing(not_http.url(), "HTTP exchange failed"), 1s));
  CHECK(log->wait_for(note_containing(not_bencode.url(), "bad reply"), 1s));
  CHECK(log->wait_for(note_containing(missing.url(), "HTTP status 404"), 1s));
  CHECK(log->wait_for(note_containing(warns.url(), "warning: slow down"), 1s));
  // Each tracker was tried once, in order.
  for (auto* f : {&refusing, &not_http, &not_bencode, &missing, &warns}) CHECK(f->requests().size() == 1);
  CHECK(fx.stop(t).value);
}

TEST_CASE("a tracker that never answers does not hang the actor") {
  fake_tracker hang([](const std::string&) { return std::nullopt; });

  SUBCASE("the request times out and is reported; stop replies at once") {
    fixture fx;
    auto [torrent, log] = fx.torrent();
    auto cfg = base_config({{hang.url()}});
    cfg.request_timeout = 500ms;
    auto start = steady::now();
    auto t = fx.tracker(cfg, torrent);
    REQUIRE(log->wait_for(note_containing(hang.url(), "timed out"), 5s));
    CHECK(steady::now() - start < 3s);
    auto r = fx.stop(t);
    CHECK(r.replied);
    CHECK(r.took < cfg.stop_timeout);
  }

  SUBCASE("stop while the announce hangs replies within stop_timeout") {
    fixture fx;
    auto [torrent, log] = fx.torrent();
    auto cfg = base_config({{hang.url()}});
    cfg.request_timeout = 15s;
    cfg.stop_timeout = 1s;
    auto t = fx.tracker(cfg, torrent);
    REQUIRE(hang.wait_requests(1, 5s));
    auto r = fx.stop(t);
    CHECK(r.replied);
    CHECK(r.took < cfg.stop_timeout + 500ms);
  }
}

TEST_CASE("a tracker that hangs on the stopped announce is bounded by stop_timeout") {
  fake_tracker flaky([](const std::string& target) -> std::optional<std::string> {
    if (query_value(target, "event") == "stopped") return std::nullopt;
    return http_ok(announce_body({sample_peer}, 1800));
  });
  fixture fx;
  auto [torrent, log] = fx.torrent();
  auto cfg = base_config({{flaky.url()}});
  cfg.request_timeout = 15s;
  cfg.stop_timeout = 1s;
  auto t = fx.tracker(cfg, torrent);
  REQUIRE(log->wait_for([](const torrent_event& e) { return has_endpoint(e, sample_peer); }, 5s));
  auto r = fx.stop(t);
  CHECK(r.replied);
  CHECK_FALSE(r.value);  // the tracker never confirmed
  CHECK(r.took >= 900ms);
  CHECK(r.took < cfg.stop_timeout + 500ms);
  REQUIRE(flaky.requests().size() == 2);
  CHECK(query_value(flaky.requests()[1].target, "event") == "stopped");
}

TEST_CASE("completed is announced once, with the latest counters and tracker id") {
  fake_tracker good(
    [](const std::string&) { return http_ok(announce_body({sample_peer}, 1800, "tid-42")); });
  fixture fx;
  auto [torrent, log] = fx.torrent();
  auto t = fx.tracker(base_config({{good.url()}}), torrent);
  REQUIRE(good.wait_requests(1, 5s));
  log->set_counters({100, 200, 0});
  caf::anon_send(t, completed_atom_v);
  caf::anon_send(t, completed_atom_v);
  REQUIRE(good.wait_requests(2, 5s));
  CHECK(fx.stop(t).value);
  auto reqs = good.requests();
  REQUIRE(reqs.size() == 3);
  CHECK(query_value(reqs[0].target, "event") == "started");
  CHECK(query_value(reqs[0].target, "trackerid").empty());
  const auto& done = reqs[1].target;
  CHECK(query_value(done, "event") == "completed");
  CHECK(query_value(done, "uploaded") == "100");
  CHECK(query_value(done, "downloaded") == "200");
  CHECK(query_value(done, "left") == "0");
  CHECK(query_value(done, "trackerid") == "tid-42");
  CHECK(query_value(reqs[2].target, "event") == "stopped");
}

TEST_CASE("regular announces follow the interval; failures back off") {
  SUBCASE("interval") {
    fake_tracker good([](const std::string&) { return http_ok(announce_body({sample_peer}, 1)); });
    fixture fx;
    auto [torrent, log] = fx.torrent();
    auto t = fx.tracker(base_config({{good.url()}}), torrent);
    REQUIRE(good.wait_requests(3, 5s));
    auto reqs = good.requests();
    CHECK(query_value(reqs[0].target, "event") == "started");
    CHECK(query_value(reqs[1].target, "event").empty());
    CHECK(query_value(reqs[2].target, "event").empty());
    CHECK(reqs[1].when - reqs[0].when >= 900ms);
    CHECK(reqs[2].when - reqs[1].when >= 900ms);
    CHECK(fx.stop(t).value);
  }

  SUBCASE("backoff doubles up to max_retry, and keeps asking for started") {
    fake_tracker refusing([](const std::string&) { return http_ok(failure_body("no")); });
    fixture fx;
    auto [torrent, log] = fx.torrent();
    auto cfg = base_config({{refusing.url()}});
    cfg.min_retry = 1s;
    cfg.max_retry = 2s;
    auto t = fx.tracker(cfg, torrent);
    REQUIRE(refusing.wait_requests(4, 10s));
    auto reqs = refusing.requests();
    auto gap1 = reqs[1].when - reqs[0].when;
    auto gap2 = reqs[2].when - reqs[1].when;
    auto gap3 = reqs[3].when - reqs[2].when;
    CHECK(gap1 >= 900ms);
    CHECK(gap1 < 1900ms);
    CHECK(gap2 >= 1900ms);
    CHECK(gap3 >= 1900ms);
    CHECK(gap3 < 3500ms);
    for (const auto& r : reqs) CHECK(query_value(r.target, "event") == "started");
    auto r = fx.stop(t);
    CHECK(r.replied);
    CHECK(r.value);  // never registered, nothing to undo
  }
}

TEST_CASE("the first announce waits for the start-up check and carries its counters") {
  fake_tracker good([](const std::string&) { return http_ok(announce_body({sample_peer}, 1800)); });
  fixture fx;
  auto [torrent, log] = fx.torrent();
  auto cfg = base_config({{good.url()}});
  cfg.ready_timeout = 30s;
  auto t = fx.waiting_tracker(cfg, torrent);
  // Still checking: nothing goes out, whatever the counters say meanwhile.
  CHECK_FALSE(good.wait_requests(1, 500ms));
  // The check found every piece: the seed's first word to the tracker says so.
  log->set_counters({0, 0, 0});
  caf::anon_send(t, ready_atom_v);
  REQUIRE(good.wait_requests(1, 5s));
  CHECK(fx.stop(t).value);
  auto reqs = good.requests();
  REQUIRE(reqs.size() == 2);
  CHECK(query_value(reqs[0].target, "event") == "started");
  CHECK(query_value(reqs[0].target, "left") == "0");
  // Complete at start: never "completed" (BEP 3), straight to "stopped".
  CHECK(query_value(reqs[1].target, "event") == "stopped");
  CHECK(query_value(reqs[1].target, "left") == "0");
}

TEST_CASE("a long start-up check: announce what is known, then the truth at once when it ends") {
  fake_tracker good([](const std::string&) { return http_ok(announce_body({sample_peer}, 1800)); });
  fixture fx;
  auto [torrent, log] = fx.torrent();
  auto cfg = base_config({{good.url()}});
  cfg.ready_timeout = 300ms;
  auto start = steady::now();
  auto t = fx.waiting_tracker(cfg, torrent);
  REQUIRE(good.wait_requests(1, 5s));
  auto first = good.requests()[0];
  CHECK(first.when - start >= 250ms);
  CHECK(query_value(first.target, "event") == "started");
  CHECK(query_value(first.target, "left") == "1000");
  // Peers are found meanwhile, as with any accepted announce.
  CHECK(log->wait_for([](const torrent_event& e) { return has_endpoint(e, sample_peer); }, 1s));

  log->set_counters({5, 7, 0});
  caf::anon_send(t, ready_atom_v);
  // Not after the 1800 s interval: now.
  REQUIRE(good.wait_requests(2, 5s));
  auto second = good.requests()[1];
  CHECK(query_value(second.target, "event").empty());
  CHECK(query_value(second.target, "left") == "0");
  CHECK(query_value(second.target, "uploaded") == "5");
  CHECK(query_value(second.target, "downloaded") == "7");
  // One re-announce, not a loop.
  CHECK_FALSE(good.wait_requests(3, 500ms));
  CHECK(fx.stop(t).value);
}

TEST_CASE("every announce asks for the counters when it is sent") {
  fake_tracker good([](const std::string&) { return http_ok(announce_body({sample_peer}, 1)); });
  fixture fx;
  auto [torrent, log] = fx.torrent();
  auto t = fx.tracker(base_config({{good.url()}}), torrent);
  REQUIRE(good.wait_requests(1, 5s));
  log->set_counters({1, 2, 3});
  REQUIRE(good.wait_requests(2, 5s));
  log->set_counters({4, 5, 6});
  REQUIRE(good.wait_requests(3, 5s));
  CHECK(fx.stop(t).value);
  auto reqs = good.requests();
  REQUIRE(reqs.size() >= 4);
  CHECK(query_value(reqs[0].target, "left") == "1000");
  CHECK(query_value(reqs[1].target, "left") == "3");
  CHECK(query_value(reqs[1].target, "uploaded") == "1");
  CHECK(query_value(reqs[2].target, "left") == "6");
  CHECK(query_value(reqs[2].target, "downloaded") == "5");
  CHECK(query_value(reqs.back().target, "event") == "stopped");
  CHECK(query_value(reqs.back().target, "left") == "6");
}

TEST_CASE("an accepted announce reaches the torrent with its interval, peers and swarm counts") {
  fake_tracker counts([](const std::string&) {
    return http_ok("d8:completei7e10:incompletei3e8:intervali900e5:peers" + bstr(compact(sample_peer)) + "e");
  });
  fake_tracker silent([](const std::string&) { return http_ok(announce_body({sample_peer}, 1200)); });
  fixture fx;
  auto [torrent, log] = fx.torrent();
  auto a = fx.tracker(base_config({{counts.url()}}), torrent);
  auto reply_is = [](std::string text) {
    return [text = std::move(text)](const torrent_event& e) {
      return e.kind == torrent_event::reply && e.text == text;
    };
  };
  CHECK(log->wait_for(reply_is("reply " + counts.url() + " interval=900 peers=1 seeders=7 leechers=3"), 5s));
  CHECK(fx.stop(a).value);
  auto b = fx.tracker(base_config({{silent.url()}}), torrent);
  CHECK(log->wait_for(reply_is("reply " + silent.url() + " interval=1200 peers=1 seeders=-1 leechers=-1"), 5s));
  CHECK(fx.stop(b).value);
}
