// Message Stream Encryption (MSE/PE), the obfuscation libtorrent,
// Transmission and aria2 speak: which peer connections use it.
#pragma once

#include <optional>
#include <string_view>

namespace actorrent {

enum class encryption_policy {
  /// Both ways accepted. Outgoing connections open in plaintext and, when the
  /// peer hangs up before answering, are made again encrypted (RC4 preferred,
  /// plaintext offered).
  prefer,
  /// Only RC4-encrypted connections, in and out.
  require,
  /// Plaintext only; incoming encrypted handshakes are refused.
  off,
};

/// "prefer", "require", "off".
std::string_view to_string(encryption_policy p) noexcept;
std::optional<encryption_policy> parse_encryption_policy(std::string_view s) noexcept;

} // namespace actorrent
