#include "tcp_connection.hpp"
#include "plain_address.hpp"

#include <asio/bind_executor.hpp>
#include <asio/buffer.hpp>
#include <asio/connect.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include <algorithm>
#include <string>
#include <utility>

namespace actorrent {

namespace {

// Under a rate limit a read or write waits for this much budget (one block;
// every bucket's burst holds at least that): taking the scraps that
// trickle in between two reads made one read and one message each, about
// a core's worth of wake-ups at a few MiB/s.
constexpr std::size_t throttled_io_least = 16 * 1024;

error from_asio(const asio::error_code& ec, const char* what) {
  if (ec == asio::error::operation_aborted)
    return {errc::cancelled, std::string(what) + ": cancelled"};
  if (ec == asio::error::eof)
    return {errc::io_error, "connection closed by peer"};
  if (ec == asio::error::timed_out)
    return {errc::timeout, std::string(what) + ": timed out"};
  return {errc::io_error, std::string(what) + ": " + ec.message()};
}

} // namespace

tcp_connection::tcp_connection(asio::any_io_executor ex, asio::ip::tcp::socket socket,
                               options opts)
  : strand_(asio::make_strand(ex)),
    socket_(std::move(socket)),
    resolver_(strand_),
    deadline_(strand_),
    read_throttle_(strand_),
    write_throttle_(strand_),
    opts_(opts) {
}

tcp_connection::~tcp_connection() = default;

std::shared_ptr<tcp_connection> tcp_connection::create(asio::io_context& io, options opts) {
  auto ex = asio::any_io_executor(io.get_executor());
  return std::make_shared<tcp_connection>(ex, asio::ip::tcp::socket(ex), opts);
}

std::shared_ptr<tcp_connection> tcp_connection::adopt(asio::ip::tcp::socket socket, options opts) {
  auto ex = socket.get_executor();
  auto conn = std::make_shared<tcp_connection>(ex, std::move(socket), opts);
  asio::error_code ec;
  auto ep = conn->socket_.remote_endpoint(ec);
  if (!ec) conn->set_remote({plain_address(ep.address()).to_string(), ep.port()});
  return conn;
}

void tcp_connection::set_remote(const peer_endpoint& remote) {
  std::uint8_t expected = remote_unset;
  if (!remote_state_.compare_exchange_strong(expected, remote_writing, std::memory_order_acquire))
    return;
  remote_ = remote;
  remote_state_.store(remote_set, std::memory_order_release);
}

peer_endpoint tcp_connection::remote() const {
  if (remote_state_.load(std::memory_order_acquire) != remote_set) return {};
  return remote_;
}

bool tcp_connection::install(callbacks cb) {
  if (closed_) {
    // Their owner waits for on_closed to learn the connection's fate, even
    // when a close() overtook this call.
    if (cb.on_closed) cb.on_closed(closed_with_);
    return false;
  }
  cb_ = std::move(cb);
  return true;
}

void tcp_connection::connect(const peer_endpoint& remote, std::chrono::milliseconds timeout,
                             callbacks cb) {
  // Here, not on the network thread: any thread may read remote(), and a
  // value set once, before the connection's work begins, never changes under it.
  set_remote(remote);
  asio::post(strand_, [self = shared_from_this(), timeout, cb = std::move(cb)]() mutable {
    if (!self->install(std::move(cb))) return;
    self->connect_timeout_ = timeout;
    self->do_connect();
  });
}

void tcp_connection::do_connect() {
  auto self = shared_from_this();
  auto remote = remote_;
  auto attempt = attempt_;
  connecting_ = true;
  deadline_.expires_after(connect_timeout_);
  deadline_.async_wait([self, remote, attempt](const asio::error_code& ec) {
    // An expiry already queued when the connect completed cannot be
    // cancelled any more: it must not close the connection that won.
    if (!ec && self->connecting_ && attempt == self->attempt_)
      self->fail({errc::timeout, "connect to " + remote.to_string() + " timed out"});
  });
  auto on_connected = [self, remote, attempt](const asio::error_code& ec,
                                              const asio::ip::tcp::endpoint&) {
    if (self->closed_ || attempt != self->attempt_) return;
    if (ec) {
      self->fail(from_asio(ec, ("connect to " + remote.to_string()).c_str()));
      return;
    }
    self->connecting_ = false;
    self->deadline_.cancel();
    // The handlers of an abandoned attempt have all run by now (they were
    // queued on this strand before the new connect began).
    self->retired_.clear();
    asio::error_code ignored;
    self->socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
    if (self->wants_mse()) {
      self->begin_outgoing_mse();
      return;
    }
    self->on_transport_ready();
  };
  asio::error_code ec;
  auto addr = asio::ip::make_address(remote.host, ec);
  if (!ec) {
    std::vector<asio::ip::tcp::endpoint> eps{{addr, remote.port}};
    asio::async_connect(socket_, eps, asio::bind_executor(strand_, on_connected));
    return;
  }
  resolver_.async_resolve(
    remote.host, std::to_string(remote.port),
    [self, remote, on_connected](const asio::error_code& rec,
                                 asio::ip::tcp::resolver::results_type results) {
      if (self->closed_) return;
      if (rec) {
        self->fail(from_asio(rec, ("resolve " + remote.host).c_str()));
        return;
      }
      asio::async_connect(self->socket_, results,
                          asio::bind_executor(self->strand_, on_connected));
    });
}

void tcp_connection::on_transport_ready(std::vector<std::uint8_t> payload) {
  open_ = true;
  if (!announced_connected_) {
    announced_connected_ = true;
    if (cb_.on_connected) cb_.on_connected();
  }
  // Arrived with the end of the encryption handshake; acknowledged like a read.
  if (!payload.empty() && !closed_) hand_over(std::move(payload));
  do_read();
  do_write();
}

void tcp_connection::start(callbacks cb, std::vector<std::uint8_t> first_chunk) {
  asio::post(strand_, [self = shared_from_this(), cb = std::move(cb),
                       first = std::move(first_chunk)]() mutable {
    if (!self->install(std::move(cb))) return;
    self->open_ = true;
    asio::error_code ignored;
    self->socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
    // Bytes that came with an encrypted handshake, past its 68 bytes.
    first.insert(first.end(), self->plain_in_.begin(), self->plain_in_.end());
    self->plain_in_ = {};
    // Counted like a read: the receiver acknowledges it like one.
    if (!first.empty()) self->hand_over(std::move(first));
    self->do_read();
    self->do_write();
  });
}

void tcp_connection::read_exactly(std::size_t n, std::chrono::milliseconds timeout,
                                  std::function<void(result<std::vector<std::uint8_t>>)> done) {
  asio::post(strand_, [self = shared_from_this(), n, timeout, done = std::move(done)]() mutable {
    if (self->closed_) {
      done(error{errc::cancelled, "closed"});
      return;
    }
    auto buf = std::make_shared<std::vector<std::uint8_t>>(n);
    auto once = std::make_shared<std::function<void(result<std::vector<std::uint8_t>>)>>(
      std::move(done));
    self->deadline_.expires_after(timeout);
    self->deadline_.async_wait([self, once](const asio::error_code& ec) {
      if (ec || !*once) return;
      auto cb = std::move(*once);
      *once = nullptr;
      error err{errc::timeout, "no handshake from " + self->remote().to_string()};
      self->fail(err);
      cb(err);
    });
    asio::async_read(self->socket_, asio::buffer(*buf),
                     asio::bind_executor(self->strand_, [self, buf, once](
                                                          const asio::error_code& ec, std::size_t) {
                       if (!*once) return;
                       auto cb = std::move(*once);
                       *once = nullptr;
                       self->deadline_.cancel();
                       if (ec) {
                         auto err = from_asio(ec, "handshake read");
                         self->fail(err);
                         cb(err);
                         return;
                       }
                       cb(std::move(*buf));
                     }));
  });
}

void tcp_connection::notify_when_drained(std::size_t bytes) {
  asio::post(strand_, [self = shared_from_this(), bytes] {
    if (self->closed_) return;
    if (self->queued_.load(std::memory_order_relaxed) < bytes) {
      if (self->cb_.on_drained) self->cb_.on_drained();
      return;
    }
    self->drain_mark_ = bytes;
  });
}

void tcp_connection::do_read() {
  // Not before start() or the connect: there would be nobody to hand the
  // bytes to, or no socket to read from yet.
  if (closed_ || !open_ || reading_ || read_throttled_ || unacked_ >= opts_.max_unacked_chunks)
    return;
  auto size = opts_.read_chunk;
  if (!down_limits_.empty()) {
    auto now = rate_limiter::clock::now();
    const auto least = std::min(opts_.read_chunk, throttled_io_least);
    size = take_all(down_limits_, opts_.read_chunk, now, least);
    if (size == 0) {
      throttle(read_throttle_, read_throttled_, wait_for_all(down_limits_, least, now),
               &tcp_connection::do_read);
      return;
    }
  }
  if (splitter_) {
    read_split(size);
    return;
  }
  reading_ = true;
  auto buf = std::make_shared<std::vector<std::uint8_t>>(std::move(spare_));
  spare_.clear();
  // A spent chunk keeps the length of its read: only the rest is zero-filled.
  buf->resize(size);
  socket_.async_read_some(
    asio::buffer(*buf),
    asio::bind_executor(strand_, [self = shared_from_this(), buf, attempt = attempt_](
                                   const asio::error_code& ec, std::size_t n) {
      if (attempt != self->attempt_) return;
      self->reading_ = false;
      // The socket had fewer bytes than were granted: the rest is not spent.
      give_back_all(self->down_limits_, buf->size() - n);
      if (self->closed_) return;
      if (ec) {
        auto err = from_asio(ec, "read");
        if (!self->retry_encrypted(err)) self->fail(err);
        return;
      }
      buf->resize(n);
      if (!self->received_any_) {
        // The peer answered: a plaintext attempt will not be made again.
        self->received_any_ = true;
        self->replay_ = {};
      }
      if (self->decryptor_) self->decryptor_->apply(*buf);
      ++self->unacked_;
      if (self->cb_.on_data) self->cb_.on_data(std::move(*buf));
      self->do_read();
    }));
}

void tcp_connection::hand_over(std::vector<std::uint8_t> bytes) {
  if (!splitter_) {
    ++unacked_;
    if (cb_.on_data) cb_.on_data(std::move(bytes));
    return;
  }
  splitter_->feed(bytes);
  if (!splitter_->ready()) return;
  ++unacked_;
  if (cb_.on_split) cb_.on_split(splitter_->take());
}

void tcp_connection::split_payloads(std::uint32_t max_block) {
  asio::post(strand_, [self = shared_from_this(), max_block] {
    // The peer's stream begins with its handshake, whoever read it.
    self->splitter_ = std::make_unique<wire::stream_splitter>(max_block, true);
  });
}

void tcp_connection::read_split(std::size_t size) {
  reading_ = true;
  // The splitter's buffers stay untouched until commit(): nothing else uses
  // it while a read is in flight.
  auto slots = splitter_->prepare(size);
  std::vector<asio::mutable_buffer> buffers;
  buffers.reserve(slots.size());
  for (auto s : slots) buffers.emplace_back(s.data(), s.size());
  socket_.async_read_some(
    buffers,
    asio::bind_executor(strand_, [self = shared_from_this(), size, slots, attempt = attempt_](
                                   const asio::error_code& ec, std::size_t n) {
      if (attempt != self->attempt_) return;
      self->reading_ = false;
      give_back_all(self->down_limits_, size - n);
      if (self->closed_) return;
      if (ec) {
        auto err = from_asio(ec, "read");
        if (!self->retry_encrypted(err)) self->fail(err);
        return;
      }
      if (!self->received_any_) {
        self->received_any_ = true;
        self->replay_ = {};
      }
      if (self->decryptor_) {
        auto left = n;
        for (auto s : slots) {
          if (left == 0) break;
          auto k = std::min(s.size(), left);
          self->decryptor_->apply(s.first(k));
          left -= k;
        }
      }
      self->splitter_->commit(n);
      if (self->splitter_->ready()) {
        ++self->unacked_;
        if (self->cb_.on_split) self->cb_.on_split(self->splitter_->take());
      }
      self->do_read();
    }));
}

void tcp_connection::throttle(asio::steady_timer& timer, bool& waiting,
                              std::chrono::nanoseconds wait, void (tcp_connection::*resume)()) {
  waiting = true;
  // At least a millisecond: waking sooner only finds the bucket empty again.
  timer.expires_after(std::max<std::chrono::nanoseconds>(wait, std::chrono::milliseconds(1)));
  timer.async_wait([self = shared_from_this(), &waiting, resume](const asio::error_code& ec) {
    waiting = false;
    if (ec || self->closed_) return;
    ((*self).*resume)();
  });
}

void tcp_connection::set_rate_limits(rate_limiters down, rate_limiters up) {
  asio::post(strand_, [self = shared_from_this(), down = std::move(down),
                       up = std::move(up)]() mutable {
    self->down_limits_ = std::move(down);
    self->up_limits_ = std::move(up);
  });
}

void tcp_connection::ack(std::vector<std::uint8_t> spent) {
  asio::post(strand_, [self = shared_from_this(), spent = std::move(spent)]() mutable {
    if (self->unacked_ > 0) --self->unacked_;
    // Only a busy connection's chunks are kept (one at most): a connection
    // gone quiet, whose reads are short, holds no buffer besides its read's.
    // A split stream reads into the splitter's buffers, never into a spent chunk.
    if (!self->splitter_ && spent.size() * 2 >= self->opts_.read_chunk)
      self->spare_ = std::move(spent);
    self->do_read();
  });
}

void tcp_connection::send(std::vector<std::uint8_t> bytes) {
  if (bytes.empty()) return;
  queued_.fetch_add(bytes.size(), std::memory_order_relaxed);
  asio::post(strand_, [self = shared_from_this(), bytes = std::move(bytes)]() mutable {
    if (self->closed_) {
      self->queued_.fetch_sub(bytes.size(), std::memory_order_relaxed);
      return;
    }
    self->write_queue_.push_back(std::move(bytes));
    self->do_write();
  });
}

void tcp_connection::do_write() {
  // Sent before the connect completed: it waits in the queue, since writing
  // to a socket not yet open would fail the connection.
  if (closed_ || !open_ || writing_ || mse_writing_ || write_throttled_) return;
  if (in_flight_.empty()) {
    // Gather what is queued into one write: fewer syscalls for many small messages.
    while (!write_queue_.empty() && in_flight_.size() < 64) {
      auto& b = write_queue_.front();
      if (opts_.encryption == encryption_policy::prefer && !mse_attempt_ && !received_any_
          && !replay_overflow_) {
        // Bounded: the handshake and the first messages, not an upload.
        if (replay_.size() + b.size() <= 64 * 1024)
          replay_.insert(replay_.end(), b.begin(), b.end());
        else
          replay_overflow_ = true;
      }
      if (encryptor_) encryptor_->apply(b);
      in_flight_bytes_ += b.size();
      in_flight_.push_back(std::move(b));
      write_queue_.pop_front();
    }
    if (in_flight_.empty()) return;
  }
  auto size = in_flight_bytes_ - write_offset_;
  if (!up_limits_.empty()) {
    auto now = rate_limiter::clock::now();
    const auto least = std::min(size, throttled_io_least);
    auto granted = take_all(up_limits_, size, now, least);
    if (granted == 0) {
      throttle(write_throttle_, write_throttled_, wait_for_all(up_limits_, least, now),
               &tcp_connection::do_write);
      return;
    }
    size = granted;
  }
  std::vector<asio::const_buffer> buffers;
  buffers.reserve(in_flight_.size());
  auto skip = write_offset_;
  auto left = size;
  for (auto& b : in_flight_) {
    if (left == 0) break;
    if (skip >= b.size()) {
      skip -= b.size();
      continue;
    }
    auto n = std::min(b.size() - skip, left);
    buffers.emplace_back(asio::buffer(b.data() + skip, n));
    skip = 0;
    left -= n;
  }
  writing_ = true;
  asio::async_write(
    socket_, buffers,
    asio::bind_executor(strand_, [self = shared_from_this(), size, attempt = attempt_](
                                   const asio::error_code& ec, std::size_t) {
      if (attempt != self->attempt_) return;
      self->writing_ = false;
      if (self->closed_) {
        // fail() took what was not yet written off the count; the buffers
        // lived until now because the write held them.
        self->in_flight_.clear();
        return;
      }
      // Written or, after an error, never to be written: off the count either way.
      self->queued_.fetch_sub(size, std::memory_order_relaxed);
      self->write_offset_ += size;
      if (self->write_offset_ == self->in_flight_bytes_) {
        self->in_flight_.clear();
        self->in_flight_bytes_ = 0;
        self->write_offset_ = 0;
      }
      if (ec) {
        auto err = from_asio(ec, "write");
        if (!self->retry_encrypted(err)) self->fail(err);
        return;
      }
      if (self->drain_mark_ != 0
          && self->queued_.load(std::memory_order_relaxed) < self->drain_mark_) {
        self->drain_mark_ = 0;
        if (self->cb_.on_drained) self->cb_.on_drained();
      }
      self->do_write();
    }));
}

void tcp_connection::close() {
  asio::post(strand_, [self = shared_from_this()] {
    self->fail({errc::cancelled, "closed"});
  });
}

void tcp_connection::fail(error err) {
  if (closed_) return;
  closed_ = true;
  closed_with_ = err;
  connecting_ = false;
  asio::error_code ignored;
  deadline_.cancel();
  read_throttle_.cancel();
  write_throttle_.cancel();
  resolver_.cancel();
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  // Nothing queued will be written now, the write in flight included (its
  // buffers live on until it completes): whoever waits for the queue to
  // drain must see it empty by the time on_closed runs.
  auto dropped = std::exchange(in_flight_bytes_, 0) - std::exchange(write_offset_, 0);
  if (!writing_) in_flight_.clear();
  for (auto& b : write_queue_) dropped += b.size();
  write_queue_.clear();
  queued_.fetch_sub(dropped, std::memory_order_relaxed);
  auto cb = std::move(cb_);
  cb_ = {};
  if (cb.on_closed) cb.on_closed(std::move(err));
}

} // namespace actorrent
