#include "web_seed_connection.hpp"

#include <asio/bind_executor.hpp>
#include <asio/buffer.hpp>
#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/ssl.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/write.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

namespace actorrent {

namespace {

class connection_impl : public web_seed_connection,
                        public std::enable_shared_from_this<connection_impl> {
  using deadline_clock = asio::steady_timer::clock_type;

public:
  connection_impl(asio::io_context& io, url origin, std::shared_ptr<asio::ssl::context> tls,
                  std::size_t max_in_flight, std::chrono::milliseconds timeout, rate_limiters down)
    : strand_(asio::make_strand(io)),
      resolver_(strand_),
      socket_(strand_),
      deadline_(strand_),
      throttle_(strand_),
      origin_(std::move(origin)),
      tls_context_(std::move(tls)),
      max_in_flight_(std::max<std::size_t>(1, max_in_flight)),
      timeout_(timeout),
      down_(std::move(down)) {
    if (tls_context_) tls_.emplace(socket_, *tls_context_);
  }

  void send(std::string request, std::size_t max_response, callback done) override {
    asio::post(strand_, [self = shared_from_this(), request = std::move(request), max_response,
                         done = std::move(done)]() mutable {
      self->enqueue({std::move(request), max_response, std::move(done)});
    });
  }

  void close() override {
    asio::post(strand_, [self = shared_from_this()] {
      self->end(error{errc::cancelled, "connection closed"}, true);
    });
  }

private:
  struct pending {
    std::string request;
    std::size_t max_response = 0;
    callback done;
  };

  std::string where() const { return peer_endpoint{origin_.host, origin_.port}.to_string(); }

  void enqueue(pending p) {
    if (ended_) {
      // What ended the connection answers a request that came too late for
      // it, so that a refused connection refuses every request sent on it,
      // however the requests and the failure interleave on the strand.
      p.done(ended_with_);
      return;
    }
    queued_.push_back(std::move(p));
    if (!started_) {
      started_ = true;
      arm_deadline();
      open();
      return;
    }
    pump();
  }

  void arm_deadline() { arm_deadline_for(timeout_); }

  // While a read waits for tokens the clock is stopped: it starts with
  // what is left once the tokens come.
  void arm_deadline_for(deadline_clock::duration left) {
    if (throttled_) {
      deadline_left_ = left;
      return;
    }
    deadline_left_.reset();
    deadline_armed_ = true;
    auto generation = ++deadline_generation_;
    deadline_.expires_after(left);
    deadline_.async_wait(asio::bind_executor(strand_, [self = shared_from_this(), generation](
                                                        const asio::error_code& ec) {
      // Re-armed, paused or cancelled since (possibly after it fired).
      if (ec || self->ended_ || generation != self->deadline_generation_ || !self->deadline_armed_) return;
      self->end(error{errc::timeout, "web seed " + self->where() + " did not answer within " +
                                       std::to_string(self->timeout_.count()) + " ms"},
                false);
    }));
  }

  void cancel_deadline() {
    deadline_armed_ = false;
    deadline_left_.reset();
    ++deadline_generation_;
    deadline_.cancel();
  }

  void pause_deadline() {
    if (!deadline_armed_) return;
    auto left = std::max(deadline_.expiry() - deadline_clock::now(), deadline_clock::duration::zero());
    cancel_deadline();
    deadline_left_ = left;
  }

  void resume_deadline() {
    if (!deadline_left_) return;
    auto left = *deadline_left_;
    arm_deadline_for(left);
  }

  void open() {
    asio::error_code ec;
    auto addr = asio::ip::make_address(origin_.host, ec);
    if (!ec) {
      std::vector<asio::ip::tcp::endpoint> eps{{addr, origin_.port}};
      connect(eps);
      return;
    }
    resolver_.async_resolve(origin_.host, std::to_string(origin_.port),
                            asio::bind_executor(strand_, [self = shared_from_this()](
                                                           const asio::error_code& rec,
                                                           asio::ip::tcp::resolver::results_type r) {
                              if (self->ended_) return;
                              if (rec) {
                                self->end(error{errc::io_error, "resolve " + self->origin_.host + ": " +
                                                                  rec.message()},
                                          false);
                                return;
                              }
                              self->connect(r);
                            }));
  }

  template <class Endpoints>
  void connect(const Endpoints& eps) {
    asio::async_connect(socket_, eps,
                        asio::bind_executor(strand_, [self = shared_from_this()](
                                                       const asio::error_code& ec,
                                                       const asio::ip::tcp::endpoint&) {
                          if (self->ended_) return;
                          if (ec) {
                            self->end(error{errc::io_error, "connect to " + self->where() + ": " +
                                                              ec.message()},
                                      false);
                            return;
                          }
                          if (self->tls_)
                            self->handshake();
                          else
                            self->on_open();
                        }));
  }

  // As for trackers: the certificate must chain to a trusted CA and name
  // the host (DNS name, also sent as SNI, or IP address).
  void handshake() {
    SSL* ssl = tls_->native_handle();
    asio::error_code ec;
    auto ip = asio::ip::make_address(origin_.host, ec);
    bool named = !ec ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ip.to_string().c_str()) == 1
                     : SSL_set1_host(ssl, origin_.host.c_str()) == 1 &&
                         SSL_set_tlsext_host_name(ssl, origin_.host.c_str()) == 1;
    if (!named) {
      end(error{errc::io_error, "TLS with " + where() + ": cannot set the name to verify"}, false);
      return;
    }
    SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
    tls_->async_handshake(asio::ssl::stream_base::client,
                          asio::bind_executor(strand_, [self = shared_from_this()](const asio::error_code& hec) {
                            if (self->ended_) return;
                            if (hec) {
                              // The certificate check's verdict in words, when it was that.
                              std::string why = hec.message();
                              long verdict = SSL_get_verify_result(self->tls_->native_handle());
                              if (verdict != X509_V_OK)
                                why += std::string(": ") + X509_verify_cert_error_string(verdict);
                              self->end(error{errc::io_error, "TLS handshake with " + self->where() +
                                                                " failed: " + why},
                                        false);
                              return;
                            }
                            self->on_open();
                          }));
  }

