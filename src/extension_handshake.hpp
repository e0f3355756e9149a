// The extension protocol's handshake (BEP 10): extended message 0, a
// bencoded dictionary saying which extensions a peer speaks and under which
// extended id it wants to receive each, plus facts about itself.
#pragma once

#include "actorrent/error.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace actorrent {

/// The extended id of ut_metadata (BEP 9) in the handshakes we send: the
/// id under which peers send us its messages.
inline constexpr std::uint8_t our_ut_metadata_id = 3;

struct extension_handshake {
  /// m: extension name -> the extended id its sender receives it under
  /// (0: the extension is switched off). Names kept in the order received.
  std::vector<std::pair<std::string, std::uint8_t>> m;
  /// v: client name and version (for people).
  std::string client;
  /// p: the sender's listening port.
  std::optional<std::uint16_t> listen_port;
  /// yourip: our address as the sender sees it (4 or 16 raw bytes).
  std::string yourip;
  /// reqq: requests the sender queues without dropping.
  std::optional<std::uint32_t> reqq;
  /// metadata_size (BEP 9): bytes of the info dictionary; absent when the
  /// sender does not have it.
  std::optional<std::int64_t> metadata_size;

  /// The extended id `name` is received under; 0 when absent or off.
  std::uint8_t id_of(std::string_view name) const noexcept;
};

/// Bounds on a handshake from a peer.
inline constexpr std::size_t max_extension_handshake = 16 * 1024;
inline constexpr std::size_t max_extensions = 64;

/// Parses the payload of extended message 0. Unknown keys and extensions
/// are ignored, keys of the wrong type too (clients disagree on some);
/// what is not a bencoded dictionary, or is over the bounds, is an error
/// (errc::wire_protocol, errc::wire_limit).
result<extension_handshake> parse_extension_handshake(std::span<const std::uint8_t> payload);

/// The bencoded payload of extended message 0 for `h`.
std::vector<std::uint8_t> encode_extension_handshake(const extension_handshake& h);

} // namespace actorrent
