#include "wire_encoder.hpp"

#include <cstring>
#include <type_traits>

namespace actorrent::wire {

namespace {

template <class... Fs>
struct overloaded : Fs... { using Fs::operator()...; };
template <class... Fs>
overloaded(Fs...) -> overloaded<Fs...>;

inline std::uint8_t* put32(std::uint8_t* p, std::uint32_t v) noexcept {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
  return p + 4;
}

inline std::uint8_t* put_header(std::uint8_t* p, std::uint32_t len, message_id id) noexcept {
  p = put32(p, len);
  *p = static_cast<std::uint8_t>(id);
  return p + 1;
}

// An unknown message carries no payload of its own; a length of 0 would read
// back as a keep-alive, so it is written with at least its id byte.
inline std::uint32_t unknown_length(const unknown& u) noexcept {
  return u.length == 0 ? 1 : u.length;
}

} // namespace

std::size_t encoded_size(const message& m) {
  return std::visit(overloaded{
    [](const keep_alive&) -> std::size_t { return 4; },
    [](const have&) -> std::size_t { return 9; },
    [](const bitfield& b) -> std::size_t { return 5 + b.bits.size(); },
    [](const request&) -> std::size_t { return 17; },
    [](const piece& p) -> std::size_t { return 13 + p.data.size(); },
    [](const cancel&) -> std::size_t { return 17; },
    [](const port&) -> std::size_t { return 7; },
    [](const extended& e) -> std::size_t { return 6 + e.payload.size(); },
    [](const unknown& u) -> std::size_t { return 4 + std::size_t{unknown_length(u)}; },
    [](const suggest_piece&) -> std::size_t { return 9; },
    [](const allowed_fast&) -> std::size_t { return 9; },
    [](const reject_request&) -> std::size_t { return 17; },
    [](const auto&) -> std::size_t { return 5; }, // choke .. not_interested, have_all, have_none
  }, m);
}

std::size_t encode_to(const message& m, std::span<std::uint8_t> out) {
  std::uint8_t* const start = out.data();
  std::uint8_t* p = start;
  std::visit(overloaded{
    [&](const keep_alive&) { p = put32(p, 0); },
    [&](const choke&) { p = put_header(p, 1, message_id::choke); },
    [&](const unchoke&) { p = put_header(p, 1, message_id::unchoke); },
    [&](const interested&) { p = put_header(p, 1, message_id::interested); },
    [&](const not_interested&) { p = put_header(p, 1, message_id::not_interested); },
    [&](const have& h) { p = put32(put_header(p, 5, message_id::have), h.piece); },
    [&](const bitfield& b) {
      p = put_header(p, static_cast<std::uint32_t>(1 + b.bits.size()), message_id::bitfield);
      if (!b.bits.empty()) std::memcpy(p, b.bits.data(), b.bits.size());
      p += b.bits.size();
    },
    [&](const request& r) {
      p = put_header(p, 13, message_id::request);
      p = put32(put32(put32(p, r.piece), r.begin), r.length);
    },
    [&](const piece& pc) {
      p = put_header(p, static_cast<std::uint32_t>(9 + pc.data.size()), message_id::piece);
      p = put32(put32(p, pc.piece), pc.begin);
      if (!pc.data.empty()) std::memcpy(p, pc.data.data(), pc.data.size());
      p += pc.data.size();
    },
    [&](const cancel& c) {
      p = put_header(p, 13, message_id::cancel);
      p = put32(put32(put32(p, c.piece), c.begin), c.length);
    },
    [&](const port& pt) {
      p = put_header(p, 3, message_id::port);
      p[0] = static_cast<std::uint8_t>(pt.port >> 8);
      p[1] = static_cast<std::uint8_t>(pt.port);
      p += 2;
    },
    [&](const extended& e) {
      p = put_header(p, static_cast<std::uint32_t>(2 + e.payload.size()), message_id::extended);
      *p++ = e.id;
      if (!e.payload.empty()) std::memcpy(p, e.payload.data(), e.payload.size());
      p += e.payload.size();
    },
    [&](const suggest_piece& s) { p = put32(put_header(p, 5, message_id::suggest_piece), s.piece); },
    [&](const have_all&) { p = put_header(p, 1, message_id::have_all); },
    [&](const have_none&) { p = put_header(p, 1, message_id::have_none); },
    [&](const reject_request& r) {
      p = put_header(p, 13, message_id::reject_request);
      p = put32(put32(put32(p, r.piece), r.begin), r.length);
    },
    [&](const allowed_fast& a) { p = put32(put_header(p, 5, message_id::allowed_fast), a.piece); },
    [&](const unknown& u) {
      const std::uint32_t len = unknown_length(u);
      p = put32(p, len);
      *p++ = u.id;
      std::memset(p, 0, len - 1);
      p += len - 1;
    },
  }, m);
  return static_cast<std::size_t>(p - start);
}

void append(std::vector<std::uint8_t>& out, const message& m) {
  const std::size_t old = out.size();
  out.resize(old + encoded_size(m));
  encode_to(m, std::span<std::uint8_t>(out).subspan(old));
}

void append_handshake(std::vector<std::uint8_t>& out, const handshake& h) {
  const std::size_t old = out.size();
  out.resize(old + handshake_size);
  encode_handshake(h, std::span<std::uint8_t, handshake_size>(out.data() + old, handshake_size));
}

void append_piece_header(std::vector<std::uint8_t>& out, std::uint32_t piece,
                         std::uint32_t begin, std::uint32_t data_len) {
  const std::size_t old = out.size();
  out.resize(old + 13);
  std::uint8_t* p = put_header(out.data() + old, 9 + data_len, message_id::piece);
  put32(put32(p, piece), begin);
}

} // namespace actorrent::wire
