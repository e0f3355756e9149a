// One exchange with a UDP tracker (BEP 15) as a plain state machine: connect
// (unless a connection id obtained less than a minute ago is at hand), then
// announce or scrape, retransmitting after 15 * 2^n seconds with n bounded,
// so an exchange always ends. Fed with the datagrams that arrive and the
// time; answers with what to do: send a datagram, wait until a time, or
// stop with a result. No sockets, no clock: the owner has both.
#pragma once

#include "udp_tracker_protocol.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace actorrent {

struct udp_tracker_timing {
  /// The first wait for a reply (BEP 15: 15 s); each retransmission doubles it.
  std::chrono::milliseconds retransmit_base{15'000};
  /// Retransmissions before the exchange fails: n runs from 0 to this, so
  /// with 3 an unanswered exchange ends after (1+2+4+8) x base = 225 s.
  unsigned max_retransmits = 3;
  /// How long a connection id may be used after the tracker gave it.
  std::chrono::milliseconds connection_lifetime{60'000};
};

/// A connection id and when the tracker gave it.
struct udp_connection_id {
  std::uint64_t id = 0;
  std::chrono::steady_clock::time_point obtained;
};

/// What to ask: an announce, or a scrape of some info-hashes.
using udp_tracker_query = std::variant<udp_tracker::announce_fields, std::vector<sha1_hash>>;
/// What the tracker answered.
using udp_tracker_answer = std::variant<udp_tracker::announce_reply, udp_tracker::scrape_reply>;

class udp_tracker_exchange {
public:
  using time_point = std::chrono::steady_clock::time_point;
  static constexpr time_point never = time_point::max();

  /// What the owner does now.
  struct step {
    /// Send these bytes to the tracker (empty: nothing to send).
    std::vector<std::uint8_t> send;
    /// Call on_timer() at this time unless a datagram comes first.
    time_point wake = never;
    /// The exchange is over: the tracker's answer, errc::tracker_failure
    /// when it refused (error action), errc::timeout when the tries ran out
    /// or the limit passed.
    std::optional<result<udp_tracker_answer>> done;
    /// A datagram was ignored: why, for the log.
    std::string ignored;
  };

  /// `tracker`: the address the datagrams go to, the only one whose replies
  /// count; `peers`: its family (the peers an announce reply carries).
  /// `cached`: a connection id from an earlier exchange with the same
  /// tracker. `limit`: a bound on the whole exchange besides the tries.
  /// `seed` picks the transaction ids (0: std::random_device).
  udp_tracker_exchange(udp_tracker_query query, peer_endpoint tracker, udp_tracker::family peers,
                       std::optional<udp_connection_id> cached, udp_tracker_timing timing = {},
                       std::optional<time_point> limit = std::nullopt, std::uint64_t seed = 0);

  /// Sends the first request.
  step start(time_point now);
  /// A datagram from `from` arrived.
  step on_datagram(const peer_endpoint& from, std::span<const std::uint8_t> bytes, time_point now);
  /// The wake time of the last step came (an early call only says when to wake).
  step on_timer(time_point now);

  /// The connection id that a later exchange with the same tracker may
  /// reuse (while it is younger than timing.connection_lifetime).
  const std::optional<udp_connection_id>& connection() const noexcept { return connection_; }
  /// Datagrams sent again so far (connects and requests together).
  unsigned retransmissions() const noexcept { return n_; }
  bool finished() const noexcept { return finished_; }

private:
  bool connection_valid(time_point now) const;
  step send_next(time_point now);
  step waiting() const;
  step finish(result<udp_tracker_answer> r);
  udp_tracker::expectation expected() const;

  udp_tracker_query query_;
  peer_endpoint tracker_;
  udp_tracker::family family_;
  std::optional<udp_connection_id> connection_;
  udp_tracker_timing timing_;
  std::optional<time_point> limit_;
  std::mt19937 rng_;

  bool connecting_ = true;  // waiting for a connect reply, else for the request's
  std::uint32_t transaction_id_ = 0;
  std::vector<std::uint8_t> datagram_;  // the last one sent, sent again as it was
  unsigned n_ = 0;
  time_point retransmit_at_ = never;
  bool finished_ = false;
};

} // namespace actorrent
