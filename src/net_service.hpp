// The network thread(s): one Asio io_context that every socket of a session
// runs on. Actors never touch sockets directly; they post to them, and socket
// handlers reach actors only by sending messages.
#pragma once

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <thread>
#include <vector>

namespace actorrent {

class net_service {
public:
  /// Starts `threads` threads running the io_context (1 is enough for
  /// loopback speeds: the work per byte is in the actors, not in Asio).
  explicit net_service(unsigned threads = 1);
  /// Stops the io_context and joins its threads.
  ~net_service();

  net_service(const net_service&) = delete;
  net_service& operator=(const net_service&) = delete;

  asio::io_context& io() noexcept { return io_; }

private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::vector<std::thread> threads_;
};

} // namespace actorrent
