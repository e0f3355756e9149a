// A 20-byte SHA-1 digest: info-hashes, piece hashes and peer ids share it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace actorrent {

struct sha1_hash {
  std::array<std::uint8_t, 20> bytes{};

  /// Lower-case hex, 40 characters.
  std::string hex() const;
  /// The 20 raw bytes as a string (for bencoding and URL escaping).
  std::string_view raw() const noexcept {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  }
  /// Parses 40 hex digits (either case).
  static std::optional<sha1_hash> from_hex(std::string_view hex);
  /// Copies exactly 20 raw bytes; precondition: raw.size() == 20.
  static sha1_hash from_raw(std::string_view raw) noexcept;

  friend bool operator==(const sha1_hash&, const sha1_hash&) = default;
  friend auto operator<=>(const sha1_hash&, const sha1_hash&) = default;
};

/// SHA-1 of a byte range (OpenSSL EVP).
sha1_hash sha1(std::span<const std::uint8_t> data);
sha1_hash sha1(std::string_view data);

/// Incremental SHA-1 for data that arrives in parts (pieces, files).
class sha1_hasher {
public:
  sha1_hasher();
  ~sha1_hasher();
  sha1_hasher(const sha1_hasher&) = delete;
  sha1_hasher& operator=(const sha1_hasher&) = delete;

  void update(std::span<const std::uint8_t> data);
  void update(std::string_view data);
  /// Returns the digest and resets the hasher for reuse.
  sha1_hash finish();

private:
  void* ctx_; // EVP_MD_CTX, kept opaque so OpenSSL stays out of the header
};

} // namespace actorrent
