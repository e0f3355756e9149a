#include "http_client.hpp"

#include <asio/bind_executor.hpp>
#include <asio/buffer.hpp>
#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/ssl.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/write.hpp>

#include "printable.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace actorrent {

namespace {

// Everything one exchange needs. Each pending handler holds a shared_ptr to
// it, so it lives exactly as long as some operation can still complete.
// For https the bytes go through `tls_`, a TLS stream over `socket_`.
class http_exchange : public std::enable_shared_from_this<http_exchange> {
public:
  http_exchange(asio::io_context& io, url u, std::string request, std::size_t max_response,
                std::shared_ptr<asio::ssl::context> tls_context,
                std::function<void(result<http_response>)> done)
    : strand_(asio::make_strand(io)),
      resolver_(strand_),
      socket_(strand_),
      deadline_(strand_),
      url_(std::move(u)),
      request_(std::move(request)),
      parser_(max_response),
      tls_context_(std::move(tls_context)),
      done_(std::move(done)) {
    if (tls_context_) tls_.emplace(socket_, *tls_context_);
  }

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
        if (self->tls_)
          self->handshake();
        else
          self->write();
      }));
  }

  // The server must show a certificate that chains to a trusted CA and
  // names the host of the URL (DNS name, or IP address in the SAN); the
  // name also goes out as SNI (not for IP addresses, RFC 6066).
  void handshake() {
    SSL* ssl = tls_->native_handle();
    asio::error_code ec;
    auto ip = asio::ip::make_address(url_.host, ec);
    bool named = false;
    if (!ec)
      named = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ip.to_string().c_str()) == 1;
    else
      named = SSL_set1_host(ssl, url_.host.c_str()) == 1 &&
              SSL_set_tlsext_host_name(ssl, url_.host.c_str()) == 1;
    if (!named) {
      finish(error{errc::tracker_http, "TLS with " + where() + ": cannot set the name to verify"});
      return;
    }
    SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
    tls_->async_handshake(
      asio::ssl::stream_base::client,
      asio::bind_executor(strand_, [self = shared_from_this()](const asio::error_code& hec) {
        if (self->finished_) return;
        if (hec) {
          self->finish(error{errc::tracker_http, "TLS handshake with " + self->where() + " failed: " +
                                                   self->tls_failure(hec)});
          return;
        }
        self->write();
      }));
  }

  // Why a handshake failed, in words: the certificate check's verdict when
  // it was the certificate ("certificate verify failed: IP address
  // mismatch"), else the TLS error.
  std::string tls_failure(const asio::error_code& ec) {
    long verdict = SSL_get_verify_result(tls_->native_handle());
    std::string out = ec.message();
    if (verdict != X509_V_OK) out += std::string(": ") + X509_verify_cert_error_string(verdict);
    return out;
  }

  void write() {
    auto on_written = asio::bind_executor(strand_, [self = shared_from_this()](const asio::error_code& ec,
                                                                               std::size_t) {
        if (self->finished_) return;
        if (ec) {
          self->finish(error{errc::tracker_http, "send to " + self->where() + ": " + ec.message()});
          return;
        }
        self->read();
      });
    if (tls_)
      asio::async_write(*tls_, asio::buffer(request_), std::move(on_written));
    else
      asio::async_write(socket_, asio::buffer(request_), std::move(on_written));
  }

  void read() {
    auto on_read = asio::bind_executor(strand_, [self = shared_from_this()](const asio::error_code& ec,
                                                                            std::size_t n) {
        if (self->finished_) return;
        using st = http_response_parser::state;
        st s = st::need_more;
        if (n > 0) s = self->parser_.feed(std::string_view(self->buf_.data(), n));
        // Many servers close TLS without close_notify; the parser still
        // refuses a response cut short of its Content-Length or last chunk.
        bool closed = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
        if (s == st::need_more && closed) s = self->parser_.finish();
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
      });
    if (tls_)
      tls_->async_read_some(asio::buffer(buf_), std::move(on_read));
    else
      socket_.async_read_some(asio::buffer(buf_), std::move(on_read));
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
  std::shared_ptr<asio::ssl::context> tls_context_;
  std::optional<asio::ssl::stream<asio::ip::tcp::socket&>> tls_;
  std::function<void(result<http_response>)> done_;
  std::array<char, 16 * 1024> buf_{};
  bool finished_ = false;
};

} // namespace

