#include "http_server.hpp"

#include "log.hpp"

#include <asio/post.hpp>
#include <asio/write.hpp>

#include <algorithm>
#include <array>

namespace actorrent {

namespace {

using namespace std::chrono_literals;

bool is_loopback(const asio::ip::address& a) {
  if (a.is_v4()) return (a.to_v4().to_uint() >> 24) == 127;
  if (a.is_v6()) {
    auto v6 = a.to_v6();
    if (v6.is_v4_mapped()) return (asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_uint() >> 24) == 127;
    return v6.is_loopback();
  }
  return false;
}

} // namespace

bool is_loopback_address(const std::string& address) {
  asio::error_code ec;
  auto a = asio::ip::make_address(address, ec);
  return !ec && is_loopback(a);
}

// One client. Reads until a request is complete, hands it to the handler,
// writes the answer, then goes on with the next request or closes. Every
// member is touched on the io thread only; answers arrive through the gate.
class http_server::connection : public std::enable_shared_from_this<connection> {
public:
  connection(std::shared_ptr<http_server> server, asio::ip::tcp::socket socket)
    : server_(std::move(server)),
      socket_(std::move(socket)),
      deadline_(server_->io_),
      parser_(server_->opts_.limits) {}

  ~connection() { --server_->open_; }

  void start() {
    arm_deadline();
    do_read();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    asio::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    deadline_.cancel();
  }

private:
  void arm_deadline() {
    deadline_.expires_after(server_->opts_.idle_timeout);
    deadline_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
      if (!ec) self->close();
    });
  }

  void do_read() {
    if (closed_) return;
    socket_.async_read_some(asio::buffer(buf_),
                            [self = shared_from_this()](const asio::error_code& ec, std::size_t n) {
                              if (ec || self->closed_) return self->close();
                              self->arm_deadline();
                              self->parser_.feed(std::string_view(self->buf_.data(), n));
                              self->step();
                            });
  }

  // Acts on what the parser has: read more, answer an error, or serve.
  void step() {
    switch (parser_.current()) {
      case http_request_parser::state::need_more:
        do_read();
        return;
      case http_request_parser::state::failed: {
        // After a malformed request the stream cannot be trusted: answer
        // and close.
        keep_alive_ = false;
        head_only_ = false;
        write(json_error(parser_.failure_status(), parser_.failure_reason()));
        return;
      }
      case http_request_parser::state::done:
        break;
    }
    auto req = parser_.take_request();
    keep_alive_ = req.keep_alive();
    head_only_ = req.method == "HEAD";
    std::weak_ptr<connection> weak = shared_from_this();
    auto gate = server_->gate_;
    auto answered = std::make_shared<std::atomic<bool>>(false);
    respond_fn respond = [weak, gate, answered](http_reply r) {
      if (answered->exchange(true)) return;
      std::lock_guard<std::mutex> lock(gate->mutex);
      if (!gate->io) return;
      asio::post(*gate->io, [weak, r = std::move(r)]() mutable {
        if (auto self = weak.lock()) self->write(std::move(r));
      });
    };
    server_->on_request_(std::move(req), std::move(respond));
  }

  void write(http_reply r) {
    if (closed_) return;
    arm_deadline();
    out_ = format_http_reply(r, head_only_, keep_alive_);
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this()](const asio::error_code& ec, std::size_t) {
                        if (ec) return self->close();
                        if (!self->keep_alive_) return self->linger_close();
                        self->parser_.next();
                        self->step();
                      });
  }

  // Closing a socket with unread input makes the kernel send a reset, which
  // can destroy the answer before the client reads it (a 413 for a body
  // still arriving). So: end our side, then read and drop what still comes,
  // for a little while and up to a bound, before closing.
  void linger_close() {
    if (closed_) return;
    asio::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    deadline_.expires_after(std::min<std::chrono::milliseconds>(server_->opts_.idle_timeout, 2s));
    deadline_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
      if (!ec) self->close();
    });
    drain();
  }

  void drain() {
    socket_.async_read_some(asio::buffer(buf_),
                            [self = shared_from_this()](const asio::error_code& ec, std::size_t n) {
                              self->drained_ += n;
                              if (ec || self->closed_ || self->drained_ > max_drain)
                                return self->close();
                              self->drain();
                            });
  }

  static constexpr std::size_t max_drain = 1u << 20;

  std::shared_ptr<http_server> server_;
  asio::ip::tcp::socket socket_;
  asio::steady_timer deadline_;
  http_request_parser parser_;
  std::array<char, 4096> buf_{};
  std::string out_;
  bool keep_alive_ = true;
  bool head_only_ = false;
  bool closed_ = false;
  std::size_t drained_ = 0;
};

