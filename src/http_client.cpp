#include "http_client.hpp"

#include <asio/bind_executor.hpp>
#include <asio/buffer.hpp>
#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/write.hpp>

#include "printable.hpp"

#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace actorrent {

namespace {

// Everything one exchange needs. Each pending handler holds a shared_ptr to
// it, so it lives exactly as long as some operation can still complete.
class http_exchange : public std::enable_shared_from_this<http_exchange> {
public:
  http_exchange(asio::io_context& io, url u, std::string request, std::size_t max_response,
                std::function<void(result<http_response>)> done)
    : strand_(asio::make_strand(io)),
      resolver_(strand_),
      socket_(strand_),
      deadline_(strand_),
      url_(std::move(u)),
      request_(std::move(request)),
      parser_(max_response),
      done_(std::move(done)) {}

  /// `timeout` is what is left of `budget`, the bound on the whole chain of
  /// redirects (named in the message).
  void start(std::chrono::milliseconds timeout, std::chrono::milliseconds budget) {
    asio::post(strand_, [self = shared_from_this(), timeout, budget] { self->run(timeout, budget); });
  }

private:
  std::string where() const {
    return peer_endpoint{url_.host, url_.port}.to_string();
  }

  void run(std::chrono::milliseconds timeout, std::chrono::milliseconds budget) {
    deadline_.expires_after(timeout);
    deadline_.async_wait(asio::bind_executor(
      strand_, [self = shared_from_this(), budget](const asio::error_code& ec) {
        if (ec) return;  // cancelled: the exchange ended first
        self->finish(error{errc::timeout, "HTTP exchange with " + self->where() + " timed out after " +
                                            std::to_string(budget.count()) + " ms"});
      }));

    asio::error_code ec;
    auto addr = asio::ip::make_address(url_.host, ec);
    if (!ec) {
      std::vector<asio::ip::tcp::endpoint> eps{{addr, url_.port}};
      connect(eps);
      return;
    }
    resolver_.async_resolve(
      url_.host, std::to_string(url_.port),
      asio::bind_executor(strand_, [self = shared_from_this()](
                                     const asio::error_code& rec,
                                     asio::ip::tcp::resolver::results_type results) {
        if (self->finished_) return;
        if (rec) {
          self->finish(error{errc::tracker_http, "resolve " + self->url_.host + ": " + rec.message()});
          return;
        }
        self->connect(results);
      }));
  }

  template <class Endpoints>
  void connect(const Endpoints& eps) {
    asio::async_connect(
      socket_, eps,
      asio::bind_executor(strand_, [self = shared_from_this()](const asio::error_code& ec,
                                                               const asio::ip::tcp::endpoint&) {
        if (self->finished_) return;
        if (ec) {
          self->finish(error{errc::tracker_http, "connect to " + self->where() + ": " + ec.message()});
          return;
        }
        self->write();
      }));
  }

  void write() {
    asio::async_write(
      socket_, asio::buffer(request_),
      asio::bind_executor(strand_, [self = shared_from_this()](const asio::error_code& ec,
                                                               std::size_t) {
        if (self->finished_) return;
        if (ec) {
          self->finish(error{errc::tracker_http, "send to " + self->where() + ": " + ec.message()});
          return;
        }
        self->read();
      }));
  }

  void read() {
    socket_.async_read_some(
      asio::buffer(buf_),
      asio::bind_executor(strand_, [self = shared_from_this()](const asio::error_code& ec,
                                                               std::size_t n) {
        if (self->finished_) return;
        using st = http_response_parser::state;
        st s = st::need_more;
        if (n > 0) s = self->parser_.feed(std::string_view(self->buf_.data(), n));
        if (s == st::need_more && ec == asio::error::eof) s = self->parser_.finish();
        if (s == st::done) {
          self->finish(self->parser_.take_response());
          return;
        }
        if (s == st::failed) {
          auto err = self->parser_.failure();
          err.message = "from " + self->where() + ": " + err.message;
          self->finish(std::move(err));
          return;
        }
        if (ec) {
          self->finish(error{errc::tracker_http, "read from " + self->where() + ": " + ec.message()});
          return;
        }
        self->read();
      }));
  }

  void finish(result<http_response> r) {
    if (finished_) return;
    finished_ = true;
    asio::error_code ignored;
    deadline_.cancel();
    resolver_.cancel();
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    auto done = std::move(done_);
    done_ = nullptr;
    if (done) done(std::move(r));
  }

  asio::strand<asio::io_context::executor_type> strand_;
  asio::ip::tcp::resolver resolver_;
  asio::ip::tcp::socket socket_;
  asio::steady_timer deadline_;
  url url_;
  std::string request_;
  http_response_parser parser_;
  std::function<void(result<http_response>)> done_;
  std::array<char, 16 * 1024> buf_{};
  bool finished_ = false;
};

} // namespace

namespace {

bool is_redirect(int status) noexcept {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// One exchange of a chain of redirects, all of which share `deadline`.
void get_following(asio::io_context& io, url u, std::string user_agent,
                   std::chrono::steady_clock::time_point deadline, std::chrono::milliseconds budget,
                   std::size_t max_response, int redirects,
                   std::function<void(result<http_response>)> done) {
  using std::chrono::milliseconds;
  auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
  left = std::max(left, milliseconds{1});
  auto request = build_http_get(u, user_agent);
  auto on_done = [&io, u, user_agent = std::move(user_agent), deadline, budget, max_response, redirects,
                  done = std::move(done)](result<http_response> r) mutable {
    const std::string* location = r && is_redirect(r->status) ? r->header("Location") : nullptr;
    // A redirect without a target stays a response; its status speaks.
    if (location == nullptr) {
      done(std::move(r));
      return;
    }
    if (redirects >= max_http_redirects) {
      done(error{errc::tracker_http, "redirect loop: more than " + std::to_string(max_http_redirects) +
                                       " redirects, the last to " + printable(*location)});
      return;
    }
    auto next = resolve_location(u, *location);
    if (!next) {
      done(error{errc::tracker_http, "bad redirect to " + printable(*location) + ": " + next.err().message});
      return;
    }
    if (u.scheme == "https" && next->scheme != "https") {
      done(error{errc::tracker_http, "refused redirect from https to plain " + printable(to_string(*next))});
      return;
    }
    get_following(io, std::move(*next), std::move(user_agent), deadline, budget, max_response,
                  redirects + 1, std::move(done));
  };
  auto ex = std::make_shared<http_exchange>(io, std::move(u), std::move(request), max_response,
                                            std::move(on_done));
  ex->start(left, budget);
}

} // namespace

void http_get(asio::io_context& io, const url& u, std::string_view user_agent,
              std::chrono::milliseconds timeout, std::size_t max_response,
              std::function<void(result<http_response>)> done) {
  if (u.scheme != "http") {
    // Still through the io_context, so callers can rely on `done` never
    // running inside this call.
    asio::post(io, [done = std::move(done), scheme = u.scheme] {
      done(error{errc::invalid_argument, "unsupported tracker scheme '" + scheme + "'"});
    });
    return;
  }
  get_following(io, u, std::string(user_agent), std::chrono::steady_clock::now() + timeout, timeout,
                max_response, 0, std::move(done));
}

} // namespace actorrent
