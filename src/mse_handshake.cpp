#include "mse_handshake.hpp"

#include <algorithm>

namespace actorrent::mse {

namespace {

constexpr std::size_t vc_size = 8;

void put_be(std::vector<std::uint8_t>& out, std::uint32_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

std::uint32_t get_be(const std::uint8_t* p, int bytes) {
  std::uint32_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

std::span<const std::uint8_t> view(const sha1_hash& h) { return h.bytes; }

} // namespace

sha1_hash req2_hash(const sha1_hash& info_hash) { return tagged_hash("req2", view(info_hash)); }

handshake::handshake(const random_source& random, state s)
  : random_(random), state_(s), key_(random) {}

handshake handshake::outgoing(const sha1_hash& info_hash, std::uint32_t provide,
                              const random_source& random) {
  handshake h(random, state::a_wait_yb);
  h.skey_ = info_hash;
  h.methods_ = provide;
  h.send_public_key_and_pad();
  return h;
}

handshake handshake::incoming(skey_lookup lookup, std::uint32_t allowed,
                              const random_source& random) {
  handshake h(random, state::b_wait_ya);
  h.lookup_ = std::move(lookup);
  h.methods_ = allowed;
  return h;
}

void handshake::send_public_key_and_pad() {
  const auto& y = key_.public_key();
  out_.insert(out_.end(), y.begin(), y.end());
  // A random amount of random bytes, so the exchange has no fixed length.
  std::array<std::uint8_t, 2> len{};
  random_(len);
  auto n = get_be(len.data(), 2) % (max_pad + 1);
  auto at = out_.size();
  out_.resize(at + n);
  random_(std::span(out_).subspan(at));
}

bool handshake::fail(std::string why) {
  failure_ = {errc::wire_protocol, "encryption handshake: " + std::move(why)};
  return false;
}

bool handshake::make_streams(std::string_view send_tag, std::string_view receive_tag) {
  auto enc = rc4_stream::create(send_tag, secret_, skey_);
  auto dec = rc4_stream::create(receive_tag, secret_, skey_);
  if (!enc || !dec) {
    failure_ = enc ? dec.err() : enc.err();
    return false;
  }
  encryptor_ = std::move(*enc);
  decryptor_ = std::move(*dec);
  return true;
}

std::vector<std::uint8_t> handshake::take_decrypted(std::size_t n) {
  std::vector<std::uint8_t> out(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(n));
  in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(n));
  decryptor_->apply(out);
  return out;
}

error handshake::feed(std::span<const std::uint8_t> in) {
  if (failure_) return failure_;
  if (state_ == state::done) {
    auto at = payload_.size();
    payload_.insert(payload_.end(), in.begin(), in.end());
    if (decryptor_) decryptor_->apply(std::span(payload_).subspan(at));
    return {};
  }
  in_.insert(in_.end(), in.begin(), in.end());
  while (state_ != state::done && step()) {
  }
  return failure_;
}

bool handshake::step() {
  switch (state_) {
  case state::a_wait_yb:
  case state::b_wait_ya: {
    if (in_.size() < key_size) return false;
    auto s = key_.shared_secret(std::span<const std::uint8_t, key_size>(in_.data(), key_size));
    if (!s) {
      failure_ = s.err();
      return false;
    }
    secret_ = *s;
    in_.erase(in_.begin(), in_.begin() + key_size);
    if (state_ == state::b_wait_ya) {
      send_public_key_and_pad();
      auto req1 = tagged_hash("req1", secret_);
      sync_.assign(req1.bytes.begin(), req1.bytes.end());
      state_ = state::b_sync_req1;
      return true;
    }
    auto req1 = tagged_hash("req1", secret_);
    auto req2 = req2_hash(skey_);
    auto req3 = tagged_hash("req3", secret_);
    out_.insert(out_.end(), req1.bytes.begin(), req1.bytes.end());
    for (std::size_t i = 0; i < req2.bytes.size(); ++i) out_.push_back(req2.bytes[i] ^ req3.bytes[i]);
    if (!make_streams("keyA", "keyB")) return false;
    std::vector<std::uint8_t> plain(vc_size, 0);
    put_be(plain, methods_, 4);
    put_be(plain, 0, 2);  // len(PadC)
    put_be(plain, 0, 2);  // len(IA)
    encryptor_->apply(plain);
    out_.insert(out_.end(), plain.begin(), plain.end());
    // B's answer starts with VC encrypted by B's stream: the same bytes our
    // decryptor would produce from VC, found by a copy of it.
    auto probe = rc4_stream::create("keyB", secret_, skey_);
    if (!probe) {
      failure_ = probe.err();
      return false;
    }
    sync_.assign(vc_size, 0);
    probe->apply(sync_);
    state_ = state::a_sync_vc;
    return true;
  }
  case state::a_sync_vc:
  case state::b_sync_req1: {
    auto window = std::min(in_.size(), max_pad + sync_.size());
    auto end = in_.begin() + static_cast<std::ptrdiff_t>(window);
    auto it = std::search(in_.begin(), end, sync_.begin(), sync_.end());
    if (it == end) {
      if (in_.size() >= max_pad + sync_.size())
        return fail(state_ == state::a_sync_vc ? "no verification constant within 512 bytes"
                                               : "no synchronisation hash within 512 bytes");
      return false;
    }
    in_.erase(in_.begin(), it + static_cast<std::ptrdiff_t>(sync_.size()));
    if (state_ == state::a_sync_vc) {
      // VC itself was encrypted: the decryptor moves past it.
      std::array<std::uint8_t, vc_size> vc{};
      decryptor_->apply(vc);
      state_ = state::a_select;
    } else {
      state_ = state::b_skey;
    }
    return true;
  }
  case state::a_select: {
    if (in_.size() < 6) return false;
    auto b = take_decrypted(6);
    selected_ = get_be(b.data(), 4);
    pad_len_ = get_be(b.data() + 4, 2);
    if ((selected_ != method_plaintext && selected_ != method_rc4) || !(selected_ & methods_))
      return fail("the peer selected a method we did not offer (" + std::to_string(selected_) + ")");
    if (pad_len_ > max_pad) return fail("PadD longer than 512 bytes");
    state_ = state::a_pad_d;
    return true;
  }
  case state::a_pad_d: {
    if (in_.size() < pad_len_) return false;
    take_decrypted(pad_len_);
    finish();
    return true;
  }
  case state::b_skey: {
    if (in_.size() < 20) return false;
    auto req3 = tagged_hash("req3", secret_);
    sha1_hash req2;
    for (std::size_t i = 0; i < 20; ++i) req2.bytes[i] = in_[i] ^ req3.bytes[i];
    in_.erase(in_.begin(), in_.begin() + 20);
    auto skey = lookup_ ? lookup_(req2) : std::nullopt;
    if (!skey) return fail("the peer asks for a torrent we do not have");
    skey_ = *skey;
    if (!make_streams("keyB", "keyA")) return false;
    state_ = state::b_provide;
    return true;
  }
  case state::b_provide: {
    if (in_.size() < vc_size + 6) return false;
    auto b = take_decrypted(vc_size + 6);
    if (!std::all_of(b.begin(), b.begin() + vc_size, [](std::uint8_t c) { return c == 0; }))
      return fail("wrong verification constant");
    auto provide = get_be(b.data() + vc_size, 4);
    pad_len_ = get_be(b.data() + vc_size + 4, 2);
    if (pad_len_ > max_pad) return fail("PadC longer than 512 bytes");
    if (provide & methods_ & method_rc4)
      selected_ = method_rc4;
    else if (provide & methods_ & method_plaintext)
      selected_ = method_plaintext;
    else
      return fail("no method in common (the peer provides " + std::to_string(provide) + ")");
    state_ = state::b_pad_c;
    return true;
  }
  case state::b_pad_c: {
    if (in_.size() < pad_len_ + 2) return false;
    auto b = take_decrypted(pad_len_ + 2);
    ia_len_ = get_be(b.data() + pad_len_, 2);
    state_ = state::b_ia;
    return true;
  }
  case state::b_ia: {
    if (in_.size() < ia_len_) return false;
    payload_ = take_decrypted(ia_len_);
    std::vector<std::uint8_t> plain(vc_size, 0);
    put_be(plain, selected_, 4);
    put_be(plain, 0, 2);  // len(PadD)
    encryptor_->apply(plain);
    out_.insert(out_.end(), plain.begin(), plain.end());
    finish();
    return true;
  }
  case state::done:
    return false;
  }
  return false;
}

void handshake::finish() {
  state_ = state::done;
  sync_.clear();
  lookup_ = nullptr;
  // Past the handshake, plaintext was agreed or the RC4 streams go on.
  if (selected_ == method_plaintext) {
    encryptor_.reset();
    decryptor_.reset();
  } else {
    decryptor_->apply(in_);
  }
  payload_.insert(payload_.end(), in_.begin(), in_.end());
  in_.clear();
  in_.shrink_to_fit();
}

std::vector<std::uint8_t> handshake::take_output() { return std::exchange(out_, {}); }

std::vector<std::uint8_t> handshake::take_payload() { return std::exchange(payload_, {}); }

} // namespace actorrent::mse
