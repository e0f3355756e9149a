// tcp_connection's Message Stream Encryption: the handshake on the
// connection's strand before its owner sees a byte, the RC4 streams after
// it (applied in do_read and do_write), and the second, encrypted attempt
// of an outgoing connection that a peer hung up on in plaintext.
#include "tcp_connection.hpp"

#include "handshake.hpp"
#include "log.hpp"

#include <asio/bind_executor.hpp>
#include <asio/buffer.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include <algorithm>
#include <cstring>
#include <string_view>

namespace actorrent {

namespace {

constexpr std::string_view protocol_prefix = "\x13" "BitTorrent protocol";
// Handshake messages are small: a bounded read is enough at every step.
constexpr std::size_t mse_read_size = 4096;

error socket_error(const asio::error_code& ec, const char* what) {
  if (ec == asio::error::eof) return {errc::io_error, std::string(what) + ": connection closed by peer"};
  if (ec == asio::error::operation_aborted) return {errc::cancelled, std::string(what) + ": cancelled"};
  return {errc::io_error, std::string(what) + ": " + ec.message()};
}

} // namespace

bool tcp_connection::wants_mse() const noexcept {
  return opts_.encryption == encryption_policy::require
         || (opts_.encryption == encryption_policy::prefer && mse_attempt_);
}

void tcp_connection::begin_outgoing_mse() {
  if (auto why = mse::rc4_available()) {
    fail(why);
    return;
  }
  auto provide = opts_.encryption == encryption_policy::require
                   ? mse::method_rc4
                   : mse::method_rc4 | mse::method_plaintext;
  mse_ = std::make_unique<mse::handshake>(
    mse::handshake::outgoing(opts_.info_hash, provide, mse::system_random()));
  deadline_.expires_after(mse_timeout);
  deadline_.async_wait([self = shared_from_this(), attempt = attempt_](const asio::error_code& ec) {
    if (!ec && self->mse_ && attempt == self->attempt_)
      self->fail({errc::timeout, "encryption handshake with " + self->remote().to_string()
                                   + " timed out"});
  });
  mse_write();
  mse_read([self = shared_from_this()] {
    self->deadline_.cancel();
    auto payload = self->finish_mse();
    if (!self->replay_.empty()) {
      // What the plaintext attempt sent goes first, now encrypted.
      self->queued_.fetch_add(self->replay_.size(), std::memory_order_relaxed);
      self->write_queue_.push_front(std::exchange(self->replay_, {}));
    }
    self->received_any_ = true;
    self->on_transport_ready(std::move(payload));
  });
}

void tcp_connection::mse_write() {
  if (mse_) {
    auto out = mse_->take_output();
    mse_out_.insert(mse_out_.end(), out.begin(), out.end());
  }
  if (closed_ || mse_writing_ || mse_out_.empty()) return;
  auto buf = std::make_shared<std::vector<std::uint8_t>>(std::exchange(mse_out_, {}));
  mse_writing_ = true;
  asio::async_write(
    socket_, asio::buffer(*buf),
    asio::bind_executor(strand_, [self = shared_from_this(), buf, attempt = attempt_](
                                   const asio::error_code& ec, std::size_t) {
      if (attempt != self->attempt_) return;
      self->mse_writing_ = false;
      if (self->closed_) return;
      if (ec) {
        auto err = socket_error(ec, "encryption handshake");
        if (self->accept_done_)
          self->accept_failed(err);
        else
          self->fail(err);
        return;
      }
      self->mse_write();
      // Held back while the handshake's last bytes were on their way.
      self->do_write();
    }));
}

void tcp_connection::mse_read(std::function<void()> then) {
  auto buf = std::make_shared<std::vector<std::uint8_t>>(mse_read_size);
  socket_.async_read_some(
    asio::buffer(*buf),
    asio::bind_executor(strand_, [self = shared_from_this(), buf, then = std::move(then),
                                  attempt = attempt_](const asio::error_code& ec,
                                                      std::size_t n) mutable {
      if (attempt != self->attempt_ || self->closed_ || !self->mse_) return;
      error err;
      if (ec)
        err = socket_error(ec, "encryption handshake");
      else
        err = self->mse_->feed(std::span(*buf).first(n));
      if (err) {
        if (self->accept_done_)
          self->accept_failed(err);
        else
          self->fail(err);
        return;
      }
      self->mse_write();
      if (self->mse_->done())
        then();
      else
        self->mse_read(std::move(then));
    }));
}

std::vector<std::uint8_t> tcp_connection::finish_mse() {
  encryptor_ = mse_->take_encryptor();
  decryptor_ = mse_->take_decryptor();
  encrypted_.store(encryptor_.has_value(), std::memory_order_release);
  auto payload = mse_->take_payload();
  ACTORRENT_LOG(debug, "encryption handshake with " << remote().to_string() << ": "
                                                   << (encryptor_ ? "RC4" : "plaintext"));
  mse_.reset();
  return payload;
}

bool tcp_connection::retry_encrypted(const error& err) {
  if (opts_.encryption != encryption_policy::prefer || mse_attempt_ || received_any_
      || replay_overflow_ || !open_ || closed_)
    return false;
  // The peer hung up on our plaintext handshake without a word: it may
  // accept only encrypted connections. One more attempt, encrypted.
  ACTORRENT_LOG(debug, "peer " << remote().to_string() << " closed a plaintext connection ("
                               << err.message << "); trying again encrypted");
  mse_attempt_ = true;
  ++attempt_;
  open_ = false;
  reading_ = false;
  writing_ = false;
  // What was in flight is in replay_, sent again after the handshake.
  queued_.fetch_sub(in_flight_bytes_ - write_offset_, std::memory_order_relaxed);
  for (auto& b : in_flight_) retired_.push_back(std::move(b));
  in_flight_.clear();
  in_flight_bytes_ = 0;
  write_offset_ = 0;
  asio::error_code ignored;
  socket_.close(ignored);
  do_connect();
  return true;
}

void tcp_connection::accept_handshake(incoming_encryption enc, std::chrono::milliseconds timeout,
                                      std::function<void(result<std::vector<std::uint8_t>>)> done) {
  asio::post(strand_, [self = shared_from_this(), enc = std::move(enc), timeout,
                       done = std::move(done)]() mutable {
    if (self->closed_) {
      done(error{errc::cancelled, "closed"});
      return;
    }
    self->accept_enc_ = std::move(enc);
    self->accept_done_ = std::move(done);
    self->deadline_.expires_after(timeout);
    self->deadline_.async_wait([self](const asio::error_code& ec) {
      if (!ec && self->accept_done_)
        self->accept_failed({errc::timeout, "no handshake from " + self->remote().to_string()});
    });
    // 20 bytes tell the two apart: a plaintext handshake starts with them, an
    // encrypted one starts with a 96-byte key.
    auto buf = std::make_shared<std::vector<std::uint8_t>>(protocol_prefix.size());
    asio::async_read(self->socket_, asio::buffer(*buf),
                     asio::bind_executor(self->strand_, [self, buf](const asio::error_code& ec,
                                                                    std::size_t) {
                       if (!self->accept_done_) return;
                       if (ec) {
                         self->accept_failed(socket_error(ec, "handshake read"));
                         return;
                       }
                       if (std::memcmp(buf->data(), protocol_prefix.data(), buf->size()) == 0)
                         self->read_plain_handshake(std::move(*buf));
                       else
                         self->read_encrypted_handshake(std::move(*buf));
                     }));
  });
}

void tcp_connection::read_plain_handshake(std::vector<std::uint8_t> first) {
  if (accept_enc_.policy == encryption_policy::require) {
    accept_failed({errc::wire_protocol, "plaintext handshake refused: encryption is required"});
    return;
  }
  auto buf = std::make_shared<std::vector<std::uint8_t>>(std::move(first));
  auto have = buf->size();
  buf->resize(wire::handshake_size);
  asio::async_read(socket_, asio::buffer(buf->data() + have, buf->size() - have),
                   asio::bind_executor(strand_, [self = shared_from_this(), buf](
                                                  const asio::error_code& ec, std::size_t) {
                     if (!self->accept_done_) return;
                     if (ec) {
                       self->accept_failed(socket_error(ec, "handshake read"));
                       return;
                     }
                     self->accept_succeeded(std::move(*buf));
                   }));
}

void tcp_connection::read_encrypted_handshake(std::vector<std::uint8_t> first) {
  if (accept_enc_.policy == encryption_policy::off) {
    accept_failed({errc::wire_protocol, "encrypted handshake refused: encryption is off"});
    return;
  }
  if (auto why = mse::rc4_available()) {
    accept_failed(why);
    return;
  }
  auto allowed = accept_enc_.policy == encryption_policy::require
                   ? mse::method_rc4
                   : mse::method_rc4 | mse::method_plaintext;
  mse_ = std::make_unique<mse::handshake>(
    mse::handshake::incoming(accept_enc_.lookup, allowed, mse::system_random()));
  if (auto err = mse_->feed(first)) {
    accept_failed(err);
    return;
  }
  mse_write();
  mse_read([self = shared_from_this()] {
    self->mse_info_hash_ = self->mse_->info_hash();
    self->plain_in_ = self->finish_mse();
    self->collect_handshake();
  });
}

void tcp_connection::collect_handshake() {
  if (plain_in_.size() >= wire::handshake_size) {
    std::vector<std::uint8_t> hs(plain_in_.begin(), plain_in_.begin() + wire::handshake_size);
    plain_in_.erase(plain_in_.begin(), plain_in_.begin() + wire::handshake_size);
    auto decoded = wire::decode_handshake(hs);
    if (!decoded) {
      accept_failed(decoded.err());
      return;
    }
    // The key the connection is encrypted with must be the torrent it asks for.
    if (decoded->info_hash != *mse_info_hash_) {
      accept_failed({errc::wire_protocol, "the handshake names another torrent than the "
                                          "encryption handshake"});
      return;
    }
    accept_succeeded(std::move(hs));
    return;
  }
  // The handshake follows the encryption handshake (or began in its IA).
  auto buf = std::make_shared<std::vector<std::uint8_t>>(wire::handshake_size - plain_in_.size());
  socket_.async_read_some(
    asio::buffer(*buf),
    asio::bind_executor(strand_, [self = shared_from_this(), buf](const asio::error_code& ec,
                                                                  std::size_t n) {
      if (!self->accept_done_) return;
      if (ec) {
        self->accept_failed(socket_error(ec, "handshake read"));
        return;
      }
      buf->resize(n);
      if (self->decryptor_) self->decryptor_->apply(*buf);
      self->plain_in_.insert(self->plain_in_.end(), buf->begin(), buf->end());
      self->collect_handshake();
    }));
}

void tcp_connection::accept_succeeded(std::vector<std::uint8_t> hs) {
  deadline_.cancel();
  auto done = std::exchange(accept_done_, nullptr);
  done(std::move(hs));
}

void tcp_connection::accept_failed(error err) {
  if (!accept_done_) return;
  auto done = std::exchange(accept_done_, nullptr);
  fail(err);
  done(std::move(err));
}

} // namespace actorrent
