// actorrent-dht-probe: one DHT node (dht::node) on a UDP socket, for
// checking the DHT against other clients by hand or from a test.
//
//   actorrent-dht-probe --bind IP:PORT --bootstrap IP:PORT [--bootstrap ...]
//                       [--get-peers INFOHASH] [--announce PORT] [--duration SECONDS]
//
// Pings the bootstrap nodes, looks up its own id, then (with --get-peers)
// looks up the info-hash, prints each peer found as "peer IP:PORT" and,
// with --announce, announces PORT for it to the closest nodes. It answers
// queries until the lookup and its announces are done, or for the whole
// --duration without --get-peers (default 10 s, at most 600), then exits:
// 0 when the lookup found a peer (or none was asked), 3 when not.
// IPv4 addresses only, no names: nothing is resolved.
#include "dht_node.hpp"
#include "peer_endpoint.hpp"

#include <asio.hpp>

#include <charconv>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <vector>

using namespace actorrent;
using namespace std::chrono_literals;

namespace {

std::optional<dht::endpoint> parse_v4(const std::string& text) {
  auto ep = parse_endpoint(text);
  if (!ep) return std::nullopt;
  asio::error_code ec;
  auto addr = asio::ip::make_address_v4(ep->host, ec);
  if (ec) return std::nullopt;
  return dht::endpoint{addr.to_bytes(), ep->port};
}

asio::ip::udp::endpoint to_asio(const dht::endpoint& e) {
  return {asio::ip::address_v4(e.ip), e.port};
}

int usage() {
  std::cerr << "usage: actorrent-dht-probe --bind IP:PORT --bootstrap IP:PORT [--bootstrap ...]\n"
               "                           [--get-peers INFOHASH] [--announce PORT] [--duration SECONDS]\n";
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  std::optional<dht::endpoint> bind;
  std::vector<dht::endpoint> bootstrap;
  std::optional<sha1_hash> info_hash;
  std::uint16_t announce_port = 0;
  int duration = 10;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    std::string v = argv[++i];
    if (a == "--bind") {
      if (!(bind = parse_v4(v))) return usage();
    } else if (a == "--bootstrap") {
      auto b = parse_v4(v);
      if (!b) return usage();
      bootstrap.push_back(*b);
    } else if (a == "--get-peers") {
      if (!(info_hash = sha1_hash::from_hex(v))) return usage();
    } else if (a == "--announce") {
      auto p = host_syntax::parse_port(v);
      if (!p) return usage();
      announce_port = *p;
    } else if (a == "--duration") {
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), duration);
      if (ec != std::errc{} || p != v.data() + v.size() || duration < 1 || duration > 600) return usage();
    } else {
      return usage();
    }
  }
  if (!bind || bootstrap.empty()) return usage();

  asio::io_context io;
  asio::ip::udp::socket socket(io);
  asio::error_code ec;
  socket.open(asio::ip::udp::v4(), ec);
  if (!ec) socket.bind(to_asio(*bind), ec);
  if (ec) {
    std::cerr << "actorrent-dht-probe: cannot bind " << bind->to_string() << ": " << ec.message() << "\n";
    return 1;
  }

  std::random_device rd;
  std::mt19937_64 rng((std::uint64_t{rd()} << 32) | rd());
  dht::node node(dht::random_id(rng), rng());
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  auto end = start + std::chrono::seconds(duration);
  bool found = false;

  auto flush = [&] {
    for (auto& d : node.take_outgoing()) {
      asio::error_code sec;
      socket.send_to(asio::buffer(d.bytes), to_asio(d.to), 0, sec);
      if (sec) std::cerr << "send to " << d.to.to_string() << ": " << sec.message() << "\n";
    }
  };

  for (const auto& b : bootstrap) node.ping(b, clock::now());
  flush();
  auto after_join = [&](const dht::lookup&) {
    std::cout << "table " << node.table().size() << " nodes" << std::endl;
    if (!info_hash) return;
    node.start_lookup(dht::lookup::kind::get_peers, *info_hash, clock::now(), [&](const dht::lookup& l) {
      for (const auto& p : l.peers()) std::cout << "peer " << p.to_string() << std::endl;
      found = !l.peers().empty();
      std::cout << "lookup: " << l.counters().queries << " queries, " << l.counters().rounds << " rounds, "
                << l.announce_targets().size() << " tokens" << std::endl;
      if (announce_port != 0) node.announce(l, *info_hash, announce_port, clock::now());
      // Done: a moment for the announces to be answered, then exit.
      end = std::min(end, clock::now() + (announce_port != 0 ? 1s : 0s));
    });
  };
  // The join's find_node starts once a bootstrap node answered (or after a second).
  bool join_started = false;

  std::array<char, krpc::max_datagram + 1> buf{};
  asio::ip::udp::endpoint from;
  std::function<void()> receive = [&] {
    socket.async_receive_from(asio::buffer(buf), from, [&](const asio::error_code& rec, std::size_t n) {
      if (rec) return;
      if (from.address().is_v4() && n <= krpc::max_datagram)
        node.on_datagram({from.address().to_v4().to_bytes(), from.port()}, std::string_view(buf.data(), n),
                         clock::now());
      flush();
      receive();
    });
  };
  receive();

  asio::steady_timer timer(io);
  std::function<void()> tick = [&] {
    auto now = clock::now();
    if (now >= end) {
      socket.close();
      return;
    }
    if (!join_started && (node.table().size() > 0 || now - start >= 1s)) {
      join_started = true;
      node.start_lookup(dht::lookup::kind::find_node, node.id(), now, after_join);
    }
    node.tick(now);
    flush();
    timer.expires_after(20ms);
    timer.async_wait([&](const asio::error_code& tec) {
      if (!tec) tick();
    });
  };
  tick();
  io.run();
  const auto& s = node.stats();
  std::cout << "datagrams: " << s.sent << " sent, " << s.received << " received, " << s.malformed
            << " malformed, " << s.unmatched << " unmatched, " << s.timeouts << " timeouts" << std::endl;
  return !info_hash || found ? 0 : 3;
}
