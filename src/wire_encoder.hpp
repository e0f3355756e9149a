// Encoding of peer wire messages (BEP 3): 4-byte big-endian length prefix,
// one id byte, then the payload.
#pragma once

#include "handshake.hpp"
#include "wire_message.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace actorrent::wire {

/// Bytes encode_to will write (for piece: 13 + data.size(); for unknown:
/// 4 + max(length, 1), its payload written as zeros).
std::size_t encoded_size(const message& m);

/// Writes `m` to `out`. Precondition: out.size() >= encoded_size(m). Returns the bytes written.
std::size_t encode_to(const message& m, std::span<std::uint8_t> out);

/// Appends the encoding of `m`.
void append(std::vector<std::uint8_t>& out, const message& m);

/// Appends the 68-byte handshake.
void append_handshake(std::vector<std::uint8_t>& out, const handshake& h);

/// Appends the 13-byte header of a PIECE message carrying `data_len` bytes, so a
/// sender can write the block after it without building a message.
void append_piece_header(std::vector<std::uint8_t>& out, std::uint32_t piece,
                         std::uint32_t begin, std::uint32_t data_len);

} // namespace actorrent::wire
