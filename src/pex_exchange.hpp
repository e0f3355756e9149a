// Peer exchange with one remote peer (BEP 11): when to tell it which peers
// we are connected to, what it has already been told, and how much of what
// it tells us is taken.
//
// Sending: the first message goes out soon after both extension handshakes,
// then at most one a minute, each with at most 50 added and 50 dropped
// peers (the rest follows in the next one). Receiving: messages closer
// together than the BEP allows are ignored, at most a bounded number of
// addresses is taken per message and over the connection's life, and
// addresses that cannot be peers (unspecified, multicast, broadcast, port
// 0, ourselves) are dropped.
//
// Not thread-safe; owned by one connection's peer_protocol. Time is passed in.
#pragma once

#include "actorrent/error.hpp"
#include "pex_message.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <vector>

namespace actorrent {

struct pex_config {
  /// The first message, after the extension handshakes.
  std::chrono::milliseconds first_delay{3'000};
  /// Between two messages we send (BEP 11: at most one a minute).
  std::chrono::milliseconds interval{60'000};
  std::size_t max_added = 50;
  std::size_t max_dropped = 50;
  /// A message from the remote sooner than this after the last one taken is
  /// ignored (a minute, with slack for the sender's timer).
  std::chrono::milliseconds min_receive_interval{45'000};
  /// Addresses taken from one message, and from one connection in all.
  std::size_t max_taken_per_message = 50;
  std::size_t max_taken_total = 500;
};

class pex_exchange {
public:
  using time_point = std::chrono::steady_clock::time_point;

  explicit pex_exchange(pex_config cfg = {}) : cfg_(cfg) {}

  /// Both sides speak ut_pex: the first message is due after first_delay.
  /// Calling it again (a repeated extension handshake) changes nothing.
  void start(time_point now);
  bool started() const noexcept { return started_; }
  /// Whether a message is due now; when it is, the next one is due one
  /// interval later (whether or not this one has anything to say).
  bool take_due(time_point now) noexcept;

  /// The payload to send, given the peers we are connected to (the remote
  /// itself left out by the caller); nothing when the remote knows them all
  /// already. At most max_added and max_dropped entries; the rest waits.
  std::optional<std::vector<std::uint8_t>> make_message(const std::vector<pex_peer>& connected);

  /// An address of ours: entries naming it are not taken.
  void add_own_address(const peer_endpoint& p);

  /// A message from the remote: the addresses to learn (maybe none), or
  /// an error when it is malformed.
  result<std::vector<peer_endpoint>> on_message(std::span<const std::uint8_t> payload,
                                                time_point now);

  /// Messages ignored for coming too soon.
  std::size_t too_soon() const noexcept { return too_soon_; }
  /// Addresses taken so far.
  std::size_t taken() const noexcept { return taken_; }

private:
  pex_config cfg_;
  bool started_ = false;
  time_point next_send_{};
  std::map<peer_endpoint, std::uint8_t> told_;  // what the remote has from us, with flags
  std::vector<peer_endpoint> own_;
  bool received_any_ = false;
  time_point last_taken_{};
  std::size_t too_soon_ = 0;
  std::size_t taken_ = 0;
};

} // namespace actorrent
