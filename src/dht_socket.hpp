// The DHT's UDP socket on the network thread: one bound IPv4 socket, a
// receive loop handing each datagram (up to krpc::max_datagram bytes;
// longer ones are dropped) to a callback, and sends posted from any
// thread. The DHT actor owns one; the callback turns datagrams into
// messages to it.
#pragma once

#include "actorrent/error.hpp"
#include "dht_node_id.hpp"

#include <asio/io_context.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace actorrent::dht {

class udp_socket {
public:
  using receiver = std::function<void(const endpoint& from, std::string bytes)>;

  /// Binds `address:port` (port 0: any free one); nothing is read before
  /// start().
  static result<std::shared_ptr<udp_socket>> open(asio::io_context& io, const std::string& address,
                                                  std::uint16_t port);
  ~udp_socket();

  /// The port bound.
  std::uint16_t port() const noexcept { return port_; }
  /// Hands every datagram to `on_datagram`, on the network thread, until close().
  void start(receiver on_datagram);
  /// Sends one datagram; a failure is a lost datagram (logged at debug).
  void send(const endpoint& to, std::string bytes);
  /// Stops receiving and closes the socket; the receiver is not called after.
  void close();

  struct impl;

private:
  explicit udp_socket(std::shared_ptr<impl> i, std::uint16_t port) : impl_(std::move(i)), port_(port) {}
  std::shared_ptr<impl> impl_;
  std::uint16_t port_ = 0;
};

} // namespace actorrent::dht
