#include "announce_reply.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <optional>
#include <set>

#include "actorrent/bencode.hpp"
#include "printable.hpp"

namespace actorrent {

namespace {

constexpr std::size_t compact_v4_entry = 6;
constexpr std::size_t compact_v6_entry = 18;

error malformed(const std::string& why) {
  return error{errc::tracker_reply, "announce reply: " + why};
}

std::uint16_t read_port(const unsigned char* p) noexcept {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

std::string format_address(int family, const unsigned char* addr) {
  char text[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(family, addr, text, sizeof text) == nullptr) return {};
  return text;
}

// Keeps peers in arrival order while dropping repeats; trackers that send
// both "peers" and a dictionary list often name the same peer twice.
// Past max_reply_peers entries are only counted, so a reply's cost in memory
// and work stays that of max_reply_peers whatever the tracker sends.
struct peer_sink {
  std::vector<peer_endpoint>& out;
  std::size_t& ignored;
  std::set<peer_endpoint> seen;

  bool full() const noexcept { return out.size() >= max_reply_peers; }

  void add(peer_endpoint p) {
    if (p.port == 0 || p.host.empty()) return;
    if (full()) {
      ++ignored;
      return;
    }
    if (seen.insert(p).second) out.push_back(std::move(p));
  }
};

std::optional<error> add_compact(const std::string& bytes, std::size_t entry, int family, const char* key,
                         peer_sink& sink) {
  if (bytes.size() % entry != 0)
    return malformed(std::string("\"") + key + "\" length " + std::to_string(bytes.size()) +
                     " is not a multiple of " + std::to_string(entry));
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  for (std::size_t off = 0; off < bytes.size(); off += entry) {
    if (sink.full()) {
      sink.ignored += (bytes.size() - off) / entry;
      break;
    }
    std::uint16_t port = read_port(p + off + entry - 2);
    if (port == 0) continue;
    sink.add(peer_endpoint{format_address(family, p + off), port});
  }
  return std::nullopt;
}

// "ip" in a dictionary peer may be IPv4, IPv6 or a DNS name (BEP 3).
// Addresses are normalised so the same peer compares equal in any form.
std::optional<std::string> normalise_host(const std::string& ip) {
  if (ip.empty() || ip.size() > 253) return std::nullopt;
  in_addr v4{};
  if (inet_pton(AF_INET, ip.c_str(), &v4) == 1)
    return format_address(AF_INET, reinterpret_cast<const unsigned char*>(&v4));
  in6_addr v6{};
  if (inet_pton(AF_INET6, ip.c_str(), &v6) == 1)
    return format_address(AF_INET6, reinterpret_cast<const unsigned char*>(&v6));
  auto r = parse_endpoint(ip + ":1");
  if (!r) return std::nullopt;
  return r->host;
}

void add_dictionary_peers(const bencode::list& entries, peer_sink& sink) {
  for (const auto& e : entries) {
    if (sink.full()) {
      sink.ignored += static_cast<std::size_t>(&entries.back() - &e) + 1;
      break;
    }
    const auto* ip = e.find("ip");
    const auto* port = e.find("port");
    if (ip == nullptr || port == nullptr || !ip->as_string() || !port->as_int()) continue;
    std::int64_t n = *port->as_int();
    if (n < 1 || n > 65535) continue;
    auto host = normalise_host(*ip->as_string());
    if (!host) continue;
    sink.add(peer_endpoint{std::move(*host), static_cast<std::uint16_t>(n)});
  }
}

std::int64_t clamp_interval(std::int64_t v) noexcept {
  return std::clamp(v, min_announce_interval, max_announce_interval);
}

} // namespace

std::string body_excerpt(std::string_view body) {
  constexpr std::size_t shown = 60;
  if (body.empty()) return "nothing (empty body)";
  std::string out(1, '"');
  out.append(printable(body.substr(0, shown))).append(1, '"');
  if (body.size() > shown) out.append("... (").append(std::to_string(body.size())).append(" bytes)");
  return out;
}

result<announce_reply> parse_announce_reply(std::string_view bencoded_body) {
  bencode::limits lim;
  // Trackers in the wild send unsorted keys; a reply's bytes are not hashed,
  // so canonical form does not matter here.
  lim.strict = false;
  lim.max_depth = 16;
  auto decoded = bencode::decode(bencoded_body, lim);
  if (!decoded) return malformed(decoded.err().message + "; the reply starts with " + body_excerpt(bencoded_body));
  const bencode::value& root = *decoded;
  if (!root.is_dict()) return malformed("top level is not a dictionary");

  announce_reply reply;
  auto string_field = [&](const char* key, std::string& out) -> std::optional<error> {
    const auto* v = root.find(key);
    if (v == nullptr) return std::nullopt;
    if (!v->as_string()) return malformed(std::string("\"") + key + "\" is not a string");
    out = *v->as_string();
    return std::nullopt;
  };
  auto int_field = [&](const char* key) -> result<std::optional<std::int64_t>> {
    const auto* v = root.find(key);
    if (v == nullptr) return std::optional<std::int64_t>{};
    if (!v->as_int()) return malformed(std::string("\"") + key + "\" is not an integer");
    return std::optional<std::int64_t>{*v->as_int()};
  };

  if (auto e = string_field("failure reason", reply.failure_reason)) return *e;
  if (!reply.failure_reason.empty()) {
    // A refusal is complete on its own; whatever else the tracker added is
    // taken when well-formed and otherwise ignored.
    (void)string_field("warning message", reply.warning_message);
    if (auto iv = int_field("interval"); iv && iv->has_value()) reply.interval = clamp_interval(**iv);
    return reply;
  }
  if (auto e = string_field("warning message", reply.warning_message)) return *e;
  if (auto e = string_field("tracker id", reply.tracker_id)) return *e;

  auto interval = int_field("interval");
  if (!interval) return interval.err();
  if (interval->has_value()) reply.interval = clamp_interval(**interval);

  auto min_interval = int_field("min interval");
  if (!min_interval) return min_interval.err();
  if (min_interval->has_value()) reply.min_interval = clamp_interval(**min_interval);

  // A negative swarm count is meaningless; it is dropped, not fatal.
  auto count_field = [&](const char* key, std::optional<std::int64_t>& out) -> std::optional<error> {
    auto count = int_field(key);
    if (!count) return count.err();
    if (count->has_value() && **count >= 0) out = **count;
    return std::nullopt;
  };
  if (auto e = count_field("complete", reply.complete)) return *e;
  if (auto e = count_field("incomplete", reply.incomplete)) return *e;

  peer_sink sink{reply.peers, reply.peers_ignored, {}};
  if (const auto* peers = root.find("peers")) {
    if (const auto* s = peers->as_string()) {
      if (auto e = add_compact(*s, compact_v4_entry, AF_INET, "peers", sink)) return *e;
    } else if (const auto* l = peers->as_list()) {
      add_dictionary_peers(*l, sink);
    } else {
      return malformed("\"peers\" is neither a string nor a list");
    }
  }
  if (const auto* peers6 = root.find("peers6")) {
    const auto* s = peers6->as_string();
    if (!s) return malformed("\"peers6\" is not a string");
    if (auto e = add_compact(*s, compact_v6_entry, AF_INET6, "peers6", sink)) return *e;
  }
  return reply;
}

} // namespace actorrent
