// Splits a peer's byte stream into the bytes of its messages and the
// payloads of its PIECE messages, reading each payload straight into the
// buffer that then travels on to the disk: in a steady stream of PIECE
// messages no block is copied in user space after the kernel's copy.
//
// Reads are scattered. prepare() says where the next read's bytes go: what
// the current message still needs, then a guess that PIECE messages of the
// last payload size follow (once there was one), each 13-byte header into a
// scratch area and each payload into a block buffer of its own. commit() takes the bytes read.
// Bytes that do not fit the guess (other messages, another size) are copied
// where they belong, so every stream split into reads of any sizes gives the
// same result. Framing only: the decoder (decoder_limits::split_payloads)
// checks everything else. Bounded: besides the output not yet taken, it
// holds the scratch area, at most `max_spares` block buffers and one payload
// of at most max_block bytes.
#pragma once

#include "block_buffer.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace actorrent::wire {

/// What a stream was split into, in order.
struct split_bytes {
  /// Every byte but the detached payloads.
  std::vector<std::uint8_t> stream;
  /// The payloads of the PIECE messages in `stream`, whole.
  std::vector<block_buffer> payloads;
};

/// Whether a PIECE message with this length prefix has its payload detached:
/// exactly those whose size the decoder accepts.
constexpr bool detached_payload(std::uint32_t length_prefix, std::uint32_t max_block) noexcept {
  return length_prefix >= 9 && length_prefix - 9 <= max_block;
}

class stream_splitter {
public:
  static constexpr std::size_t max_spares = 8;

  /// `expect_handshake`: the stream begins with the 68-byte handshake.
  stream_splitter(std::uint32_t max_block, bool expect_handshake);

  /// Where the next read's bytes go, in order: at most `max_bytes` in all.
  /// The buffers stay valid and untouched until commit().
  std::span<const std::span<std::uint8_t>> prepare(std::size_t max_bytes);
  /// `n` bytes were read into the buffers of the last prepare(), in order.
  void commit(std::size_t n);
  /// Bytes that arrived otherwise (with a handshake read apart): copied in.
  void feed(std::span<const std::uint8_t> bytes);

  /// Whether take() has anything.
  bool ready() const noexcept { return !out_.stream.empty() || !out_.payloads.empty(); }
  /// What was split since the last take(); a payload not yet complete stays.
  split_bytes take();

private:
  // One contiguous run of bytes read; `spare` names the block buffer it
  // lies at the start of, or is npos.
  void consume(const std::uint8_t* p, std::size_t n, std::size_t spare);
  void start_payload(std::uint32_t length);
  void finish_payload();
  block_buffer& spare_buffer(std::size_t i, std::size_t size);

  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  enum class state : std::uint8_t { handshake, header, pass, payload };

  std::uint32_t max_block_;
  state state_;
  std::uint32_t handshake_left_ = 0;
  std::uint8_t header_[13] = {};
  std::size_t header_len_ = 0;
  std::uint64_t pass_left_ = 0;    // bytes of a message that is not a detached PIECE
  block_buffer payload_;           // the payload being read (may be longer than its length)
  std::uint32_t payload_len_ = 0;
  std::uint32_t payload_filled_ = 0;
  bool payload_open_ = false;      // payload_ is allocated for the current payload
  std::uint32_t guess_ = 0;        // payload size of the last PIECE (0: none yet): the next ones likely match
  std::vector<std::uint8_t> scratch_;
  std::vector<block_buffer> spares_;
  std::vector<std::span<std::uint8_t>> slots_;
  std::vector<std::size_t> slot_spare_;  // per slot: its spare, or npos
  split_bytes out_;
  std::vector<std::uint32_t> out_lengths_;  // per payload taken from a spare: its real length
};

} // namespace actorrent::wire
