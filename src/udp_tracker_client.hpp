// UDP tracker exchanges (BEP 15) on the network thread: resolve the
// tracker, then carry out what udp_tracker_exchange decides with a UDP
// socket and a timer. Connection ids are kept tracker by tracker, so the
// announces and scrapes of one client within a minute connect only once.
#pragma once

#include "tracker_url.hpp"
#include "udp_tracker_exchange.hpp"

#include <asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>

namespace actorrent {

class udp_tracker_client {
public:
  using callback = std::function<void(result<udp_tracker_answer>)>;

  /// `io` must outlive every exchange started (they end by themselves,
  /// bounded by the timing's tries).
  explicit udp_tracker_client(asio::io_context& io, udp_tracker_timing timing = {});

  /// Runs one exchange with the udp:// tracker `u` (other schemes fail with
  /// errc::invalid_argument). `limit` bounds it besides the tries. `done`
  /// runs exactly once, on the network thread, never inside this call.
  /// Datagrams that are ignored (stray, garbled) and retransmissions are
  /// logged at info level. Exchanges may overlap; each has its own socket.
  void run(const url& u, udp_tracker_query query, std::optional<std::chrono::milliseconds> limit,
           callback done);

  const udp_tracker_timing& timing() const noexcept { return timing_; }

  struct shared;  // the strand and the connection ids, touched only on the strand

private:
  asio::io_context& io_;
  udp_tracker_timing timing_;
  std::shared_ptr<shared> shared_;
};

} // namespace actorrent
