#include "udp_tracker_protocol.hpp"

#include "printable.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <set>
#include <string_view>

namespace actorrent::udp_tracker {

namespace {

constexpr std::size_t header_size = 8;           // action, transaction id
constexpr std::size_t connect_size = 16;
constexpr std::size_t announce_header = 20;
constexpr std::size_t scrape_entry_size = 12;
constexpr std::size_t v4_entry = 6, v6_entry = 18;
// An error text longer than this is cut: it only ends up in a log line.
constexpr std::size_t max_error_text = 512;

class writer {
public:
  explicit writer(std::size_t size) { out_.reserve(size); }
  void u16(std::uint16_t v) { put(v, 2); }
  void u32(std::uint32_t v) { put(v, 4); }
  void u64(std::uint64_t v) { put(v, 8); }
  void bytes(std::span<const std::uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  std::vector<std::uint8_t> take() { return std::move(out_); }

private:
  void put(std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  std::vector<std::uint8_t> out_;
};

std::uint64_t read_be(std::span<const std::uint8_t> d, std::size_t off, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | d[off + static_cast<std::size_t>(i)];
  return v;
}
std::uint32_t u32_at(std::span<const std::uint8_t> d, std::size_t off) {
  return static_cast<std::uint32_t>(read_be(d, off, 4));
}
std::int32_t i32_at(std::span<const std::uint8_t> d, std::size_t off) {
  return static_cast<std::int32_t>(u32_at(d, off));
}

std::uint32_t event_code(announce_event e) {
  switch (e) {
    case announce_event::none: return 0;
    case announce_event::completed: return 1;
    case announce_event::started: return 2;
    case announce_event::stopped: return 3;
  }
  return 0;
}

const char* action_name(std::uint32_t a) {
  switch (a) {
    case 0: return "connect";
    case 1: return "announce";
    case 2: return "scrape";
    case 3: return "error";
  }
  return nullptr;
}

std::string describe_action(std::uint32_t a) {
  if (const char* n = action_name(a)) return n;
  return "unknown action " + std::to_string(a);
}

error malformed(std::string why) { return error{errc::tracker_reply, "UDP tracker reply: " + why}; }

std::string text_of(std::span<const std::uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::string format_address(int af, const std::uint8_t* addr) {
  char text[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(af, addr, text, sizeof text) == nullptr) return {};
  return text;
}

} // namespace

std::vector<std::uint8_t> encode_connect(std::uint32_t transaction_id) {
  writer w(connect_size);
  w.u64(protocol_id);
  w.u32(static_cast<std::uint32_t>(action::connect));
  w.u32(transaction_id);
  return w.take();
}

std::vector<std::uint8_t> encode_announce(std::uint64_t connection_id, std::uint32_t transaction_id,
                                          const announce_fields& f) {
  writer w(98);
  w.u64(connection_id);
  w.u32(static_cast<std::uint32_t>(action::announce));
  w.u32(transaction_id);
  w.bytes(f.info_hash.bytes);
  w.bytes(f.peer_id);
  // Negative counters make no sense on the wire (they are unsigned there).
  w.u64(static_cast<std::uint64_t>(std::max<std::int64_t>(f.downloaded, 0)));
  w.u64(static_cast<std::uint64_t>(std::max<std::int64_t>(f.left, 0)));
  w.u64(static_cast<std::uint64_t>(std::max<std::int64_t>(f.uploaded, 0)));
  w.u32(event_code(f.event));
  w.u32(0);  // IP: the tracker uses the datagram's source address
  w.u32(f.key);
  w.u32(static_cast<std::uint32_t>(f.num_want));
  w.u16(f.port);
  return w.take();
}

std::vector<std::uint8_t> encode_scrape(std::uint64_t connection_id, std::uint32_t transaction_id,
                                        std::span<const sha1_hash> hashes) {
  writer w(16 + 20 * hashes.size());
  w.u64(connection_id);
  w.u32(static_cast<std::uint32_t>(action::scrape));
  w.u32(transaction_id);
  for (const auto& h : hashes.first(std::min(hashes.size(), max_scrape_hashes))) w.bytes(h.bytes);
  return w.take();
}

std::optional<std::uint32_t> transaction_id_of(std::span<const std::uint8_t> datagram) {
  if (datagram.size() < header_size) return std::nullopt;
  return u32_at(datagram, 4);
}

result<reply> decode_reply(std::span<const std::uint8_t> d, const expectation& expected) {
  const auto n = d.size();
  if (n > max_datagram)
    return malformed(std::to_string(n) + " bytes, more than the " + std::to_string(max_datagram) +
                     " a reply may have");
  if (n < header_size) return malformed("only " + std::to_string(n) + " bytes, shorter than a header");
  auto act = u32_at(d, 0);
  auto tid = u32_at(d, 4);
  if (tid != expected.transaction_id)
    return malformed("transaction id " + std::to_string(tid) + " does not match the request's " +
                     std::to_string(expected.transaction_id));

  if (act == static_cast<std::uint32_t>(action::error)) {
    auto msg = printable(text_of(d.subspan(header_size, std::min(n - header_size, max_error_text))));
    return reply{error_reply{msg.empty() ? std::string("(no message)") : msg}};
  }
  if (act != static_cast<std::uint32_t>(expected.request))
    return malformed(describe_action(act) + " reply to a " +
                     describe_action(static_cast<std::uint32_t>(expected.request)) + " request");

  auto wrong_size = [&](const std::string& what) {
    return malformed(describe_action(act) + " reply of " + std::to_string(n) + " bytes: " + what);
  };
  switch (expected.request) {
    case action::connect: {
      if (n != connect_size) return wrong_size("must be exactly 16");
      return reply{connect_reply{read_be(d, 8, 8)}};
    }
    case action::announce: {
      if (n < announce_header) return wrong_size("shorter than the 20-byte header");
      const bool v6 = expected.peers == family::v6;
      const std::size_t entry = v6 ? v6_entry : v4_entry;
      if ((n - announce_header) % entry != 0)
        return wrong_size("peers are not whole " + std::to_string(entry) + "-byte " +
                          (v6 ? "IPv6" : "IPv4") + " entries");
      announce_reply r;
      r.interval = i32_at(d, 8);
      r.leechers = i32_at(d, 12);
      r.seeders = i32_at(d, 16);
      std::set<peer_endpoint> seen;
      for (std::size_t off = announce_header; off < n; off += entry) {
        auto port = static_cast<std::uint16_t>(read_be(d, off + entry - 2, 2));
        if (port == 0) continue;
        peer_endpoint p{format_address(v6 ? AF_INET6 : AF_INET, d.data() + off), port};
        if (!p.host.empty() && seen.insert(p).second) r.peers.push_back(std::move(p));
      }
      return reply{std::move(r)};
    }
    case action::scrape: {
      if (n != header_size + scrape_entry_size * expected.scrape_count)
        return wrong_size("must hold exactly " + std::to_string(expected.scrape_count) +
                          " 12-byte entries");
      scrape_reply r;
      for (std::size_t off = header_size; off < n; off += scrape_entry_size)
        r.entries.push_back({i32_at(d, off), i32_at(d, off + 4), i32_at(d, off + 8)});
      return reply{std::move(r)};
    }
    case action::error: break;
  }
  return malformed("no reply is expected to an error");
}

} // namespace actorrent::udp_tracker
