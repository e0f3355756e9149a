// When to announce one torrent, to which tracker, with which event: the
// announce policy of BEP 3 and BEP 12, without any I/O. Its owner performs
// the exchanges and reports how they ended.
//
// Events, in order of precedence (one exchange at a time):
// - stopped, at shutdown, only when a "started" was accepted, to the tracker
//   that accepted the last announce, once, within stop_timeout of on_stop().
//   An exchange in flight when on_stop() comes is waited for (it may be the
//   "started" that makes a "stopped" necessary), no further tracker is
//   tried, and whatever is still in flight at the stop deadline is given up.
// - started, until a tracker accepts it. It waits for on_ready() (the
//   owner's counters are true: a seed says left=0 from its first word), but
//   at most ready_timeout after construction.
// - completed, once on_completed() was called, until a tracker accepts it.
//   Whether the download finished while running (BEP 3: never for a torrent
//   complete at start) is the owner's judgement.
// - a regular announce (no event) when the interval of the last accepted
//   announce is over: max(interval, min interval) after it. Also at once
//   after on_ready() when the "started" went out before it, so the trackers
//   learn the true counters without waiting for the interval; once.
//
// Each announce walks the BEP 12 tiers from the first: the trackers of a
// tier in order, then the next tier, until one accepts. The one that accepts
// moves to the front of its tier. When every tracker failed, nothing is
// announced for a pause of min_retry, doubling after each such walk up to
// max_retry, back to min_retry after an accepted announce.
//
// Time is passed in; nothing here reads a clock or sleeps. Not thread-safe;
// meant to be owned by one actor.
#pragma once

#include "tracker_url.hpp" // announce_event

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace actorrent {

struct announce_schedule_config {
  /// How long an announce exchange may take.
  std::chrono::milliseconds request_timeout{15'000};
  /// The pause after a walk in which every tracker failed.
  std::chrono::seconds min_retry{15}, max_retry{1800};
  /// Bound on the whole stop, from on_stop() to the end of "stopped".
  std::chrono::milliseconds stop_timeout{5'000};
  /// How long "started" waits for on_ready().
  std::chrono::milliseconds ready_timeout{10'000};
  /// BEP 12 shuffles each tier once; off keeps the given order.
  bool shuffle_tiers = true;
  /// Shuffle seed; 0 = std::random_device.
  std::uint64_t seed = 0;
};

/// One announce to send now.
struct announce_order {
  std::string tracker;
  announce_event event = announce_event::none;
  /// Give up on the exchange after this long (and report on_failed()).
  std::chrono::milliseconds timeout{0};
  /// The walk has more trackers to try after this one: an owner whose
  /// transport retries for long (BEP 15's 15 * 2^n s) gives up sooner, so
  /// that one dead tracker does not keep the others waiting for minutes.
  bool others_left = false;

  friend bool operator==(const announce_order&, const announce_order&) = default;
};

class announce_schedule {
public:
  using time_point = std::chrono::steady_clock::time_point;
  /// A wake-up that never comes: only an event can change anything.
  static constexpr time_point never = time_point::max();

  /// What the owner does after poll().
  struct step {
    /// Start this exchange now; it is in flight until on_accepted() or
    /// on_failed().
    std::optional<announce_order> send;
    /// Stopping is over: true when no tracker lists us any more (none ever
    /// accepted a "started", or the "stopped" was accepted), false when the
    /// "stopped" failed or the stop deadline passed. Every later poll()
    /// says the same.
    std::optional<bool> finished;
    /// Call poll() again at this time unless an event comes first.
    time_point wake = never;
  };

  /// `tiers`: the BEP 12 announce-list, only trackers the owner can talk
  /// to. Duplicates within a tier and empty tiers are dropped; each tier is
  /// shuffled here when cfg.shuffle_tiers. `now` starts the wait for ready.
  announce_schedule(std::vector<std::vector<std::string>> tiers, time_point now,
                    announce_schedule_config cfg = {});

  /// What to do at `now`. Call it after each on_*() call and at the `wake`
  /// of the last step; calling it at any other time is harmless.
  step poll(time_point now);

  /// The owner's start-up check ended: its counters are true now.
  void on_ready();
  /// Announce "completed" (once, however often this is called).
  void on_completed();
  /// Shut down: announce "stopped" if needed, bounded by stop_timeout from
  /// the first call.
  void on_stop(time_point now);
  /// The tracker accepted the exchange in flight and asks to hear from us
  /// again after `interval`, and not before `min_interval`. Ignored when
  /// nothing is in flight.
  void on_accepted(time_point now, std::chrono::seconds interval,
                   std::chrono::seconds min_interval = std::chrono::seconds{0});
  /// The exchange in flight failed (unreachable, refused, bad reply, timed
  /// out). Returns the pause before the next announce when this failure
  /// ended a walk in which every tracker failed, else zero. Ignored (zero)
  /// when nothing is in flight.
  std::chrono::seconds on_failed(time_point now);

  /// The exchange poll() handed out and no result has ended yet.
  const std::optional<announce_order>& in_flight() const noexcept { return in_flight_; }
  /// The tiers in their current order (after shuffling and move-to-front).
  const std::vector<std::vector<std::string>>& tiers() const noexcept { return tiers_; }
  /// A "started" was accepted: stopping will announce "stopped".
  bool started() const noexcept { return started_ok_; }

private:
  step send(std::string tracker, announce_event event, std::chrono::milliseconds timeout);
  step begin_walk(announce_event event);
  step finish(bool ok);
  step stop(time_point now);

  announce_schedule_config cfg_;
  std::vector<std::vector<std::string>> tiers_;

  // The walk through the tiers: the event it announces and the tracker at
  // which it stands. A walk ends when a tracker accepts or none is left.
  bool walking_ = false;
  announce_event walk_event_ = announce_event::none;
  std::size_t tier_ = 0, index_ = 0;
  std::optional<announce_order> in_flight_;

  bool ready_ = false;
  time_point ready_deadline_;
  // An announce went out with counters from before on_ready(): the next one
  // must not wait for the interval. Cleared by an accepted announce that
  // was sent after on_ready().
  bool reannounce_ = false;
  bool sent_ready_ = false;

  bool started_ok_ = false;
  bool completed_wanted_ = false;
  bool completed_done_ = false;
  std::string active_; // accepted the last announce; told "stopped"

  time_point due_;        // the next regular announce
  time_point hold_until_; // after every tracker failed: nothing before this
  std::chrono::seconds backoff_{0};

  bool stopping_ = false;
  time_point stop_deadline_;
  std::optional<bool> finished_;
};

} // namespace actorrent
