// The primitives of Message Stream Encryption: the Diffie-Hellman exchange
// over the spec's 768-bit prime (generator 2) and the RC4 keystream with its
// first 1024 bytes discarded. OpenSSL does the arithmetic and the cipher;
// RC4 comes from OpenSSL 3's legacy provider, loaded into a library context
// of its own so the rest of the process keeps OpenSSL's defaults.
#pragma once

#include "actorrent/error.hpp"
#include "actorrent/sha1_hash.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>

namespace actorrent::mse {

/// Public keys and the shared secret are 96 bytes, big-endian.
inline constexpr std::size_t key_size = 96;
using dh_bytes = std::array<std::uint8_t, key_size>;

/// Fills a buffer with unpredictable bytes. Tests and fuzz targets pass a
/// seeded one so runs repeat.
using random_source = std::function<void(std::span<std::uint8_t>)>;
/// OpenSSL's RAND_bytes.
random_source system_random();

/// One side's key pair: a 160-bit private exponent x and Y = 2^x mod P.
class dh_key {
public:
  explicit dh_key(const random_source& random);
  const dh_bytes& public_key() const noexcept { return public_; }
  /// S = remote^x mod P. A remote key outside [2, P-2] is refused: it would
  /// make S predictable.
  result<dh_bytes> shared_secret(std::span<const std::uint8_t, key_size> remote) const;

private:
  std::array<std::uint8_t, 20> private_{};
  dh_bytes public_{};
};

/// SHA1(tag || parts...), the spec's HASH().
sha1_hash tagged_hash(std::string_view tag, std::span<const std::uint8_t> a,
                      std::span<const std::uint8_t> b = {});

/// One direction of an RC4 stream, keyed SHA1(tag, S, SKEY) ("keyA" for what
/// the connecting side sends, "keyB" for the other), already past the 1024
/// discarded bytes.
class rc4_stream {
public:
  /// errc::invalid_argument naming the cause when OpenSSL offers no RC4 (the
  /// legacy provider is missing).
  static result<rc4_stream> create(std::string_view tag, std::span<const std::uint8_t> secret,
                                   const sha1_hash& skey);
  rc4_stream(rc4_stream&&) noexcept;
  rc4_stream& operator=(rc4_stream&&) noexcept;
  ~rc4_stream();

  /// Encrypts or decrypts (the same thing) in place.
  void apply(std::span<std::uint8_t> data);

private:
  explicit rc4_stream(void* ctx) : ctx_(ctx) {}
  void* ctx_ = nullptr;  // EVP_CIPHER_CTX, kept out of the header
};

/// Whether RC4 is available; the error says why not.
error rc4_available();

} // namespace actorrent::mse
