#include "dht_socket.hpp"

#include "krpc.hpp"
#include "log.hpp"

#include <asio/bind_executor.hpp>
#include <asio/buffer.hpp>
#include <asio/ip/udp.hpp>
#include <asio/post.hpp>
#include <asio/strand.hpp>

#include <array>

namespace actorrent::dht {

struct udp_socket::impl : std::enable_shared_from_this<udp_socket::impl> {
  explicit impl(asio::io_context& io) : strand(asio::make_strand(io)), socket(strand) {}

  void receive() {
    socket.async_receive_from(
      asio::buffer(buf), sender,
      asio::bind_executor(strand, [self = shared_from_this()](const asio::error_code& ec, std::size_t n) {
        if (self->closed) return;
        if (ec) {
          // ICMP port unreachable and the like: one lost exchange, not the end.
          ACTORRENT_LOG(debug, "DHT socket: receive: " << ec.message());
        } else if (n <= krpc::max_datagram && self->sender.address().is_v4()) {
          self->on_datagram(endpoint{self->sender.address().to_v4().to_bytes(), self->sender.port()},
                            std::string(self->buf.data(), n));
        }
        if (!self->closed) self->receive();
      }));
  }

  asio::strand<asio::io_context::executor_type> strand;
  asio::ip::udp::socket socket;
  asio::ip::udp::endpoint sender;
  // One byte more than a datagram may have: a longer one is seen as such.
  std::array<char, krpc::max_datagram + 1> buf{};
  receiver on_datagram;
  bool closed = false;
};

result<std::shared_ptr<udp_socket>> udp_socket::open(asio::io_context& io, const std::string& address,
                                                     std::uint16_t port) {
  asio::error_code ec;
  auto addr = asio::ip::make_address_v4(address, ec);
  if (ec) return error{errc::invalid_argument, "DHT: not an IPv4 address: " + address};
  auto i = std::make_shared<impl>(io);
  i->socket.open(asio::ip::udp::v4(), ec);
  if (!ec) i->socket.bind({addr, port}, ec);
  if (ec)
    return error{errc::io_error, "DHT: cannot bind UDP " + address + ":" + std::to_string(port) + ": " + ec.message()};
  auto bound = i->socket.local_endpoint(ec).port();
  return std::shared_ptr<udp_socket>(new udp_socket(std::move(i), bound));
}

udp_socket::~udp_socket() { close(); }

void udp_socket::start(receiver on_datagram) {
  asio::post(impl_->strand, [i = impl_, r = std::move(on_datagram)]() mutable {
    if (i->closed) return;
    i->on_datagram = std::move(r);
    i->receive();
  });
}

void udp_socket::send(const endpoint& to, std::string bytes) {
  asio::post(impl_->strand, [i = impl_, to, bytes = std::move(bytes)]() mutable {
    if (i->closed) return;
    auto data = std::make_shared<std::string>(std::move(bytes));
    i->socket.async_send_to(asio::buffer(*data), asio::ip::udp::endpoint{asio::ip::address_v4(to.ip), to.port},
                            asio::bind_executor(i->strand, [data, to](const asio::error_code& ec, std::size_t) {
                              if (ec) ACTORRENT_LOG(debug, "DHT socket: send to " << to.to_string() << ": " << ec.message());
                            }));
  });
}

void udp_socket::close() {
  if (!impl_) return;
  asio::post(impl_->strand, [i = impl_] {
    if (i->closed) return;
    i->closed = true;
    i->on_datagram = nullptr;
    asio::error_code ignored;
    i->socket.close(ignored);
  });
}

} // namespace actorrent::dht
