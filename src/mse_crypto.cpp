#include "mse_crypto.hpp"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

#include <cstring>
#include <mutex>
#include <string>

namespace actorrent::mse {

namespace {

// The spec's prime P (768 bits).
constexpr char prime_hex[] =
  "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A0879"
  "8E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A3621"
  "0000000000090563";

struct bn_ctx_deleter {
  void operator()(BN_CTX* c) const { BN_CTX_free(c); }
};
struct bn_deleter {
  void operator()(BIGNUM* b) const { BN_clear_free(b); }
};
using bn_ptr = std::unique_ptr<BIGNUM, bn_deleter>;

bn_ptr prime() {
  BIGNUM* p = nullptr;
  BN_hex2bn(&p, prime_hex);
  return bn_ptr(p);
}

/// base^exp mod P, as 96 big-endian bytes.
dh_bytes mod_exp(const BIGNUM* base, std::span<const std::uint8_t> exp) {
  std::unique_ptr<BN_CTX, bn_ctx_deleter> ctx(BN_CTX_new());
  auto p = prime();
  bn_ptr x(BN_bin2bn(exp.data(), static_cast<int>(exp.size()), nullptr));
  bn_ptr r(BN_new());
  dh_bytes out{};
  if (ctx && p && x && r && BN_mod_exp(r.get(), base, x.get(), p.get(), ctx.get()) == 1)
    BN_bn2binpad(r.get(), out.data(), static_cast<int>(out.size()));
  return out;
}

// RC4 lives in the legacy provider on OpenSSL 3. A library context of our own
// holds it, so loading it changes nothing for the rest of the process.
struct rc4_provider {
  OSSL_LIB_CTX* libctx = nullptr;
  EVP_CIPHER* cipher = nullptr;
  error why;

  rc4_provider() {
    libctx = OSSL_LIB_CTX_new();
    if (libctx && OSSL_PROVIDER_load(libctx, "legacy") && OSSL_PROVIDER_load(libctx, "default"))
      cipher = EVP_CIPHER_fetch(libctx, "RC4", nullptr);
    if (!cipher)
      why = {errc::invalid_argument,
             "RC4 is not available from OpenSSL: its legacy provider (ossl-modules/legacy.so) "
             "could not be loaded, so encrypted peer connections cannot be made"};
  }
};

const rc4_provider& provider() {
  static const rc4_provider p;
  return p;
}

} // namespace

random_source system_random() {
  return [](std::span<std::uint8_t> out) {
    if (out.empty()) return;
    // RAND_bytes fails only without an entropy source; zeros would weaken
    // the key, so that is not survivable.
    if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) std::abort();
  };
}

dh_key::dh_key(const random_source& random) {
  random(private_);
  bn_ptr two(BN_new());
  BN_set_word(two.get(), 2);
  public_ = mod_exp(two.get(), private_);
}

result<dh_bytes> dh_key::shared_secret(std::span<const std::uint8_t, key_size> remote) const {
  bn_ptr y(BN_bin2bn(remote.data(), static_cast<int>(remote.size()), nullptr));
  auto p = prime();
  bn_ptr p_minus_1(BN_dup(p.get()));
  if (!y || !p || !p_minus_1 || BN_sub_word(p_minus_1.get(), 1) != 1)
    return error{errc::io_error, "encryption handshake: out of memory"};
  if (BN_cmp(y.get(), BN_value_one()) <= 0 || BN_cmp(y.get(), p_minus_1.get()) >= 0)
    return error{errc::wire_protocol, "encryption handshake: the peer's public key is degenerate"};
  return mod_exp(y.get(), private_);
}

sha1_hash tagged_hash(std::string_view tag, std::span<const std::uint8_t> a,
                      std::span<const std::uint8_t> b) {
  sha1_hasher h;
  h.update(tag);
  h.update(a);
  h.update(b);
  return h.finish();
}

result<rc4_stream> rc4_stream::create(std::string_view tag, std::span<const std::uint8_t> secret,
                                      const sha1_hash& skey) {
  const auto& prov = provider();
  if (!prov.cipher) return prov.why;
  auto key = tagged_hash(tag, secret, skey.bytes);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (!ctx) return error{errc::io_error, "encryption: out of memory"};
  rc4_stream s(ctx);
  if (EVP_CipherInit_ex(ctx, prov.cipher, nullptr, nullptr, nullptr, 1) != 1
      || EVP_CIPHER_CTX_set_key_length(ctx, static_cast<int>(key.bytes.size())) != 1
      || EVP_CipherInit_ex(ctx, nullptr, nullptr, key.bytes.data(), nullptr, 1) != 1)
    return error{errc::invalid_argument, "encryption: OpenSSL refused the RC4 key"};
  // The first 1024 bytes of an RC4 keystream leak the key: the spec drops them.
  std::array<std::uint8_t, 1024> discard{};
  s.apply(discard);
  return s;
}

rc4_stream::rc4_stream(rc4_stream&& o) noexcept : ctx_(std::exchange(o.ctx_, nullptr)) {}

rc4_stream& rc4_stream::operator=(rc4_stream&& o) noexcept {
  if (this != &o) {
    if (ctx_) EVP_CIPHER_CTX_free(static_cast<EVP_CIPHER_CTX*>(ctx_));
    ctx_ = std::exchange(o.ctx_, nullptr);
  }
  return *this;
}

rc4_stream::~rc4_stream() {
  if (ctx_) EVP_CIPHER_CTX_free(static_cast<EVP_CIPHER_CTX*>(ctx_));
}

void rc4_stream::apply(std::span<std::uint8_t> data) {
  auto* ctx = static_cast<EVP_CIPHER_CTX*>(ctx_);
  // EVP takes int lengths; a stream cipher's output is as long as its input.
  while (!data.empty()) {
    int n = static_cast<int>(std::min<std::size_t>(data.size(), 1 << 30));
    int out = 0;
    EVP_CipherUpdate(ctx, data.data(), &out, data.data(), n);
    data = data.subspan(static_cast<std::size_t>(n));
  }
}

error rc4_available() { return provider().why; }

} // namespace actorrent::mse