  void on_open() {
    open_ = true;
    read();
    pump();
  }

  // Sends queued requests while fewer than max_in_flight await responses;
  // one write at a time.
  void pump() {
    if (!open_ || ended_ || writing_ || queued_.empty() || in_flight_.size() >= max_in_flight_) return;
    in_flight_.push_back(std::move(queued_.front()));
    queued_.pop_front();
    if (in_flight_.size() == 1) begin_head();
    writing_ = true;
    auto on_written = asio::bind_executor(strand_, [self = shared_from_this()](const asio::error_code& ec,
                                                                               std::size_t) {
      self->writing_ = false;
      if (self->ended_) return;
      if (ec) {
        self->end(error{errc::io_error, "send to " + self->where() + ": " + ec.message()}, true);
        return;
      }
      self->pump();
    });
    // The bytes live here until the write completes, whatever happens to
    // the request meanwhile.
    out_ = in_flight_.back().request;
    if (tls_)
      asio::async_write(*tls_, asio::buffer(out_), std::move(on_written));
    else
      asio::async_write(socket_, asio::buffer(out_), std::move(on_written));
  }

  // The oldest request in flight is the one whose response comes next.
  void begin_head() {
    parser_.emplace(in_flight_.front().max_response);
    head_fed_ = 0;
    arm_deadline();
  }

  void read() {
    if (ended_ || throttled_) return;
    std::size_t size = buf_.size();
    std::size_t granted = 0;
    if (in_flight_.empty()) {
      // Nothing is expected: one byte shows a close (or bytes nobody asked
      // for), and an idle connection holds no tokens that others could use.
      size = 1;
    } else if (!down_.empty()) {
      auto now = rate_limiter::clock::now();
      granted = size = take_all(down_, buf_.size(), now);
      if (size == 0) {
        throttle(wait_for_all(down_, buf_.size(), now));
        return;
      }
    }
    auto on_read = asio::bind_executor(strand_, [self = shared_from_this(), granted](
                                                  const asio::error_code& ec, std::size_t n) {
      // The socket had fewer bytes than were granted: the rest is not spent.
      give_back_all(self->down_, granted - std::min(granted, n));
      if (self->ended_) return;
      if (n > 0 && !self->take(std::string_view(self->buf_.data(), n))) return;
      if (ec) {
        bool closed = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
        if (closed && self->parser_ && self->head_fed_ > 0) {
          // A response cut short is a failure of the server, not a close
          // between responses.
          if (self->parser_->finish() == http_response_parser::state::done) {
            self->deliver();
            if (self->ended_) return;
          } else {
            self->end(error{errc::io_error, "from web seed " + self->where() + ": " +
                                              self->parser_->failure().message},
                      false);
            return;
          }
        }
        // A server may close a kept-alive connection whenever it likes;
        // what it did not answer may go out again.
        self->end(error{errc::io_error, "web seed " + self->where() + " closed the connection" +
                                          (closed ? std::string() : ": " + ec.message())},
                  closed);
        return;
      }
      self->read();
    });
    if (tls_)
      tls_->async_read_some(asio::buffer(buf_.data(), size), std::move(on_read));
    else
      socket_.async_read_some(asio::buffer(buf_.data(), size), std::move(on_read));
  }

