#include "announce_schedule.hpp"

#include <algorithm>
#include <random>
#include <utility>

namespace actorrent {

using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

announce_schedule::step wait_until(announce_schedule::time_point wake) {
  announce_schedule::step s;
  s.wake = wake;
  return s;
}

announce_schedule::step over(bool ok) {
  announce_schedule::step s;
  s.finished = ok;
  return s;
}

} // namespace

announce_schedule::announce_schedule(std::vector<std::vector<std::string>> tiers, time_point now,
                                     announce_schedule_config cfg)
    : cfg_(cfg), ready_deadline_(now + cfg.ready_timeout), due_(now) {
  std::mt19937_64 rng{cfg_.seed != 0 ? cfg_.seed : std::random_device{}()};
  for (auto& tier : tiers) {
    std::vector<std::string> unique;
    for (auto& url : tier)
      if (std::find(unique.begin(), unique.end(), url) == unique.end()) unique.push_back(std::move(url));
    if (unique.empty()) continue;
    if (cfg_.shuffle_tiers) std::shuffle(unique.begin(), unique.end(), rng);
    tiers_.push_back(std::move(unique));
  }
}

announce_schedule::step announce_schedule::poll(time_point now) {
  if (finished_) return over(*finished_);
  if (in_flight_) {
    // Shutting down wins over an exchange that did not end in time.
    if (stopping_ && now >= stop_deadline_) return finish(false);
    return wait_until(stopping_ ? stop_deadline_ : never);
  }
  if (stopping_) return stop(now);
  if (tiers_.empty()) return wait_until(never);
  // A failure moved the walk to the next tracker: no pause within a walk.
  if (walking_) return send(tiers_[tier_][index_], walk_event_, cfg_.request_timeout);
  if (now < hold_until_) return wait_until(hold_until_);
  if (!started_ok_) {
    // Counters from before the start-up check would tell the swarm that a
    // seed is a leecher: wait for them, but not forever.
    if (!ready_ && now < ready_deadline_) return wait_until(ready_deadline_);
    return begin_walk(announce_event::started);
  }
  if (completed_wanted_ && !completed_done_) return begin_walk(announce_event::completed);
  if (reannounce_ || now >= due_) return begin_walk(announce_event::none);
  return wait_until(due_);
}

void announce_schedule::on_ready() {
  if (ready_) return;
  ready_ = true;
  reannounce_ = true;
}

void announce_schedule::on_completed() { completed_wanted_ = true; }

void announce_schedule::on_stop(time_point now) {
  if (stopping_) return;
  stopping_ = true;
  stop_deadline_ = now + cfg_.stop_timeout;
}

void announce_schedule::on_accepted(time_point now, seconds interval, seconds min_interval) {
  if (!in_flight_ || finished_) return;
  auto event = in_flight_->event;
  in_flight_.reset();
  if (event == announce_event::stopped) {
    finish(true);
    return;
  }
  walking_ = false;
  if (event == announce_event::started) started_ok_ = true;
  if (event == announce_event::completed) completed_done_ = true;
  if (sent_ready_) reannounce_ = false;
  due_ = now + std::max(interval, min_interval);
  hold_until_ = {};
  backoff_ = seconds{0};
  // BEP 12: a tracker that answers goes to the front of its tier.
  auto& tier = tiers_[tier_];
  auto pos = tier.begin() + static_cast<std::ptrdiff_t>(index_);
  std::rotate(tier.begin(), pos, pos + 1);
  active_ = tier.front();
}

seconds announce_schedule::on_failed(time_point now) {
  if (!in_flight_ || finished_) return seconds{0};
  auto event = in_flight_->event;
  in_flight_.reset();
  if (event == announce_event::stopped) {
    finish(false);
    return seconds{0};
  }
  // Trying more trackers would only delay the "stopped" (or the exit).
  if (stopping_) return seconds{0};
  ++index_;
  while (tier_ < tiers_.size() && index_ >= tiers_[tier_].size()) {
    ++tier_;
    index_ = 0;
  }
  if (tier_ < tiers_.size()) return seconds{0};
  walking_ = false;
  backoff_ = backoff_.count() == 0 ? cfg_.min_retry : std::min(backoff_ * 2, cfg_.max_retry);
  // A zero pause would hammer trackers that are all down.
  backoff_ = std::max(backoff_, seconds{1});
  hold_until_ = now + backoff_;
  return backoff_;
}

announce_schedule::step announce_schedule::send(std::string tracker, announce_event event,
                                                milliseconds timeout) {
  in_flight_ = announce_order{std::move(tracker), event, timeout};
  in_flight_->others_left = event != announce_event::stopped && walking_
                            && (index_ + 1 < tiers_[tier_].size() || tier_ + 1 < tiers_.size());
  sent_ready_ = ready_;
  auto s = wait_until(stopping_ ? stop_deadline_ : never);
  s.send = in_flight_;
  return s;
}

announce_schedule::step announce_schedule::begin_walk(announce_event event) {
  walking_ = true;
  walk_event_ = event;
  tier_ = 0;
  index_ = 0;
  return send(tiers_[tier_][index_], walk_event_, cfg_.request_timeout);
}

announce_schedule::step announce_schedule::finish(bool ok) {
  in_flight_.reset();
  walking_ = false;
  finished_ = ok;
  return over(ok);
}

announce_schedule::step announce_schedule::stop(time_point now) {
  // Never registered: there is nothing to undo. (A started accepted also
  // set active_.)
  if (!started_ok_) return finish(true);
  auto left = std::chrono::duration_cast<milliseconds>(stop_deadline_ - now);
  if (left <= milliseconds{0}) return finish(false);
  return send(active_, announce_event::stopped, std::min(left, cfg_.request_timeout));
}

} // namespace actorrent
