// The Message Stream Encryption handshake (MSE/PE) as a state machine driven
// by bytes: received bytes go in through feed(), bytes to send come out of
// take_output(). No sockets and no clock: the connection bounds it in time.
//
//   A (connects)  -> B: Ya, PadA
//   B -> A: Yb, PadB
//   A -> B: HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S),
//           ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)), ENCRYPT(IA)
//   B -> A: ENCRYPT(VC, crypto_select, len(PadD), PadD), then the payload
//
// SKEY is the info-hash; B finds it among its torrents from the second hash.
// Every read is bounded: pads are at most 512 bytes and a synchronisation
// pattern not found within them fails the handshake.
#pragma once

#include "mse_crypto.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace actorrent::mse {

/// crypto_provide / crypto_select bits.
inline constexpr std::uint32_t method_plaintext = 0x01;
inline constexpr std::uint32_t method_rc4 = 0x02;
inline constexpr std::size_t max_pad = 512;

/// The info-hash whose HASH('req2', info-hash) is `req2`, if one of ours.
using skey_lookup = std::function<std::optional<sha1_hash>(const sha1_hash& req2)>;

/// HASH('req2', info_hash): what a lookup is keyed by.
sha1_hash req2_hash(const sha1_hash& info_hash);

class handshake {
public:
  /// The connecting side (A), offering the methods in `provide`. Its first
  /// bytes (Ya, PadA) are ready in take_output() at once. IA stays empty: the
  /// BitTorrent handshake follows as payload.
  static handshake outgoing(const sha1_hash& info_hash, std::uint32_t provide,
                            const random_source& random);
  /// The accepting side (B), selecting RC4 over plaintext among `allowed`.
  static handshake incoming(skey_lookup lookup, std::uint32_t allowed, const random_source& random);

  /// Takes bytes from the peer. Once done(), further bytes are payload.
  /// A failure is final: later calls return it again.
  error feed(std::span<const std::uint8_t> in);
  /// Bytes to send to the peer now.
  std::vector<std::uint8_t> take_output();

  bool done() const noexcept { return state_ == state::done; }
  bool failed() const noexcept { return static_cast<bool>(failure_); }

  /// After done(): the method agreed on and the torrent's info-hash.
  std::uint32_t selected() const noexcept { return selected_; }
  const sha1_hash& info_hash() const noexcept { return skey_; }
  /// After done(): the payload received so far, decrypted (incoming: IA first).
  std::vector<std::uint8_t> take_payload();
  /// After done() with RC4 selected: the streams for the rest of the
  /// connection (what we send, what we receive). Empty for plaintext.
  std::optional<rc4_stream> take_encryptor() { return std::exchange(encryptor_, std::nullopt); }
  std::optional<rc4_stream> take_decryptor() { return std::exchange(decryptor_, std::nullopt); }

private:
  enum class state {
    a_wait_yb, a_sync_vc, a_select, a_pad_d,
    b_wait_ya, b_sync_req1, b_skey, b_provide, b_pad_c, b_ia,
    done,
  };

  handshake(const random_source& random, state s);
  bool step();
  bool fail(std::string why);
  void send_public_key_and_pad();
  bool make_streams(std::string_view send_tag, std::string_view receive_tag);
  /// Takes n buffered bytes, decrypted.
  std::vector<std::uint8_t> take_decrypted(std::size_t n);
  void finish();

  random_source random_;
  state state_;
  dh_key key_;
  dh_bytes secret_{};
  sha1_hash skey_;
  skey_lookup lookup_;
  std::uint32_t methods_ = 0;  // provided (A) or allowed (B)
  std::uint32_t selected_ = 0;
  std::size_t pad_len_ = 0;
  std::size_t ia_len_ = 0;
  std::vector<std::uint8_t> sync_;  // the pattern looked for (encrypted VC, or req1)
  std::vector<std::uint8_t> in_;
  std::vector<std::uint8_t> out_;
  std::vector<std::uint8_t> payload_;
  std::optional<rc4_stream> encryptor_;
  std::optional<rc4_stream> decryptor_;
  error failure_;
};

} // namespace actorrent::mse