http_server::http_server(asio::io_context& io, asio::ip::tcp::acceptor acceptor, options opts,
                         handler on_request)
  : io_(io),
    acceptor_(std::move(acceptor)),
    opts_(std::move(opts)),
    on_request_(std::move(on_request)),
    backoff_(io),
    gate_(std::make_shared<gate>()) {
  asio::error_code ec;
  auto ep = acceptor_.local_endpoint(ec);
  port_ = ep.port();
  address_ = ep.address().to_string();
  loopback_ = is_loopback(ep.address());
  gate_->io = &io;
}

result<std::shared_ptr<http_server>> http_server::start(asio::io_context& io, options opts,
                                                        handler on_request) {
  asio::error_code ec;
  auto addr = asio::ip::make_address(opts.bind_address, ec);
  if (ec) return error{errc::invalid_argument, "bad address " + opts.bind_address};
  asio::ip::tcp::endpoint ep{addr, opts.port};
  auto where = opts.bind_address + ":" + std::to_string(opts.port);
  asio::ip::tcp::acceptor acceptor(io);
  if (acceptor.open(ep.protocol(), ec); ec)
    return error{errc::io_error, "cannot listen on " + where + ": " + ec.message()};
  acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (acceptor.bind(ep, ec); ec)
    return error{errc::io_error, "cannot listen on " + where + ": " + ec.message()};
  if (acceptor.listen(asio::socket_base::max_listen_connections, ec); ec)
    return error{errc::io_error, "cannot listen on " + where + ": " + ec.message()};
  auto s = std::make_shared<http_server>(io, std::move(acceptor), std::move(opts),
                                         std::move(on_request));
  asio::post(io, [s] { s->do_accept(); });
  return s;
}

void http_server::do_accept() {
  acceptor_.async_accept([self = shared_from_this()](const asio::error_code& ec,
                                                     asio::ip::tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
    if (ec) {
      // Out of descriptors, say: accepting again at once would fail at once.
      ACTORRENT_LOG(warning, "status page: accept failed: " << ec.message() << "; retrying in 0.5 s");
      self->backoff_.expires_after(500ms);
      self->backoff_.async_wait([self](const asio::error_code& tec) {
        if (!tec) self->do_accept();
      });
      return;
    }
    if (self->open_ >= self->opts_.max_connections) {
      asio::error_code ignored;
      socket.close(ignored);
    } else {
      ++self->open_;
      auto c = std::make_shared<connection>(self, std::move(socket));
      auto& list = self->connections_;
      list.erase(std::remove_if(list.begin(), list.end(), [](auto& w) { return w.expired(); }),
                 list.end());
      list.push_back(c);
      c->start();
    }
    self->do_accept();
  });
}

void http_server::stop() {
  {
    std::lock_guard<std::mutex> lock(gate_->mutex);
    gate_->io = nullptr;
  }
  asio::post(io_, [self = shared_from_this()] {
    asio::error_code ignored;
    self->acceptor_.close(ignored);
    self->backoff_.cancel();
    for (auto& w : self->connections_)
      if (auto c = w.lock()) c->close();
    self->connections_.clear();
  });
}

} // namespace actorrent