  // Waits for the buckets; the server is not charged for the wait.
  void throttle(std::chrono::nanoseconds wait) {
    pause_deadline();
    throttled_ = true;
    // At least a millisecond: waking sooner only finds the buckets empty again.
    throttle_.expires_after(std::max<std::chrono::nanoseconds>(wait, std::chrono::milliseconds(1)));
    throttle_.async_wait(asio::bind_executor(strand_, [self = shared_from_this()](const asio::error_code& ec) {
      self->throttled_ = false;
      if (ec || self->ended_) return;
      self->resume_deadline();
      self->read();
    }));
  }

  // Feeds bytes to the response at the head; false when the connection ended.
  bool take(std::string_view bytes) {
    std::string rest(bytes);
    while (!rest.empty()) {
      if (!parser_) {
        end(error{errc::io_error, "web seed " + where() + " sent bytes nobody asked for"}, false);
        return false;
      }
      head_fed_ += rest.size();
      auto s = parser_->feed(rest);
      rest.clear();
      if (s == http_response_parser::state::failed) {
        auto err = parser_->failure();
        end(error{errc::io_error, "from web seed " + where() + ": " + err.message}, false);
        return false;
      }
      if (s == http_response_parser::state::need_more) return true;
      rest = parser_->take_leftover();
      deliver();
      if (ended_) return false;
    }
    return true;
  }

  // The head's response is complete: hand it over, and go on with the next.
  void deliver() {
    auto resp = parser_->take_response();
    parser_.reset();
    auto p = std::move(in_flight_.front());
    in_flight_.pop_front();
    ++answered_;
    const std::string* conn = resp.header("Connection");
    bool closing = conn != nullptr && conn->find("close") != std::string::npos;
    p.done(std::move(resp));
    if (closing) {
      end(error{errc::io_error, "web seed " + where() + " closed the connection"}, true);
      return;
    }
    if (!in_flight_.empty())
      begin_head();
    else
      cancel_deadline();
    pump();
  }

  // Finishes the connection. Unanswered requests get `why`, or
  // errc::cancelled (send again at no cost) when `retry` is allowed and the
  // connection answered at least one request (or was never asked to open).
  void end(error why, bool retry) {
    if (ended_) return;
    ended_ = true;
    open_ = false;
    asio::error_code ignored;
    cancel_deadline();
    throttle_.cancel();
    resolver_.cancel();
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    bool free = why.code == errc::cancelled || (retry && answered_ > 0);
    error given = free ? error{errc::cancelled, why.message} : why;
    ended_with_ = given;
    auto all = std::move(in_flight_);
    for (auto& q : queued_) all.push_back(std::move(q));
    queued_.clear();
    for (auto& p : all) p.done(given);
  }

  asio::strand<asio::io_context::executor_type> strand_;
  asio::ip::tcp::resolver resolver_;
  asio::ip::tcp::socket socket_;
  asio::steady_timer deadline_;
  asio::steady_timer throttle_;
  url origin_;
  std::shared_ptr<asio::ssl::context> tls_context_;
  std::optional<asio::ssl::stream<asio::ip::tcp::socket&>> tls_;
  std::size_t max_in_flight_;
  std::chrono::milliseconds timeout_;
  rate_limiters down_;
  bool throttled_ = false;  // a read waits for tokens
  bool deadline_armed_ = false;
  std::uint64_t deadline_generation_ = 0;
  std::optional<deadline_clock::duration> deadline_left_;  // paused while throttled
  std::deque<pending> queued_, in_flight_;
  std::optional<http_response_parser> parser_;
  std::string out_;
  std::array<char, 64 * 1024> buf_{};
  std::size_t answered_ = 0;
  std::size_t head_fed_ = 0;  // bytes of the head response seen so far
  bool started_ = false, open_ = false, writing_ = false, ended_ = false;
  error ended_with_;
};

} // namespace

std::shared_ptr<web_seed_connection> web_seed_connection::create(asio::io_context& io, url origin,
                                                                 std::shared_ptr<asio::ssl::context> tls,
                                                                 std::size_t max_in_flight,
                                                                 std::chrono::milliseconds timeout,
                                                                 rate_limiters down) {
  return std::make_shared<connection_impl>(io, std::move(origin), std::move(tls), max_in_flight, timeout,
                                           std::move(down));
}

} // namespace actorrent
