// Tracker URLs come from .torrent files and the announce fields from the
// client's state; both end up on a request line sent to a server. Input:
//   bytes 0-19 info-hash, 20-39 peer id, 40-41 port, 42-49 uploaded,
//   50-57 downloaded, 58-65 left (big-endian), 66 event (bits 0-1) and
//   compact (bit 2), 67-70 numwant; then key, tracker id and user agent, each
//   one length byte and that many bytes; the rest is the announce URL.
//   Missing bytes read as zero.
// Properties: a parsed URL is well-formed, written back it parses to the same
// thing, and its GET request is exactly five header lines; the announce URL
// keeps the tracker's URL (less any fragment), its query carries every field
// (percent-decoding to the same bytes) and it parses to the same tracker.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "peer_endpoint.hpp"
#include "tracker_url.hpp"

using namespace actorrent;

namespace {

struct reader {
  std::string_view in;
  std::size_t pos = 0;
  std::uint8_t byte() { return pos < in.size() ? static_cast<std::uint8_t>(in[pos++]) : 0; }
  std::uint64_t be(int n) {
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | byte();
    return v;
  }
  std::string bytes(std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out += static_cast<char>(byte());
    return out;
  }
  std::string_view rest() const { return pos < in.size() ? in.substr(pos) : std::string_view{}; }
};

bool same_url(const url& a, const url& b) {
  return a.scheme == b.scheme && a.host == b.host && a.port == b.port && a.target == b.target;
}

bool request_line_safe(std::string_view s) {
  for (char c : s) {
    auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b >= 0x7f || c == '#') return false;
  }
  return true;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // percent_encode() writes upper case only
}

// Decodes a query value, or nullopt if it holds anything percent_encode()
// would not have written.
std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hex_digit(s[i + 1]), lo = hex_digit(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

void check_url(std::string_view text, std::string_view agent) {
  auto u = parse_url(text);
  if (!u) {
    FUZZ_CHECK(u.err().code == errc::invalid_argument);
    FUZZ_CHECK(!u.err().message.empty());
    return;
  }
  FUZZ_CHECK(u->scheme == "http" || u->scheme == "https" || u->scheme == "udp");
  FUZZ_CHECK(!u->host.empty() && u->port != 0);
  FUZZ_CHECK(!u->target.empty() && u->target.front() == '/');
  FUZZ_CHECK(request_line_safe(u->target) && request_line_safe(u->host));

  const std::string again_text = u->scheme + "://" + host_syntax::bracketed(u->host) + ":" +
                                 std::to_string(u->port) + u->target;
  auto again = parse_url(again_text);
  FUZZ_CHECK(again.has_value() && same_url(*again, *u));

  // Five header lines, each ending in CRLF, then the blank line; no other CR or LF.
  const std::string get = build_http_get(*u, agent);
  std::vector<std::string_view> lines;
  std::string_view rest = get;
  while (!rest.empty()) {
    auto crlf = rest.find("\r\n");
    FUZZ_CHECK(crlf != std::string_view::npos);
    auto line = rest.substr(0, crlf);
    FUZZ_CHECK(line.find('\r') == std::string_view::npos && line.find('\n') == std::string_view::npos);
    lines.push_back(line);
    rest.remove_prefix(crlf + 2);
  }
  FUZZ_CHECK(lines.size() == 6 && lines.back().empty());
  FUZZ_CHECK(lines[0] == "GET " + u->target + " HTTP/1.1");
}

void check_announce(const announce_request& r) {
  const std::string a = build_announce_url(r);
  const std::string base = r.announce_url.substr(0, r.announce_url.find('#'));
  FUZZ_CHECK(a.compare(0, base.size(), base) == 0);
  std::string_view query = std::string_view(a).substr(base.size());
  const std::string_view appended = query;
  if (!query.empty() && (query.front() == '?' || query.front() == '&')) query.remove_prefix(1);
  else FUZZ_CHECK(!base.empty() && (base.back() == '?' || base.back() == '&'));

  std::vector<std::pair<std::string_view, std::string>> params;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto kv = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    auto eq = kv.find('=');
    FUZZ_CHECK(eq != std::string_view::npos);
    auto value = percent_decode(kv.substr(eq + 1));
    FUZZ_CHECK(value.has_value());
    params.emplace_back(kv.substr(0, eq), *value);
  }
  std::vector<std::pair<std::string_view, std::string>> expected = {
      {"info_hash", std::string(r.info_hash.raw())},
      {"peer_id", std::string(r.peer_id.begin(), r.peer_id.end())},
      {"port", std::to_string(r.port)},
      {"uploaded", std::to_string(r.uploaded)},
      {"downloaded", std::to_string(r.downloaded)},
      {"left", std::to_string(r.left)},
      {"compact", r.compact ? "1" : "0"},
      {"numwant", std::to_string(r.numwant < 0 ? 0 : r.numwant)},
  };
  static const char* const events[] = {nullptr, "started", "completed", "stopped"};
  if (const char* ev = events[static_cast<int>(r.event)]) expected.emplace_back("event", ev);
  if (!r.key.empty()) expected.emplace_back("key", r.key);
  if (!r.tracker_id.empty()) expected.emplace_back("trackerid", r.tracker_id);
  FUZZ_CHECK(params == expected);

  // The announce goes to the same tracker, with the query after its target.
  auto tracker = parse_url(r.announce_url);
  auto announce = parse_url(a);
  auto unfragmented = parse_url(base);
  // A URL refused for bytes in its fragment (control bytes are refused
  // anywhere) may parse without it, never the other way round.
  if (!tracker) return;
  FUZZ_CHECK(unfragmented.has_value());
  FUZZ_CHECK(same_url(*tracker, *unfragmented));
  if (a.size() > 8192) return;  // parse_url()'s length bound
  FUZZ_CHECK(announce.has_value());
  FUZZ_CHECK(announce->scheme == tracker->scheme && announce->host == tracker->host &&
             announce->port == tracker->port);
  FUZZ_CHECK(announce->target == tracker->target + std::string(appended));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  reader in{std::string_view(reinterpret_cast<const char*>(data), size)};
  announce_request r;
  r.info_hash = sha1_hash::from_raw(in.bytes(20));
  const std::string peer_id = in.bytes(20);
  std::copy(peer_id.begin(), peer_id.end(), r.peer_id.begin());
  r.port = static_cast<std::uint16_t>(in.be(2));
  r.uploaded = static_cast<std::int64_t>(in.be(8));
  r.downloaded = static_cast<std::int64_t>(in.be(8));
  r.left = static_cast<std::int64_t>(in.be(8));
  const std::uint8_t flags = in.byte();
  r.event = static_cast<announce_event>(flags & 3);
  r.compact = (flags & 4) != 0;
  r.numwant = static_cast<std::int32_t>(static_cast<std::uint32_t>(in.be(4)));
  r.key = in.bytes(in.byte());
  r.tracker_id = in.bytes(in.byte());
  const std::string agent = in.bytes(in.byte());
  r.announce_url = std::string(in.rest());

  check_url(r.announce_url, agent);
  check_announce(r);
  return 0;
}
