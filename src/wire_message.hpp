// The messages of the BitTorrent peer wire protocol (BEP 3, and the fast
// extension of BEP 6) after the handshake. Payload-carrying messages hold views, not copies, so decoding a
// block never copies it a second time.
#pragma once

#include "block_buffer.hpp"

#include <algorithm>
#include <cstdint>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

namespace actorrent::wire {

/// The one-byte id that follows a message's length prefix.
enum class message_id : std::uint8_t {
  choke = 0, unchoke = 1, interested = 2, not_interested = 3, have = 4,
  bitfield = 5, request = 6, piece = 7, cancel = 8, port = 9,
  suggest_piece = 13, have_all = 14, have_none = 15, reject_request = 16, allowed_fast = 17,
  extended = 20
};

struct keep_alive { friend bool operator==(const keep_alive&, const keep_alive&) = default; };
struct choke { friend bool operator==(const choke&, const choke&) = default; };
struct unchoke { friend bool operator==(const unchoke&, const unchoke&) = default; };
struct interested { friend bool operator==(const interested&, const interested&) = default; };
struct not_interested { friend bool operator==(const not_interested&, const not_interested&) = default; };

struct have {
  std::uint32_t piece;
  friend bool operator==(const have&, const have&) = default;
};

/// View into the decoder's buffer, valid until the next call to the decoder.
struct bitfield {
  std::span<const std::uint8_t> bits;
  friend bool operator==(const bitfield& a, const bitfield& b) {
    return std::ranges::equal(a.bits, b.bits);
  }
};

struct request {
  std::uint32_t piece, begin, length;
  friend bool operator==(const request&, const request&) = default;
};

/// `data` is a view into the decoder's buffer, valid until the next call to the decoder.
/// When `buffer` is set, `data` is all of that buffer, which the receiver
/// may take (a payload read into a buffer of its own, see stream_splitter).
struct piece {
  std::uint32_t piece, begin;
  std::span<const std::uint8_t> data;
  block_buffer* buffer = nullptr;
  friend bool operator==(const struct piece& a, const struct piece& b) {
    return a.piece == b.piece && a.begin == b.begin && std::ranges::equal(a.data, b.data);
  }
};

struct cancel {
  std::uint32_t piece, begin, length;
  friend bool operator==(const cancel&, const cancel&) = default;
};

struct port {
  std::uint16_t port;
  friend bool operator==(const struct port&, const struct port&) = default;
};

/// A BEP 10 extension message: the extended id (0 is the extension
/// handshake; others are what the receiver assigned in its handshake) and
/// the payload, a view into the decoder's buffer valid until its next call.
struct extended {
  std::uint8_t id;
  std::span<const std::uint8_t> payload;
  friend bool operator==(const extended& a, const extended& b) {
    return a.id == b.id && std::ranges::equal(a.payload, b.payload);
  }
};

// The fast extension (BEP 6); only valid between peers that both set its
// handshake bit.

/// A hint: the sender would like us to download this piece.
struct suggest_piece {
  std::uint32_t piece;
  friend bool operator==(const suggest_piece&, const suggest_piece&) = default;
};
/// Instead of a bitfield: the sender has every piece / none.
struct have_all { friend bool operator==(const have_all&, const have_all&) = default; };
struct have_none { friend bool operator==(const have_none&, const have_none&) = default; };
/// The sender will not serve this request (choked, cancelled, over its limits).
struct reject_request {
  std::uint32_t piece, begin, length;
  friend bool operator==(const reject_request&, const reject_request&) = default;
};
/// The sender serves requests for this piece even while it chokes us.
struct allowed_fast {
  std::uint32_t piece;
  friend bool operator==(const allowed_fast&, const allowed_fast&) = default;
};

/// A message with an id this codec does not handle, or an extension message
/// over the size bound. The decoder skips its payload and reports it so
/// callers can log.
/// `length` is the length prefix (id byte included), so it is at least 1.
struct unknown {
  std::uint8_t id;
  std::uint32_t length;
  friend bool operator==(const unknown&, const unknown&) = default;
};

using message = std::variant<keep_alive, choke, unchoke, interested, not_interested, have,
                             bitfield, request, piece, cancel, port, extended, unknown,
                             suggest_piece, have_all, have_none, reject_request, allowed_fast>;

/// A short name for logs ("keep_alive", "piece", ...).
inline std::string_view message_name(const message& m) noexcept {
  static constexpr std::string_view names[] = {
    "keep_alive", "choke", "unchoke", "interested", "not_interested", "have",
    "bitfield", "request", "piece", "cancel", "port", "extended", "unknown",
    "suggest_piece", "have_all", "have_none", "reject_request", "allowed_fast"};
  static_assert(std::size(names) == std::variant_size_v<message>);
  return names[m.index()];
}

} // namespace actorrent::wire