// Trusts the system's CA store (OpenSSL's default paths) and, when given,
// the CA file; TLS 1.2 at least.
result<std::shared_ptr<asio::ssl::context>> make_http_tls_context(const http_tls_options& opts) {
  std::shared_ptr<asio::ssl::context> ctx;
  try {
    ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  } catch (const asio::system_error& e) {
    return error{errc::tracker_http, std::string("cannot set up TLS: ") + e.what()};
  }
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  asio::error_code ec;
  ctx->set_default_verify_paths(ec);
  if (ec) return error{errc::tracker_http, "cannot load the system's CA certificates: " + ec.message()};
  if (!opts.ca_file.empty()) {
    ctx->load_verify_file(opts.ca_file, ec);
    if (ec) return error{errc::tracker_http, "tracker CA file " + opts.ca_file + ": " + ec.message()};
  }
  return ctx;
}

namespace {

bool is_redirect(int status) noexcept {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// What every exchange of one http_get shares: the redirects it follows
// all count against `deadline`.
struct get_chain {
  asio::io_context& io;
  std::string user_agent;
  std::chrono::steady_clock::time_point deadline;
  std::chrono::milliseconds budget;
  std::size_t max_response;
  http_tls_options tls;
  std::shared_ptr<asio::ssl::context> tls_context;  // made at the first https:// exchange
  std::function<void(result<http_response>)> done;
};


void get_following(std::shared_ptr<get_chain> chain, url u, int redirects) {
  using std::chrono::milliseconds;
  if (u.scheme != "http" && u.scheme != "https") {
    chain->done(error{errc::invalid_argument, "unsupported tracker scheme '" + u.scheme + "'"});
    return;
  }
  if (u.scheme == "https" && !chain->tls_context) {
    auto ctx = make_http_tls_context(chain->tls);
    if (!ctx) {
      chain->done(ctx.err());
      return;
    }
    chain->tls_context = std::move(*ctx);
  }
  auto left = std::chrono::duration_cast<milliseconds>(chain->deadline - std::chrono::steady_clock::now());
  left = std::max(left, milliseconds{1});
  auto request = build_http_get(u, chain->user_agent);
  auto tls_context = u.scheme == "https" ? chain->tls_context : nullptr;
  auto on_done = [chain, u, redirects](result<http_response> r) {
    const std::string* location = r && is_redirect(r->status) ? r->header("Location") : nullptr;
    // A redirect without a target stays a response; its status speaks.
    if (location == nullptr) {
      chain->done(std::move(r));
      return;
    }
    if (redirects >= max_http_redirects) {
      chain->done(error{errc::tracker_http, "redirect loop: more than " +
                                              std::to_string(max_http_redirects) +
                                              " redirects, the last to " + printable(*location)});
      return;
    }
    auto next = resolve_location(u, *location);
    if (!next) {
      chain->done(error{errc::tracker_http,
                        "bad redirect to " + printable(*location) + ": " + next.err().message});
      return;
    }
    if (u.scheme == "https" && next->scheme != "https") {
      chain->done(error{errc::tracker_http,
                        "refused redirect from https to plain " + printable(to_string(*next))});
      return;
    }
    get_following(chain, std::move(*next), redirects + 1);
  };
  auto ex = std::make_shared<http_exchange>(chain->io, std::move(u), std::move(request),
                                            chain->max_response, std::move(tls_context),
                                            std::move(on_done));
  ex->start(left, chain->budget);
}

} // namespace

void http_get(asio::io_context& io, const url& u, std::string_view user_agent,
              std::chrono::milliseconds timeout, std::size_t max_response,
              std::function<void(result<http_response>)> done, const http_tls_options& tls) {
  auto chain = std::make_shared<get_chain>(get_chain{io, std::string(user_agent),
                                                     std::chrono::steady_clock::now() + timeout, timeout,
                                                     max_response, tls, nullptr, std::move(done)});
  // Even a URL refused at once is answered through the io_context, so
  // callers can rely on `done` never running inside this call.
  asio::post(io, [chain, u] { get_following(chain, u, 0); });
}

} // namespace actorrent
