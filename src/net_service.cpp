#include "net_service.hpp"

namespace actorrent {

net_service::net_service(unsigned threads)
  : io_(static_cast<int>(threads == 0 ? 1 : threads)),
    guard_(asio::make_work_guard(io_)) {
  for (unsigned i = 0; i < (threads == 0 ? 1 : threads); ++i)
    threads_.emplace_back([this] { io_.run(); });
}

net_service::~net_service() {
  guard_.reset();
  io_.stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

} // namespace actorrent
