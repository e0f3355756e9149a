// Fuzz target for the extension protocol's payloads: byte 0 picks the
// parser (even: the extension handshake, odd: a ut_metadata message), the
// rest is the payload. Whatever parses must encode and parse back the same.
#include "extension_handshake.hpp"
#include "metadata_message.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

using namespace actorrent;

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::span<const std::uint8_t> payload(data + 1, size - 1);
  if ((data[0] & 1) == 0) {
    auto h = parse_extension_handshake(payload);
    if (!h) {
      check(h.err().code == errc::wire_protocol || h.err().code == errc::wire_limit);
      return 0;
    }
    check(h->m.size() <= max_extensions);
    check(h->yourip.empty() || h->yourip.size() == 4 || h->yourip.size() == 16);
    auto back = parse_extension_handshake(encode_extension_handshake(*h));
    check(back.has_value());
    check(back->client == h->client && back->listen_port == h->listen_port
          && back->metadata_size == h->metadata_size && back->reqq == h->reqq
          && back->yourip == h->yourip);
    for (const auto& [name, id] : h->m) check(back->id_of(name) == h->id_of(name));
    return 0;
  }
  auto m = parse_metadata_message(payload);
  if (!m) {
    check(m.err().code == errc::wire_protocol || m.err().code == errc::wire_limit
          || m.err().code == errc::invalid_argument);
    return 0;
  }
  check(m->data.size() <= metadata_piece_size);
  std::vector<std::uint8_t> enc;
  switch (m->type) {
    case metadata_msg::request: enc = encode_metadata_request(m->piece); break;
    case metadata_msg::reject: enc = encode_metadata_reject(m->piece); break;
    case metadata_msg::data: enc = encode_metadata_data(m->piece, m->total_size, m->data); break;
  }
  auto back = parse_metadata_message(enc);
  check(back.has_value() && back->type == m->type && back->piece == m->piece
        && back->total_size == m->total_size && back->data.size() == m->data.size());
  return 0;
}
