#include "listener.hpp"

#include "handshake.hpp"
#include "log.hpp"

#include <asio/ip/v6_only.hpp>
#include <asio/post.hpp>

namespace actorrent {

listener::listener(asio::io_context& io, asio::ip::tcp::acceptor acceptor,
                   accept_handler on_accept, std::chrono::milliseconds handshake_timeout,
                   tcp_connection::incoming_encryption encryption)
  : io_(io),
    acceptor_(std::move(acceptor)),
    on_accept_(std::move(on_accept)),
    handshake_timeout_(handshake_timeout),
    encryption_(std::move(encryption)),
    backoff_(io) {
  asio::error_code ec;
  port_ = acceptor_.local_endpoint(ec).port();
}

result<std::shared_ptr<listener>> listener::open(asio::io_context& io, const std::string& address,
                                                 std::uint16_t port, accept_handler on_accept,
                                                 std::chrono::milliseconds handshake_timeout,
                                                 tcp_connection::incoming_encryption encryption) {
  asio::error_code ec;
  auto addr = asio::ip::make_address(address, ec);
  if (ec) return error{errc::invalid_argument, "bad listen address " + address};
  asio::ip::tcp::endpoint ep{addr, port};
  asio::ip::tcp::acceptor acceptor(io);
  auto where = address + ":" + std::to_string(port);
  if (acceptor.open(ep.protocol(), ec); ec)
    return error{errc::io_error, "cannot listen on " + where + ": " + ec.message()};
  acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  // "::" takes IPv4 connections too (as ::ffff:a.b.c.d), whatever the
  // system's default; a specific IPv6 address only its own.
  if (addr.is_v6() && addr.is_unspecified()) acceptor.set_option(asio::ip::v6_only(false), ec);
  if (acceptor.bind(ep, ec); ec)
    return error{errc::io_error, "cannot listen on " + where + ": " + ec.message()};
  if (acceptor.listen(asio::socket_base::max_listen_connections, ec); ec)
    return error{errc::io_error, "cannot listen on " + where + ": " + ec.message()};
  auto l = std::make_shared<listener>(io, std::move(acceptor), std::move(on_accept),
                                      handshake_timeout, std::move(encryption));
  asio::post(io, [l] { l->do_accept(); });
  return l;
}

void listener::do_accept() {
  acceptor_.async_accept([self = shared_from_this()](const asio::error_code& ec,
                                                     asio::ip::tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
    if (ec) {
      // Out of descriptors (or another transient failure): accepting again at
      // once would fail at once, in a loop. Wait a little instead.
      ACTORRENT_LOG(warning, "accept failed: " << ec.message() << "; retrying in 0.5 s");
      self->backoff_.expires_after(std::chrono::milliseconds(500));
      self->backoff_.async_wait([self](const asio::error_code& tec) {
        if (!tec) self->do_accept();
      });
      return;
    }
    if (self->pending_ >= max_pending_handshakes) {
      // Idle connections must not pile up until descriptors run out.
      asio::error_code ignored;
      socket.close(ignored);
    } else {
      ++self->pending_;
      auto conn = tcp_connection::adopt(std::move(socket), {});
      conn->accept_handshake(self->encryption_, self->handshake_timeout_,
                         [self, conn](result<std::vector<std::uint8_t>> hs) {
                           --self->pending_;
                           if (!hs) {
                             ACTORRENT_LOG(debug, "incoming connection dropped: "
                                                    << hs.err().to_string());
                             return;
                           }
                           self->on_accept_(conn, std::move(*hs));
                         });
    }
    self->do_accept();
  });
}

void listener::close() {
  asio::post(io_, [self = shared_from_this()] {
    asio::error_code ignored;
    self->acceptor_.close(ignored);
  });
}

} // namespace actorrent
