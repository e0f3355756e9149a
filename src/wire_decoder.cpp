#include "wire_decoder.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>

namespace actorrent::wire {

namespace {

// Messages of unknown ids are skipped, never buffered, but a length prefix
// is still bounded so a stream cannot claim gigabytes.
constexpr std::uint32_t unknown_message_cap = 1u << 20;

// Large enough for a few 16 KiB blocks per read without growing.
constexpr std::size_t initial_capacity = 64 * 1024;

constexpr std::string_view protocol_prefix = "\x13" "BitTorrent protocol";

inline std::uint32_t load32(const std::uint8_t* p) noexcept {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
         (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}

const char* id_name(std::uint8_t id) noexcept {
  static constexpr const char* names[] = {"choke", "unchoke", "interested", "not_interested",
                                          "have", "bitfield", "request", "piece", "cancel", "port"};
  static constexpr const char* fast_names[] = {"suggest_piece", "have_all", "have_none",
                                               "reject_request", "allowed_fast"};
  if (id == static_cast<std::uint8_t>(message_id::extended)) return "extended";
  if (id >= 13 && id < 13 + std::size(fast_names)) return fast_names[id - 13];
  return id < std::size(names) ? names[id] : "unknown";
}

std::string describe(std::uint8_t id, std::uint32_t len) {
  return std::string(id_name(id)) + " message (id " + std::to_string(id) +
         ", length prefix " + std::to_string(len) + ")";
}

} // namespace

decoder::decoder(decoder_limits lim, bool expect_handshake)
  : lim_(lim), expect_handshake_(expect_handshake) {
  derive_max_message();
}

void decoder::derive_max_message() {
  if (lim_.max_message != 0) {
    max_message_ = lim_.max_message;
    return;
  }
  std::uint64_t m = std::max<std::uint64_t>(13 + std::uint64_t{lim_.max_block}, unknown_message_cap);
  if (lim_.num_pieces != 0)
    m = std::max<std::uint64_t>(m, (std::uint64_t{lim_.num_pieces} + 7) / 8 + 1);
  max_message_ = static_cast<std::uint32_t>(std::min<std::uint64_t>(m, UINT32_MAX));
}

void decoder::set_num_pieces(std::uint32_t n) {
  lim_.num_pieces = n;
  derive_max_message();
}

void decoder::reserve_tail(std::size_t n) {
  if (pos_ == end_) pos_ = end_ = 0;
  if (cap_ - end_ >= n) return;
  const std::size_t pending = end_ - pos_;
  const std::size_t need = pending + n;
  // Moving is only worth it while the pending bytes fill at most half the
  // buffer: then each byte moved was preceded by at least one byte fed, so
  // compaction stays linear in the stream length.
  if (need <= cap_ && pending <= cap_ / 2) {
    std::memmove(buf_.get(), buf_.get() + pos_, pending);
  } else {
    const std::size_t new_cap = std::max(initial_capacity, 2 * need);
    std::unique_ptr<std::uint8_t[]> fresh(new std::uint8_t[new_cap]);
    if (pending != 0) std::memcpy(fresh.get(), buf_.get() + pos_, pending);
    buf_ = std::move(fresh);
    cap_ = new_cap;
  }
  pos_ = 0;
  end_ = pending;
}

void decoder::feed(std::span<const std::uint8_t> bytes) {
  if (error_ || bytes.empty()) return;
  if (skip_ != 0 && pos_ == end_) {
    // The rest of a skipped message never enters the buffer.
    const auto drop = static_cast<std::size_t>(std::min<std::uint64_t>(skip_, bytes.size()));
    skip_ -= drop;
    bytes = bytes.subspan(drop);
    if (bytes.empty()) return;
  }
  reserve_tail(bytes.size());
  std::memcpy(buf_.get() + end_, bytes.data(), bytes.size());
  end_ += bytes.size();
}

std::span<std::uint8_t> decoder::prepare(std::size_t min_size) {
  reserve_tail(std::max<std::size_t>(min_size, 1));
  return {buf_.get() + end_, cap_ - end_};
}

void decoder::commit(std::size_t n) {
  if (error_) return;
  end_ += std::min(n, cap_ - end_);
}

void decoder::add_payloads(std::vector<block_buffer> payloads) {
  if (error_) return;
  for (auto& p : payloads) payloads_.push_back(std::move(p));
}

result<std::optional<item>> decoder::fail(errc code, std::string msg) {
  error_ = error{code, std::move(msg)};
  return error_;
}

result<std::optional<item>> decoder::next_handshake() {
  const std::size_t avail = end_ - pos_;
  const std::uint8_t* p = buf_.get() + pos_;
  // Check the fixed prefix as soon as it arrives, so a stream that is not
  // BitTorrent (or is encrypted) fails without waiting for 68 bytes.
  const std::size_t known = std::min(avail, protocol_prefix.size());
  if (known != 0 && std::memcmp(p, protocol_prefix.data(), known) != 0) {
    if (p[0] != protocol_prefix[0])
      return fail(errc::wire_protocol, "handshake pstrlen " + std::to_string(p[0]) +
                                           " at offset 0, expected 19");
    return fail(errc::wire_protocol,
                "handshake protocol string at offset 1 is not \"BitTorrent protocol\"");
  }
  if (avail < handshake_size) return std::optional<item>{};
  auto h = decode_handshake({p, handshake_size});
  if (!h) return fail(h.err().code, h.err().message);
  pos_ += handshake_size;
  expect_handshake_ = false;
  return std::optional<item>{std::in_place, std::in_place_type<handshake>, *h};
}

result<std::optional<item>> decoder::next() {
  if (error_) return error_;
  if (expect_handshake_) return next_handshake();

  std::size_t avail = end_ - pos_;
  if (skip_ != 0) {
    const auto drop = static_cast<std::size_t>(std::min<std::uint64_t>(skip_, avail));
    pos_ += drop;
    skip_ -= drop;
    avail -= drop;
  }
  if (avail < 4) return std::optional<item>{};

  const std::uint8_t* p = buf_.get() + pos_;
  const std::uint32_t len = load32(p);
  auto ok = [](auto&& m) {
    return result<std::optional<item>>(
        std::optional<item>{std::in_place, std::in_place_type<message>, std::move(m)});
  };
  if (len == 0) {
    pos_ += 4;
    return ok(keep_alive{});
  }
  if (len > max_message_) {
    std::string what = avail >= 5 ? describe(p[4], len) : "message length prefix " + std::to_string(len);
    return fail(errc::wire_limit, what + " exceeds the limit of " + std::to_string(max_message_));
  }
  if (avail < 5) return std::optional<item>{};

  const std::uint8_t id = p[4];
  auto bad_length = [&](std::uint32_t expected) {
    return fail(errc::wire_protocol,
                describe(id, len) + ", expected length prefix " + std::to_string(expected));
  };
  auto check_index = [&](std::uint32_t index) {
    return lim_.num_pieces == 0 || index < lim_.num_pieces;
  };
  auto bad_index = [&](std::uint32_t index) {
    return fail(errc::wire_protocol, describe(id, len) + " names piece " + std::to_string(index) +
                                         " of " + std::to_string(lim_.num_pieces));
  };

  switch (static_cast<message_id>(id)) {
    case message_id::choke:
    case message_id::unchoke:
    case message_id::interested:
    case message_id::not_interested: {
      if (len != 1) return bad_length(1);
      pos_ += 5;
      switch (static_cast<message_id>(id)) {
        case message_id::choke: return ok(choke{});
        case message_id::unchoke: return ok(unchoke{});
        case message_id::interested: return ok(interested{});
        default: return ok(not_interested{});
      }
    }
    case message_id::have: {
      if (len != 5) return bad_length(5);
      if (avail < 9) return std::optional<item>{};
      const std::uint32_t index = load32(p + 5);
      if (!check_index(index)) return bad_index(index);
      pos_ += 9;
      return ok(have{index});
    }
    case message_id::bitfield: {
      if (lim_.num_pieces != 0) {
        const std::uint32_t expected = (lim_.num_pieces + 7u) / 8u;
        if (len - 1 != expected) return bad_length(expected + 1);
      }
      if (avail - 4 < len) return std::optional<item>{};
      std::span<const std::uint8_t> bits(p + 5, len - 1);
      if (lim_.num_pieces % 8 != 0) {
        const auto spare = static_cast<std::uint8_t>(0xffu >> (lim_.num_pieces % 8));
        if ((bits.back() & spare) != 0)
          return fail(errc::wire_protocol, describe(id, len) + " sets spare bits past piece " +
                                               std::to_string(lim_.num_pieces));
      }
      pos_ += 4 + std::size_t{len};
      return ok(bitfield{bits});
    }
    case message_id::have_all:
    case message_id::have_none: {
      if (len != 1) return bad_length(1);
      pos_ += 5;
      if (id == static_cast<std::uint8_t>(message_id::have_all)) return ok(have_all{});
      return ok(have_none{});
    }
    case message_id::suggest_piece:
    case message_id::allowed_fast: {
      if (len != 5) return bad_length(5);
      if (avail < 9) return std::optional<item>{};
      const std::uint32_t index = load32(p + 5);
      if (!check_index(index)) return bad_index(index);
      pos_ += 9;
      if (id == static_cast<std::uint8_t>(message_id::suggest_piece)) return ok(suggest_piece{index});
      return ok(allowed_fast{index});
    }
    case message_id::request:
    case message_id::cancel:
    case message_id::reject_request: {
      if (len != 13) return bad_length(13);
      if (avail < 17) return std::optional<item>{};
      const std::uint32_t index = load32(p + 5);
      const std::uint32_t begin = load32(p + 9);
      const std::uint32_t length = load32(p + 13);
      if (length == 0 || length > lim_.max_block)
        return fail(errc::wire_limit, describe(id, len) + " asks for " + std::to_string(length) +
                                          " bytes, allowed 1 to " + std::to_string(lim_.max_block));
      if (!check_index(index)) return bad_index(index);
      pos_ += 17;
      if (id == static_cast<std::uint8_t>(message_id::request)) return ok(request{index, begin, length});
      if (id == static_cast<std::uint8_t>(message_id::cancel)) return ok(cancel{index, begin, length});
      return ok(reject_request{index, begin, length});
    }
    case message_id::piece: {
      if (len < 9)
        return fail(errc::wire_protocol, describe(id, len) + " is shorter than its 9-byte header");
      if (len - 9 > lim_.max_block)
        return fail(errc::wire_limit, describe(id, len) + " carries " + std::to_string(len - 9) +
                                          " bytes, more than the block limit " +
                                          std::to_string(lim_.max_block));
      if (lim_.split_payloads) {
        // The payload comes apart (detached_payload holds: it is within max_block).
        if (avail < 13 || payloads_.empty()) return std::optional<item>{};
        const std::uint32_t index = load32(p + 5);
        if (!check_index(index)) return bad_index(index);
        if (payloads_.front().size() != len - 9)
          return fail(errc::wire_protocol, describe(id, len) + " came with a payload of " +
                                               std::to_string(payloads_.front().size()) + " bytes");
        payload_ = std::move(payloads_.front());
        payloads_.pop_front();
        pos_ += 13;
        return ok(piece{index, load32(p + 9), payload_, &payload_});
      }
      if (avail - 4 < len) return std::optional<item>{};
      const std::uint32_t index = load32(p + 5);
      if (!check_index(index)) return bad_index(index);
      pos_ += 4 + std::size_t{len};
      return ok(piece{index, load32(p + 9), {p + 13, len - 9}});
    }
    case message_id::extended: {
      if (len < 2) return bad_length(2);
      if (len - 1 > lim_.max_extended) break;  // skipped below, never buffered
      if (avail - 4 < len) return std::optional<item>{};
      pos_ += 4 + std::size_t{len};
      return ok(extended{p[5], {p + 6, len - 2}});
    }
    case message_id::port: {
      if (len != 3) return bad_length(3);
      if (avail < 7) return std::optional<item>{};
      pos_ += 7;
      return ok(port{static_cast<std::uint16_t>((p[5] << 8) | p[6])});
    }
  }
  // Unknown id (or an oversized extension message): report it now and drop
  // its payload as it streams past.
  pos_ += 5;
  skip_ = len - 1;
  const auto drop = static_cast<std::size_t>(std::min<std::uint64_t>(skip_, avail - 5));
  pos_ += drop;
  skip_ -= drop;
  return ok(unknown{id, len});
}

} // namespace actorrent::wire
