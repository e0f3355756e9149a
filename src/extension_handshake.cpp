#include "extension_handshake.hpp"

#include "actorrent/bencode.hpp"

#include <algorithm>

namespace actorrent {

std::uint8_t extension_handshake::id_of(std::string_view name) const noexcept {
  for (const auto& [n, id] : m)
    if (n == name) return id;
  return 0;
}

result<extension_handshake> parse_extension_handshake(std::span<const std::uint8_t> payload) {
  if (payload.size() > max_extension_handshake)
    return error{errc::wire_limit, "extension handshake of " + std::to_string(payload.size())
                                     + " bytes, more than " + std::to_string(max_extension_handshake)};
  bencode::limits lim;
  lim.max_depth = 8;
  lim.max_input = max_extension_handshake;
  lim.max_items = 1024;
  // Clients write their keys in any order; bytes after the dictionary are
  // left alone as other clients do.
  lim.strict = false;
  std::size_t used = 0;
  auto v = bencode::decode_prefix(
    std::string_view(reinterpret_cast<const char*>(payload.data()), payload.size()), used, lim);
  if (!v) return error{errc::wire_protocol, "extension handshake: " + v.err().message};
  if (!v->is_dict()) return error{errc::wire_protocol, "extension handshake is not a dictionary"};

  extension_handshake h;
  if (const auto* m = v->find("m"); m != nullptr && m->is_dict()) {
    for (const auto& [name, id] : *m->as_dict()) {
      const auto* n = id.as_int();
      if (n == nullptr || *n < 0 || *n > 255) continue;
      if (h.m.size() >= max_extensions)
        return error{errc::wire_limit, "extension handshake names more than "
                                         + std::to_string(max_extensions) + " extensions"};
      h.m.emplace_back(name, static_cast<std::uint8_t>(*n));
    }
  }
  if (const auto* s = v->find("v"); s != nullptr && s->is_string())
    h.client = s->as_string()->substr(0, 100);
  if (const auto* p = v->find("p"); p != nullptr && p->is_int() && *p->as_int() > 0
                                     && *p->as_int() <= 65535)
    h.listen_port = static_cast<std::uint16_t>(*p->as_int());
  if (const auto* ip = v->find("yourip");
      ip != nullptr && ip->is_string() && (ip->as_string()->size() == 4 || ip->as_string()->size() == 16))
    h.yourip = *ip->as_string();
  if (const auto* q = v->find("reqq"); q != nullptr && q->is_int() && *q->as_int() > 0)
    h.reqq = static_cast<std::uint32_t>(std::min<std::int64_t>(*q->as_int(), UINT32_MAX));
  if (const auto* ms = v->find("metadata_size"); ms != nullptr && ms->is_int())
    h.metadata_size = *ms->as_int();  // judged by whoever wants the metadata
  return h;
}

std::vector<std::uint8_t> encode_extension_handshake(const extension_handshake& h) {
  bencode::dict m;
  for (const auto& [name, id] : h.m) m.emplace_back(name, bencode::value(std::int64_t{id}));
  bencode::dict d;
  d.emplace_back("m", bencode::value(std::move(m)));
  if (h.metadata_size) d.emplace_back("metadata_size", bencode::value(*h.metadata_size));
  if (h.listen_port) d.emplace_back("p", bencode::value(std::int64_t{*h.listen_port}));
  if (h.reqq) d.emplace_back("reqq", bencode::value(std::int64_t{*h.reqq}));
  if (!h.client.empty()) d.emplace_back("v", bencode::value(h.client));
  if (!h.yourip.empty()) d.emplace_back("yourip", bencode::value(h.yourip));
  auto text = bencode::encode(bencode::value(std::move(d)));
  return {text.begin(), text.end()};
}

} // namespace actorrent
