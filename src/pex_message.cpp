#include "pex_message.hpp"

#include "actorrent/bencode.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <optional>

#include <string>
#include <string_view>

namespace actorrent {

namespace {

constexpr std::size_t v4_entry = 6;
constexpr std::size_t v6_entry = 18;

error bad(const std::string& why) { return error{errc::wire_protocol, "ut_pex message: " + why}; }

std::string address_text(int family, const unsigned char* addr) {
  char text[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(family, addr, text, sizeof text) == nullptr) return {};
  return text;
}

/// The compact list under `key`, or null when absent. Wrong types and
/// lengths are errors: a peer that sends them does not speak BEP 11.
result<const std::string*> compact_list(const bencode::value& root, const char* key,
                                        std::size_t entry) {
  const auto* v = root.find(key);
  if (v == nullptr) return static_cast<const std::string*>(nullptr);
  const auto* s = v->as_string();
  if (s == nullptr) return bad(std::string("\"") + key + "\" is not a string");
  if (s->size() % entry != 0)
    return bad(std::string("\"") + key + "\" length " + std::to_string(s->size())
               + " is not a multiple of " + std::to_string(entry));
  return s;
}

struct decoded_list {
  std::vector<peer_endpoint> peers;
  std::vector<std::size_t> index;  // of each peer in the list, for its flags
};

decoded_list decode_entries(const std::string& bytes, std::size_t entry, int family,
                            std::size_t room, std::size_t& ignored) {
  decoded_list out;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t count = bytes.size() / entry;
  for (std::size_t i = 0; i < count; ++i) {
    if (out.peers.size() >= room) {
      ignored += count - i;
      break;
    }
    const auto* e = p + i * entry;
    auto port = static_cast<std::uint16_t>((e[entry - 2] << 8) | e[entry - 1]);
    if (port == 0) continue;
    auto host = address_text(family, e);
    if (host.empty()) continue;
    out.peers.push_back({std::move(host), port});
    out.index.push_back(i);
  }
  return out;
}

std::optional<error> take_added(const bencode::value& root, const char* key, const char* flags_key,
                                std::size_t entry, int family, pex_message& m) {
  auto list = compact_list(root, key, entry);
  if (!list) return list.err();
  if (*list == nullptr) return std::nullopt;
  const std::string* flags = nullptr;
  if (const auto* f = root.find(flags_key); f != nullptr && f->is_string()
                                             && f->as_string()->size() == (*list)->size() / entry)
    flags = f->as_string();
  auto d = decode_entries(**list, entry, family, max_pex_entries, m.ignored);
  for (std::size_t i = 0; i < d.peers.size(); ++i) {
    std::uint8_t fl = flags ? static_cast<std::uint8_t>((*flags)[d.index[i]]) : 0;
    m.added.push_back({std::move(d.peers[i]), fl});
  }
  return std::nullopt;
}

std::optional<error> take_dropped(const bencode::value& root, const char* key, std::size_t entry,
                                  int family, pex_message& m) {
  auto list = compact_list(root, key, entry);
  if (!list) return list.err();
  if (*list == nullptr) return std::nullopt;
  auto d = decode_entries(**list, entry, family, max_pex_entries, m.ignored);
  for (auto& p : d.peers) m.dropped.push_back(std::move(p));
  return std::nullopt;
}

/// Appends the compact form of `p` to the list of its family.
void append_compact(const peer_endpoint& p, std::string& v4, std::string& v6, std::string* f4,
                    std::string* f6, std::uint8_t flags) {
  unsigned char addr[16];
  const char port[2] = {static_cast<char>(p.port >> 8), static_cast<char>(p.port & 0xff)};
  if (inet_pton(AF_INET, p.host.c_str(), addr) == 1) {
    v4.append(reinterpret_cast<const char*>(addr), 4).append(port, 2);
    if (f4) f4->push_back(static_cast<char>(flags));
  } else if (inet_pton(AF_INET6, p.host.c_str(), addr) == 1) {
    v6.append(reinterpret_cast<const char*>(addr), 16).append(port, 2);
    if (f6) f6->push_back(static_cast<char>(flags));
  }
}

} // namespace

result<pex_message> parse_pex_message(std::span<const std::uint8_t> payload) {
  if (payload.size() > max_pex_message)
    return error{errc::wire_limit, "ut_pex message of " + std::to_string(payload.size())
                                     + " bytes, more than " + std::to_string(max_pex_message)};
  bencode::limits lim;
  lim.max_depth = 4;
  lim.max_input = max_pex_message;
  lim.max_items = 64;
  // Keys in any order, as for the extension handshake.
  lim.strict = false;
  std::size_t used = 0;
  auto v = bencode::decode_prefix(
    std::string_view(reinterpret_cast<const char*>(payload.data()), payload.size()), used, lim);
  if (!v) return bad(v.err().message);
  if (!v->is_dict()) return bad("not a dictionary");
  pex_message m;
  if (auto e = take_added(*v, "added", "added.f", v4_entry, AF_INET, m)) return *e;
  if (auto e = take_added(*v, "added6", "added6.f", v6_entry, AF_INET6, m)) return *e;
  if (auto e = take_dropped(*v, "dropped", v4_entry, AF_INET, m)) return *e;
  if (auto e = take_dropped(*v, "dropped6", v6_entry, AF_INET6, m)) return *e;
  return m;
}

std::vector<std::uint8_t> encode_pex_message(const pex_message& m) {
  std::string added, added_f, added6, added6_f, dropped, dropped6;
  for (const auto& p : m.added) append_compact(p.endpoint, added, added6, &added_f, &added6_f, p.flags);
  for (const auto& p : m.dropped) append_compact(p, dropped, dropped6, nullptr, nullptr, 0);
  // Keys in byte order, as bencode wants them; every value is a string.
  std::string text = "d";
  auto put = [&text](std::string_view key, const std::string& value) {
    text.append(std::to_string(key.size())).append(":").append(key);
    text.append(std::to_string(value.size())).append(":").append(value);
  };
  put("added", added);
  put("added.f", added_f);
  if (!added6.empty()) {
    put("added6", added6);
    put("added6.f", added6_f);
  }
  put("dropped", dropped);
  if (!dropped6.empty()) put("dropped6", dropped6);
  text.push_back('e');
  return {text.begin(), text.end()};
}

std::string address_from_bytes(std::string_view raw) {
  if (raw.size() == 4) return address_text(AF_INET, reinterpret_cast<const unsigned char*>(raw.data()));
  if (raw.size() == 16) return address_text(AF_INET6, reinterpret_cast<const unsigned char*>(raw.data()));
  return {};
}

bool pex_address_usable(const peer_endpoint& p) {
  if (p.port == 0) return false;
  unsigned char addr[16];
  if (inet_pton(AF_INET, p.host.c_str(), addr) == 1) {
    if (addr[0] == 0) return false;                       // 0.0.0.0/8: "this network"
    if (addr[0] >= 224) return false;                     // multicast, reserved, broadcast
    return true;
  }
  if (inet_pton(AF_INET6, p.host.c_str(), addr) == 1) {
    static const unsigned char zero[16] = {};
    if (std::equal(addr, addr + 16, zero)) return false;  // ::
    if (addr[0] == 0xff) return false;                    // multicast
    return true;
  }
  return false;  // names are not PEX addresses
}

} // namespace actorrent
