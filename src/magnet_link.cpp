#include "actorrent/magnet_link.hpp"
#include "ascii.hpp"

#include "peer_endpoint.hpp"
#include "printable.hpp"
#include "tracker_url.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

namespace actorrent {

namespace {

using ascii::hex_value;
using ascii::iequals;

error bad(std::string what) { return error{errc::invalid_argument, "magnet link: " + std::move(what)}; }

/// Percent-decoding of one query component; '+' stands for a space as in
/// HTML forms, which is how most links spell spaces in dn.
result<std::string> unescape(std::string_view in, std::string_view key) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      int hi = i + 1 < in.size() ? hex_value(in[i + 1]) : -1;
      int lo = i + 2 < in.size() ? hex_value(in[i + 2]) : -1;
      if (hi < 0 || lo < 0)
        return bad("bad percent escape at offset " + std::to_string(i) + " of " + std::string(key));
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

/// RFC 4648 base32 (either case, no padding): 32 characters, 20 bytes.
std::optional<sha1_hash> from_base32(std::string_view text) {
  if (text.size() != 32) return std::nullopt;
  sha1_hash h;
  std::uint64_t acc = 0;
  int bits = 0;
  std::size_t out = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a';
    else if (c >= '2' && c <= '7') v = c - '2' + 26;
    else return std::nullopt;
    acc = (acc << 5) | static_cast<std::uint64_t>(v);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      h.bytes[out++] = static_cast<std::uint8_t>(acc >> bits);
    }
  }
  return h;
}

result<sha1_hash> parse_btih(std::string_view hash) {
  std::optional<sha1_hash> h;
  if (hash.size() == 40)
    h = sha1_hash::from_hex(hash);
  else if (hash.size() == 32)
    h = from_base32(hash);
  if (!h)
    return bad("xt info-hash \"" + std::string(hash.substr(0, 64))
               + "\" is neither 40 hex digits nor 32 base32 characters");
  return *h;
}

} // namespace

bool looks_like_magnet(std::string_view text) noexcept {
  return text.size() >= 7 && iequals(text.substr(0, 7), "magnet:");
}

result<magnet_link> parse_magnet(std::string_view uri, const magnet_limits& lim) {
  if (uri.size() > lim.max_length)
    return bad("longer than " + std::to_string(lim.max_length) + " bytes");
  if (!looks_like_magnet(uri)) return bad("does not start with \"magnet:\"");
  auto rest = uri.substr(7);
  if (rest.empty() || rest[0] != '?') return bad("no '?' after \"magnet:\"");
  rest.remove_prefix(1);

  magnet_link m;
  std::optional<sha1_hash> btih;
  bool has_dn = false;
  while (!rest.empty()) {
    auto amp = rest.find('&');
    auto param = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (param.empty()) continue;
    auto eq = param.find('=');
    auto key = param.substr(0, eq);
    auto raw = eq == std::string_view::npos ? std::string_view{} : param.substr(eq + 1);
    // Numbered forms (xt.1, tr.2) mean the same as the plain keys.
    auto base = key;
    if (auto dot = key.rfind('.'); dot != std::string_view::npos && !iequals(key, "x.pe")
        && std::all_of(key.begin() + dot + 1, key.end(), [](char c) { return c >= '0' && c <= '9'; })
        && dot + 1 < key.size())
      base = key.substr(0, dot);
    if (iequals(base, "xt")) {
      auto v = unescape(raw, "xt");
      if (!v) return v.err();
      std::string_view text = *v;
      if (text.size() < 9 || !iequals(text.substr(0, 9), "urn:btih:")) continue;  // btmh, ed2k, ...
      auto h = parse_btih(text.substr(9));
      if (!h) return h.err();
      if (btih && *btih != *h) return bad("two different xt info-hashes");
      btih = *h;
    } else if (iequals(base, "dn")) {
      auto v = unescape(raw, "dn");
      if (!v) return v.err();
      if (!has_dn) m.name = std::move(*v);
      has_dn = true;
    } else if (iequals(base, "tr")) {
      auto v = unescape(raw, "tr");
      if (!v) return v.err();
      if (v->empty()) continue;
      if (std::find(m.trackers.begin(), m.trackers.end(), *v) != m.trackers.end()) continue;
      if (m.trackers.size() >= lim.max_trackers)
        return bad("more than " + std::to_string(lim.max_trackers) + " trackers (tr)");
      m.trackers.push_back(std::move(*v));
    } else if (iequals(key, "x.pe")) {
      auto v = unescape(raw, "x.pe");
      if (!v) return v.err();
      auto ep = parse_endpoint(*v);
      if (!ep) return bad("peer (x.pe) \"" + v->substr(0, 100) + "\": " + ep.err().message);
      auto text = ep->to_string();
      if (std::find(m.peers.begin(), m.peers.end(), text) != m.peers.end()) continue;
      if (m.peers.size() >= lim.max_peers)
        return bad("more than " + std::to_string(lim.max_peers) + " peers (x.pe)");
      m.peers.push_back(std::move(text));
    } else if (iequals(base, "ws")) {
      auto v = unescape(raw, "ws");
      if (!v) return v.err();
      if (v->empty()) continue;
      if (v->size() > lim.max_web_seed_length)
        return bad("web seed (ws) longer than " + std::to_string(lim.max_web_seed_length) + " bytes");
      auto u = parse_url(*v);
      if (!u || (u->scheme != "http" && u->scheme != "https"))
        return bad("web seed (ws) " + printable(v->substr(0, 100)) + " is not an http:// or https:// URL");
      if (std::find(m.web_seeds.begin(), m.web_seeds.end(), *v) != m.web_seeds.end()) continue;
      if (m.web_seeds.size() >= lim.max_web_seeds)
        return bad("more than " + std::to_string(lim.max_web_seeds) + " web seeds (ws)");
      m.web_seeds.push_back(std::move(*v));
    }
    // Other parameters (xl, as, kt, so, ...) are not used.
  }
  if (!btih) return bad("no BitTorrent info-hash (xt=urn:btih:...)");
  m.info_hash = *btih;
  return m;
}

void print_magnet(std::ostream& out, const magnet_link& m) {
  out << "info hash: " << m.info_hash.hex() << "\n";
  out << "name:      " << (m.name.empty() ? std::string("(none given)") : printable(m.name)) << "\n";
  out << "trackers:  " << m.trackers.size() << "\n";
  for (const auto& t : m.trackers) out << "  " << printable(t) << "\n";
  out << "peers:     " << m.peers.size() << "\n";
  for (const auto& p : m.peers) out << "  " << p << "\n";
  out << "web seeds: " << m.web_seeds.size() << "\n";
  for (const auto& w : m.web_seeds) out << "  " << printable(w) << "\n";
}

} // namespace actorrent
