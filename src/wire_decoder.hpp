// Incremental decoder for a peer's byte stream: the handshake, then length-
// prefixed messages. Built for the download hot path: no per-byte work, no
// allocation per message, block payloads returned as views into its buffer.
#pragma once

#include "handshake.hpp"
#include "wire_message.hpp"

#include <actorrent/error.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <variant>
#include <vector>

namespace actorrent::wire {

struct decoder_limits {
  /// Largest PIECE payload (and REQUEST/CANCEL length) accepted; more is errc::wire_limit.
  std::uint32_t max_block = 16 * 1024;
  /// Largest length prefix accepted, checked before any byte of the message is
  /// buffered. 0 = derive: max(13 + max_block, bitfield size + 1, 1 MiB).
  std::uint32_t max_message = 0;
  /// 0 = unknown (bitfield length unchecked); else a bitfield must be exactly
  /// ceil(n/8) bytes with zero spare bits, and have/request/cancel/piece index < n.
  std::uint32_t num_pieces = 0;
  /// Largest extension message payload (BEP 10, id byte included) that is
  /// buffered and returned; a longer one is skipped as `unknown`. A
  /// metadata piece (16 KiB and its header) fits.
  std::uint32_t max_extended = 64 * 1024;
  /// The stream comes split by a stream_splitter: PIECE payloads come apart
  /// from the other bytes, through add_payloads(), and a piece's `buffer`
  /// is its payload's own vector.
  bool split_payloads = false;
};

/// What next() yields: the handshake (first, when expected) or a message.
using item = std::variant<handshake, message>;

class decoder {
public:
  explicit decoder(decoder_limits lim = {}, bool expect_handshake = true);

  /// Sets the piece count once it is known (e.g. after fetching metadata).
  void set_num_pieces(std::uint32_t n);

  /// Appends a copy of `bytes` to the stream. Ignored once the decoder failed.
  void feed(std::span<const std::uint8_t> bytes);

  /// Zero-copy alternative to feed(): returns at least `min_size` writable bytes
  /// at the end of the buffer; after reading into them, call commit(n) with the
  /// count actually written. Invalidates views returned earlier.
  std::span<std::uint8_t> prepare(std::size_t min_size);
  void commit(std::size_t n);

  /// With decoder_limits::split_payloads: the payloads of the PIECE messages
  /// whose other bytes were or will be fed, in order.
  void add_payloads(std::vector<block_buffer> payloads);

  /// The next complete item; std::nullopt when more bytes are needed; an error
  /// (errc::wire_protocol / errc::wire_limit) on a violation, after which every
  /// call returns that error again. Views in the item stay valid until the next
  /// call to feed(), prepare() or next().
  result<std::optional<item>> next();

  /// Bytes held and not yet consumed.
  std::size_t buffered() const noexcept { return end_ - pos_; }

  /// True once a violation was reported.
  bool failed() const noexcept { return static_cast<bool>(error_); }

  /// The effective length-prefix bound (max_message after derivation).
  std::uint32_t max_message() const noexcept { return max_message_; }

private:
  result<std::optional<item>> fail(errc code, std::string msg);
  result<std::optional<item>> next_handshake();
  void derive_max_message();
  void reserve_tail(std::size_t n);

  decoder_limits lim_;
  std::uint32_t max_message_ = 0;
  bool expect_handshake_;
  std::unique_ptr<std::uint8_t[]> buf_;
  std::size_t cap_ = 0;
  std::size_t pos_ = 0;   // first unconsumed byte
  std::size_t end_ = 0;   // one past the last buffered byte
  std::uint64_t skip_ = 0; // payload bytes of an unknown message still to drop
  std::deque<block_buffer> payloads_;  // split payloads not yet decoded
  block_buffer payload_;               // the last piece's split payload
  error error_;
};

} // namespace actorrent::wire
