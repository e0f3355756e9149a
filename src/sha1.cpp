#include "actorrent/sha1_hash.hpp"
#include "ascii.hpp"

#include <openssl/evp.h>

#include <new>

namespace actorrent {

namespace {

using ascii::hex_value;

constexpr char hex_digits[] = "0123456789abcdef";

EVP_MD_CTX* as_ctx(void* p) { return static_cast<EVP_MD_CTX*>(p); }

} // namespace

std::string sha1_hash::hex() const {
  std::string out;
  out.reserve(40);
  for (auto b : bytes) {
    out.push_back(hex_digits[b >> 4]);
    out.push_back(hex_digits[b & 0xf]);
  }
  return out;
}

std::optional<sha1_hash> sha1_hash::from_hex(std::string_view hex) {
  if (hex.size() != 40) return std::nullopt;
  sha1_hash h;
  for (std::size_t i = 0; i < 20; ++i) {
    int hi = hex_value(hex[2 * i]);
    int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    h.bytes[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return h;
}

sha1_hash sha1_hash::from_raw(std::string_view raw) noexcept {
  sha1_hash h;
  for (std::size_t i = 0; i < 20 && i < raw.size(); ++i)
    h.bytes[i] = static_cast<std::uint8_t>(raw[i]);
  return h;
}

sha1_hasher::sha1_hasher() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr || EVP_DigestInit_ex(as_ctx(ctx_), EVP_sha1(), nullptr) != 1)
    throw std::bad_alloc{};
}

sha1_hasher::~sha1_hasher() { EVP_MD_CTX_free(as_ctx(ctx_)); }

void sha1_hasher::update(std::span<const std::uint8_t> data) {
  EVP_DigestUpdate(as_ctx(ctx_), data.data(), data.size());
}

void sha1_hasher::update(std::string_view data) {
  EVP_DigestUpdate(as_ctx(ctx_), data.data(), data.size());
}

sha1_hash sha1_hasher::finish() {
  sha1_hash h;
  unsigned int len = 0;
  EVP_DigestFinal_ex(as_ctx(ctx_), h.bytes.data(), &len);
  EVP_DigestInit_ex(as_ctx(ctx_), EVP_sha1(), nullptr);
  return h;
}

sha1_hash sha1(std::span<const std::uint8_t> data) {
  sha1_hasher h;
  h.update(data);
  return h.finish();
}

sha1_hash sha1(std::string_view data) {
  sha1_hasher h;
  h.update(data);
  return h.finish();
}

} // namespace actorrent
