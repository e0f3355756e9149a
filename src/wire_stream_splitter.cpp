#include "wire_stream_splitter.hpp"

#include "handshake.hpp"
#include "wire_message.hpp"

#include <algorithm>
#include <cstring>

namespace actorrent::wire {

namespace {

constexpr std::size_t piece_header = 13;  // length prefix, id, index, begin

inline std::uint32_t load32(const std::uint8_t* p) noexcept {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
         (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}

} // namespace

stream_splitter::stream_splitter(std::uint32_t max_block, bool expect_handshake)
  : max_block_(max_block),
    state_(expect_handshake ? state::handshake : state::header),
    handshake_left_(expect_handshake ? static_cast<std::uint32_t>(handshake_size) : 0) {
}

block_buffer& stream_splitter::spare_buffer(std::size_t i, std::size_t size) {
  if (spares_.size() <= i) spares_.resize(i + 1);
  if (spares_[i].size() < size) spares_[i] = block_buffer(size);
  return spares_[i];
}

std::span<const std::span<std::uint8_t>> stream_splitter::prepare(std::size_t max_bytes) {
  slots_.clear();
  slot_spare_.clear();
  if (scratch_.size() < max_bytes) scratch_.resize(max_bytes);
  std::size_t left = max_bytes;
  std::size_t used = 0;
  auto scratch = [&](std::uint64_t want) {
    const auto k = static_cast<std::size_t>(std::min<std::uint64_t>(want, left));
    if (k == 0) return;
    slots_.emplace_back(scratch_.data() + used, k);
    slot_spare_.push_back(npos);
    used += k;
    left -= k;
  };
  // First what the message under way needs, when that is known.
  switch (state_) {
    case state::handshake: scratch(handshake_left_); break;
    case state::header: scratch(piece_header - header_len_); break;  // likely a PIECE
    case state::pass: scratch(pass_left_); break;
    case state::payload: {
      if (!payload_open_) {
        if (!spares_.empty() && spares_[0].size() >= payload_len_) {
          payload_ = std::move(spares_[0]);
          spares_[0] = {};
        } else {
          payload_ = block_buffer(payload_len_);
        }
        payload_open_ = true;
      }
      const auto k = std::min<std::size_t>(payload_len_ - payload_filled_, left);
      if (k != 0) {
        slots_.emplace_back(payload_.data() + payload_filled_, k);
        slot_spare_.push_back(npos);
        left -= k;
      }
      break;
    }
  }
  // Then the guess: PIECE messages of the last payload size, one after
  // another. Not before the first PIECE: a connection that sends none (we
  // only upload to it) holds no block buffers.
  const std::size_t guess = guess_;
  for (std::size_t i = 0; guess != 0 && left > piece_header && i < max_spares; ++i) {
    scratch(piece_header);
    auto& buffer = spare_buffer(i, guess);
    const auto k = std::min(guess, left);
    slots_.emplace_back(buffer.data(), k);
    slot_spare_.push_back(i);
    left -= k;
  }
  scratch(left);
  return slots_;
}

void stream_splitter::commit(std::size_t n) {
  for (std::size_t i = 0; i < slots_.size() && n != 0; ++i) {
    const auto k = std::min(slots_[i].size(), n);
    consume(slots_[i].data(), k, slot_spare_[i]);
    n -= k;
  }
  slots_.clear();
  slot_spare_.clear();
}

void stream_splitter::feed(std::span<const std::uint8_t> bytes) {
  consume(bytes.data(), bytes.size(), npos);
}

void stream_splitter::start_payload(std::uint32_t length) {
  state_ = state::payload;
  payload_len_ = length;
  payload_filled_ = 0;
  payload_open_ = false;
  if (length == 0) {
    payload_open_ = true;
    finish_payload();
  }
}

void stream_splitter::finish_payload() {
  out_lengths_.push_back(payload_len_);
  out_.payloads.push_back(std::move(payload_));
  payload_ = {};
  payload_open_ = false;
  guess_ = payload_len_;
  state_ = state::header;
}

void stream_splitter::consume(const std::uint8_t* p, std::size_t n, std::size_t spare) {
  auto& stream = out_.stream;
  std::size_t off = 0;
  while (off < n) {
    switch (state_) {
      case state::handshake: {
        const auto k = std::min<std::size_t>(handshake_left_, n - off);
        stream.insert(stream.end(), p + off, p + off + k);
        off += k;
        handshake_left_ -= static_cast<std::uint32_t>(k);
        if (handshake_left_ == 0) state_ = state::header;
        break;
      }
      case state::header: {
        // Passed on at once, so the decoder sees (and refuses) a bad header
        // as soon as it would see it in the whole stream.
        header_[header_len_++] = p[off];
        stream.push_back(p[off++]);
        if (header_len_ == 4 && load32(header_) == 0) {  // keep-alive
          header_len_ = 0;
        } else if (header_len_ == 5) {
          const std::uint32_t len = load32(header_);
          if (header_[4] != static_cast<std::uint8_t>(message_id::piece)
              || !detached_payload(len, max_block_)) {
            header_len_ = 0;
            pass_left_ = len - 1;
            if (pass_left_ != 0) state_ = state::pass;
          }
        } else if (header_len_ == piece_header) {
          header_len_ = 0;
          start_payload(load32(header_) - 9);
        }
        break;
      }
      case state::pass: {
        const auto k = static_cast<std::size_t>(std::min<std::uint64_t>(pass_left_, n - off));
        stream.insert(stream.end(), p + off, p + off + k);
        off += k;
        pass_left_ -= k;
        if (pass_left_ == 0) state_ = state::header;
        break;
      }
      case state::payload: {
        if (!payload_open_) {
          // The payload begins exactly where a block buffer of the guess was
          // read into: that buffer becomes the payload's, nothing is copied.
          if (off == 0 && spare != npos && spares_[spare].size() >= payload_len_) {
            payload_ = std::move(spares_[spare]);
            spares_[spare] = {};
          } else {
            payload_ = block_buffer(payload_len_);
          }
          payload_open_ = true;
        }
        const auto k = std::min<std::size_t>(payload_len_ - payload_filled_, n - off);
        std::uint8_t* to = payload_.data() + payload_filled_;
        if (to != p + off) std::memcpy(to, p + off, k);
        off += k;
        payload_filled_ += static_cast<std::uint32_t>(k);
        if (payload_filled_ == payload_len_) finish_payload();
        break;
      }
    }
  }
}

split_bytes stream_splitter::take() {
  // A payload read into a block buffer of the guess may be shorter than it.
  for (std::size_t i = 0; i < out_.payloads.size(); ++i) out_.payloads[i].shrink(out_lengths_[i]);
  out_lengths_.clear();
  split_bytes out = std::move(out_);
  out_ = {};
  return out;
}

} // namespace actorrent::wire
