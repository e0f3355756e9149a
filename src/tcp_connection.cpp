#include "tcp_connection.hpp"

#include <asio/bind_executor.hpp>
#include <asio/buffer.hpp>
#include <asio/connect.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include <string>

namespace actorrent {

namespace {

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
  if (!ec) conn->remote_ = {ep.address().to_string(), ep.port()};
  return conn;
}

peer_endpoint tcp_connection::remote() const { return remote_; }

void tcp_connection::connect(const peer_endpoint& remote, std::chrono::milliseconds timeout,
                             callbacks cb) {
  asio::post(strand_, [self = shared_from_this(), remote, timeout, cb = std::move(cb)]() mutable {
    self->cb_ = std::move(cb);
    self->remote_ = remote;
    if (self->closed_) return;
    self->deadline_.expires_after(timeout);
    self->deadline_.async_wait([self](const asio::error_code& ec) {
      if (!ec) self->fail({errc::timeout, "connect to " + self->remote_.to_string() + " timed out"});
    });
    auto on_connected = [self](const asio::error_code& ec, const asio::ip::tcp::endpoint&) {
      if (self->closed_) return;
      if (ec) {
        self->fail(from_asio(ec, ("connect to " + self->remote_.to_string()).c_str()));
        return;
      }
      self->deadline_.cancel();
      asio::error_code ignored;
      self->socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
      if (self->cb_.on_connected) self->cb_.on_connected();
      self->do_read();
    };
    asio::error_code ec;
    auto addr = asio::ip::make_address(remote.host, ec);
    if (!ec) {
      std::vector<asio::ip::tcp::endpoint> eps{{addr, remote.port}};
      asio::async_connect(self->socket_, eps, asio::bind_executor(self->strand_, on_connected));
      return;
    }
    self->resolver_.async_resolve(
      remote.host, std::to_string(remote.port),
      [self, on_connected](const asio::error_code& rec,
                           asio::ip::tcp::resolver::results_type results) {
        if (self->closed_) return;
        if (rec) {
          self->fail(from_asio(rec, ("resolve " + self->remote_.host).c_str()));
          return;
        }
        asio::async_connect(self->socket_, results,
                            asio::bind_executor(self->strand_, on_connected));
      });
  });
}

void tcp_connection::start(callbacks cb) {
  asio::post(strand_, [self = shared_from_this(), cb = std::move(cb)]() mutable {
    self->cb_ = std::move(cb);
    if (self->closed_) return;
    asio::error_code ignored;
    self->socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
    self->do_read();
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
      self->fail({errc::timeout, "no handshake from " + self->remote_.to_string()});
      cb(error{errc::timeout, "no handshake from " + self->remote_.to_string()});
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
  if (closed_ || reading_ || unacked_ >= opts_.max_unacked_chunks) return;
  reading_ = true;
  auto buf = std::make_shared<std::vector<std::uint8_t>>(opts_.read_chunk);
  socket_.async_read_some(
    asio::buffer(*buf),
    asio::bind_executor(strand_, [self = shared_from_this(), buf](const asio::error_code& ec,
                                                                  std::size_t n) {
      self->reading_ = false;
      if (self->closed_) return;
      if (ec) {
        self->fail(from_asio(ec, "read"));
        return;
      }
      buf->resize(n);
      ++self->unacked_;
      if (self->cb_.on_data) self->cb_.on_data(std::move(*buf));
      self->do_read();
    }));
}

void tcp_connection::ack() {
  asio::post(strand_, [self = shared_from_this()] {
    if (self->unacked_ > 0) --self->unacked_;
    self->do_read();
  });
}

void tcp_connection::send(std::vector<std::uint8_t> bytes) {
  if (bytes.empty()) return;
  queued_.fetch_add(bytes.size(), std::memory_order_relaxed);
  asio::post(strand_, [self = shared_from_this(), bytes = std::move(bytes)]() mutable {
    if (self->closed_) return;
    self->write_queue_.push_back(std::move(bytes));
    if (self->in_flight_.empty()) self->do_write();
  });
}

void tcp_connection::do_write() {
  if (closed_ || write_queue_.empty()) return;
  std::vector<asio::const_buffer> buffers;
  // Gather what is queued into one write: fewer syscalls for many small messages.
  while (!write_queue_.empty() && in_flight_.size() < 64) {
    in_flight_.push_back(std::move(write_queue_.front()));
    write_queue_.pop_front();
  }
  buffers.reserve(in_flight_.size());
  for (auto& b : in_flight_) buffers.emplace_back(asio::buffer(b));
  asio::async_write(
    socket_, buffers,
    asio::bind_executor(strand_, [self = shared_from_this()](const asio::error_code& ec,
                                                             std::size_t n) {
      self->queued_.fetch_sub(n, std::memory_order_relaxed);
      self->in_flight_.clear();
      if (self->closed_) return;
      if (ec) {
        self->fail(from_asio(ec, "write"));
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
  asio::error_code ignored;
  deadline_.cancel();
  resolver_.cancel();
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  write_queue_.clear();
  auto cb = std::move(cb_);
  cb_ = {};
  if (cb.on_closed) cb.on_closed(std::move(err));
}

} // namespace actorrent
