// The messages of the metadata extension (BEP 9, "ut_metadata"), carried
// in extension messages: a bencoded dictionary (msg_type, piece, and for
// data total_size) followed, for data, by the piece's bytes.
#pragma once

#include "actorrent/error.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace actorrent {

/// Metadata travels in pieces of 16 KiB; the last may be shorter.
inline constexpr std::size_t metadata_piece_size = 16 * 1024;

enum class metadata_msg : std::uint8_t { request = 0, data = 1, reject = 2 };

struct metadata_message {
  metadata_msg type = metadata_msg::request;
  std::uint32_t piece = 0;
  /// data only: the size of the whole metadata.
  std::int64_t total_size = 0;
  /// data only: the piece's bytes, a view into the payload parsed.
  std::span<const std::uint8_t> data;
};

/// Parses one ut_metadata payload. A type we do not know is an error of
/// its own (errc::invalid_argument) so the caller can ignore it as BEP 9
/// asks; anything malformed is errc::wire_protocol; data over 16 KiB is
/// errc::wire_limit.
result<metadata_message> parse_metadata_message(std::span<const std::uint8_t> payload);

/// The payload of a request or a reject for `piece`.
std::vector<std::uint8_t> encode_metadata_request(std::uint32_t piece);
std::vector<std::uint8_t> encode_metadata_reject(std::uint32_t piece);
/// The payload of a data message: the dictionary, then `data`.
std::vector<std::uint8_t> encode_metadata_data(std::uint32_t piece, std::int64_t total_size,
                                               std::span<const std::uint8_t> data);

} // namespace actorrent
