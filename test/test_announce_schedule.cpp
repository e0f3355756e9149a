#include "announce_schedule.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

using namespace actorrent;
using namespace std::chrono_literals;

namespace {

using time_point = announce_schedule::time_point;
using tier_list = std::vector<std::vector<std::string>>;
constexpr auto started = announce_event::started;
constexpr auto completed = announce_event::completed;
constexpr auto regular = announce_event::none;
constexpr auto stopped = announce_event::stopped;

// The only clock the schedule sees: it moves when a test says so.
struct fake_clock {
  time_point now = time_point{} + 1h;
  void advance(std::chrono::milliseconds d) { now += d; }
};

announce_schedule_config fixed_order() {
  announce_schedule_config c;
  c.shuffle_tiers = false;
  return c;
}

// The step asks for exactly this announce.
void check_sends(const announce_schedule::step& s, const std::string& tracker, announce_event ev) {
  REQUIRE(s.send);
  CHECK(s.send->tracker == tracker);
  CHECK(s.send->event == ev);
  CHECK_FALSE(s.finished);
}

// The step asks for nothing before `wake`.
void check_waits(const announce_schedule::step& s, time_point wake) {
  CHECK_FALSE(s.send);
  CHECK_FALSE(s.finished);
  CHECK(s.wake == wake);
}

// A schedule over one tracker "a" whose "started" was accepted at clk.now
// with an interval of 1800 s (and whose owner was ready from the start).
announce_schedule started_on_a(fake_clock& clk, announce_schedule_config cfg = fixed_order()) {
  announce_schedule s({{"a"}}, clk.now, cfg);
  s.on_ready();
  check_sends(s.poll(clk.now), "a", started);
  s.on_accepted(clk.now, 1800s);
  return s;
}

} // namespace

TEST_CASE("started waits for ready, and goes out as soon as it comes") {
  fake_clock clk;
  announce_schedule s({{"a"}}, clk.now, fixed_order());
  // Counters from before the start-up check would lie: nothing yet, and
  // the wake-up is the ready deadline.
  check_waits(s.poll(clk.now), clk.now + 10s);
  clk.advance(3s);
  check_waits(s.poll(clk.now), clk.now + 7s);
  s.on_ready();
  auto st = s.poll(clk.now);
  check_sends(st, "a", started);
  CHECK(st.send->timeout == 15s);
  // One exchange at a time: nothing more while it is in flight, and no
  // timer is needed (its result is an event).
  check_waits(s.poll(clk.now), announce_schedule::never);
}

TEST_CASE("started goes out at ready_timeout without ready") {
  fake_clock clk;
  auto cfg = fixed_order();
  cfg.ready_timeout = 300ms;
  announce_schedule s({{"a"}}, clk.now, cfg);
  clk.advance(299ms);
  check_waits(s.poll(clk.now), clk.now + 1ms);
  clk.advance(1ms);
  check_sends(s.poll(clk.now), "a", started);
}

TEST_CASE("a late ready re-announces once, at once, whatever the interval") {
  fake_clock clk;
  auto cfg = fixed_order();
  cfg.ready_timeout = 300ms;

  SUBCASE("ready after the started was accepted") {
    announce_schedule s({{"a"}}, clk.now, cfg);
    clk.advance(300ms);
    check_sends(s.poll(clk.now), "a", started);
    s.on_accepted(clk.now, 1800s, 900s);
    check_waits(s.poll(clk.now), clk.now + 1800s);
    clk.advance(5s);
    s.on_ready();
    check_sends(s.poll(clk.now), "a", regular);
    s.on_accepted(clk.now, 1800s);
    // Once: the next one waits for the interval again.
    check_waits(s.poll(clk.now), clk.now + 1800s);
    s.on_ready(); // a repeated ready is no news
    check_waits(s.poll(clk.now), clk.now + 1800s);
  }

  SUBCASE("ready while the started is in flight") {
    announce_schedule s({{"a"}}, clk.now, cfg);
    clk.advance(300ms);
    check_sends(s.poll(clk.now), "a", started);
    s.on_ready();
    s.on_accepted(clk.now, 1800s);
    // That started carried the counters from before ready.
    check_sends(s.poll(clk.now), "a", regular);
  }

  SUBCASE("ready during a walk counts for the trackers asked after it") {
    announce_schedule s({{"a", "b"}}, clk.now, cfg);
    clk.advance(300ms);
    check_sends(s.poll(clk.now), "a", started);
    s.on_ready();
    s.on_failed(clk.now);
    check_sends(s.poll(clk.now), "b", started);
    s.on_accepted(clk.now, 1800s);
    // b heard the true counters: no re-announce.
    check_waits(s.poll(clk.now), clk.now + 1800s);
  }

  SUBCASE("ready before the first announce: the started is the truth") {
    announce_schedule s({{"a"}}, clk.now, cfg);
    s.on_ready();
    check_sends(s.poll(clk.now), "a", started);
    s.on_accepted(clk.now, 1800s);
    check_waits(s.poll(clk.now), clk.now + 1800s);
  }
}

TEST_CASE("completed is announced exactly once, however often it is asked for") {
  fake_clock clk;
  auto s = started_on_a(clk);
  s.on_completed();
  s.on_completed();
  check_sends(s.poll(clk.now), "a", completed);
  s.on_completed(); // asked again while in flight
  s.on_accepted(clk.now, 1800s);
  check_waits(s.poll(clk.now), clk.now + 1800s);
  s.on_completed();
  clk.advance(1800s);
  check_sends(s.poll(clk.now), "a", regular);
}

TEST_CASE("completed waits for the started to be accepted, and is retried until accepted") {
  fake_clock clk;
  announce_schedule s({{"a"}}, clk.now, fixed_order());
  s.on_ready();
  s.on_completed();
  // BEP 3: a tracker hears started first.
  check_sends(s.poll(clk.now), "a", started);
  s.on_accepted(clk.now, 1800s);
  check_sends(s.poll(clk.now), "a", completed);
  CHECK(s.on_failed(clk.now) == 15s);
  clk.advance(15s);
  check_sends(s.poll(clk.now), "a", completed);
}

TEST_CASE("the interval and the min interval of the last reply are respected") {
  fake_clock clk;

  SUBCASE("interval") {
    auto s = started_on_a(clk);
    clk.advance(1799s);
    check_waits(s.poll(clk.now), clk.now + 1s);
    clk.advance(1s);
    check_sends(s.poll(clk.now), "a", regular);
    s.on_accepted(clk.now, 60s);
    check_waits(s.poll(clk.now), clk.now + 60s);
  }

  SUBCASE("a min interval longer than the interval wins") {
    auto s = started_on_a(clk);
    clk.advance(1800s);
    check_sends(s.poll(clk.now), "a", regular);
    s.on_accepted(clk.now, 60s, 120s);
    clk.advance(60s);
    check_waits(s.poll(clk.now), clk.now + 60s);
    clk.advance(60s);
    check_sends(s.poll(clk.now), "a", regular);
  }

  SUBCASE("a shorter min interval changes nothing") {
    auto s = started_on_a(clk);
    clk.advance(1800s);
    check_sends(s.poll(clk.now), "a", regular);
    s.on_accepted(clk.now, 300s, 30s);
    check_waits(s.poll(clk.now), clk.now + 300s);
  }
}

TEST_CASE("backoff after every tracker failed: min_retry, doubling, capped at max_retry") {
  fake_clock clk;
  auto cfg = fixed_order();
  cfg.min_retry = 15s;
  cfg.max_retry = 1800s;
  announce_schedule s({{"a"}, {"b"}}, clk.now, cfg);
  s.on_ready();
  const std::vector<std::chrono::seconds> expected{15s,  30s,  60s,   120s,  240s,
                                                   480s, 960s, 1800s, 1800s, 1800s};
  for (auto pause : expected) {
    check_sends(s.poll(clk.now), "a", started);
    // Within a walk there is no pause.
    CHECK(s.on_failed(clk.now) == 0s);
    check_sends(s.poll(clk.now), "b", started);
    CHECK(s.on_failed(clk.now) == pause);
    check_waits(s.poll(clk.now), clk.now + pause);
    clk.advance(pause - 1ms);
    check_waits(s.poll(clk.now), clk.now + 1ms);
    clk.advance(1ms);
  }
  // An accepted announce resets the backoff.
  check_sends(s.poll(clk.now), "a", started);
  s.on_accepted(clk.now, 60s);
  clk.advance(60s);
  check_sends(s.poll(clk.now), "a", regular);
  s.on_failed(clk.now);
  s.poll(clk.now);
  CHECK(s.on_failed(clk.now) == 15s);
}

TEST_CASE("backoff holds even a re-announce after ready or a completed") {
  fake_clock clk;
  auto cfg = fixed_order();
  cfg.ready_timeout = 0ms;
  announce_schedule s({{"a"}}, clk.now, cfg);
  check_sends(s.poll(clk.now), "a", started);
  CHECK(s.on_failed(clk.now) == 15s);
  s.on_ready();
  s.on_completed();
  check_waits(s.poll(clk.now), clk.now + 15s);
}

TEST_CASE("BEP 12 walk: each tracker of a tier in order, then the next tier, then backoff") {
  fake_clock clk;
  announce_schedule s({{"a1", "a2"}, {"b1", "b2"}}, clk.now, fixed_order());
  s.on_ready();
  for (const char* t : {"a1", "a2", "b1", "b2"}) {
    check_sends(s.poll(clk.now), t, started);
    s.on_failed(clk.now);
  }
  check_waits(s.poll(clk.now), clk.now + 15s);
  // The next walk starts from the first tier again.
  clk.advance(15s);
  check_sends(s.poll(clk.now), "a1", started);
}

TEST_CASE("BEP 12: the tracker that answers moves to the front of its tier") {
  fake_clock clk;

  SUBCASE("same tier: the next announce asks it first") {
    announce_schedule s({{"a", "b", "c"}}, clk.now, fixed_order());
    s.on_ready();
    check_sends(s.poll(clk.now), "a", started);
    s.on_failed(clk.now);
    check_sends(s.poll(clk.now), "b", started);
    s.on_failed(clk.now);
    check_sends(s.poll(clk.now), "c", started);
    s.on_accepted(clk.now, 1800s);
    CHECK(s.tiers() == tier_list{{"c", "a", "b"}});
    s.on_completed();
    check_sends(s.poll(clk.now), "c", completed);
    // When it fails, the others follow in their old order.
    s.on_failed(clk.now);
    check_sends(s.poll(clk.now), "a", completed);
  }

  SUBCASE("a later tier: the next announce still starts with the first tier") {
    announce_schedule s({{"a"}, {"x", "y"}}, clk.now, fixed_order());
    s.on_ready();
    check_sends(s.poll(clk.now), "a", started);
    s.on_failed(clk.now);
    check_sends(s.poll(clk.now), "x", started);
    s.on_failed(clk.now);
    check_sends(s.poll(clk.now), "y", started);
    s.on_accepted(clk.now, 1800s);
    CHECK(s.tiers() == tier_list{{"a"}, {"y", "x"}});
    s.on_completed();
    check_sends(s.poll(clk.now), "a", completed);
    s.on_failed(clk.now);
    check_sends(s.poll(clk.now), "y", completed);
  }
}

TEST_CASE("tiers: duplicates and empty tiers dropped; shuffled once, within each tier") {
  fake_clock clk;
  announce_schedule plain({{"a", "b", "a"}, {}, {"c"}}, clk.now, fixed_order());
  CHECK(plain.tiers() == tier_list{{"a", "b"}, {"c"}});

  std::vector<std::string> big;
  for (int i = 0; i < 20; ++i) big.push_back("t" + std::to_string(i));
  auto cfg = fixed_order();
  cfg.shuffle_tiers = true;
  cfg.seed = 7;
  announce_schedule s({big, {"last"}}, clk.now, cfg);
  REQUIRE(s.tiers().size() == 2);
  auto first = s.tiers()[0];
  CHECK(std::set<std::string>(first.begin(), first.end()) ==
        std::set<std::string>(big.begin(), big.end()));
  CHECK(first != big); // the seed is fixed, so this cannot fail by chance
  CHECK(s.tiers()[1] == std::vector<std::string>{"last"});
  // Once: walking does not reshuffle; the walk follows the shuffled order.
  s.on_ready();
  for (const auto& t : first) {
    check_sends(s.poll(clk.now), t, started);
    s.on_failed(clk.now);
  }
  check_sends(s.poll(clk.now), "last", started);
  s.on_failed(clk.now);
  CHECK(s.tiers()[0] == first);
}

TEST_CASE("no trackers: nothing to announce, nothing to wake for, stop at once") {
  fake_clock clk;
  announce_schedule s({{}, {}}, clk.now, fixed_order());
  s.on_ready();
  check_waits(s.poll(clk.now), announce_schedule::never);
  s.on_stop(clk.now);
  auto st = s.poll(clk.now);
  CHECK_FALSE(st.send);
  CHECK(st.finished == true);
}

TEST_CASE("stopped is announced only when a started was accepted") {
  fake_clock clk;

  SUBCASE("stop before any announce: done, nothing to undo") {
    announce_schedule s({{"a"}}, clk.now, fixed_order());
    s.on_stop(clk.now);
    auto st = s.poll(clk.now);
    CHECK_FALSE(st.send);
    CHECK(st.finished == true);
    // It stays over.
    CHECK(s.poll(clk.now + 1h).finished == true);
  }

  SUBCASE("every tracker refused the started: done, nothing to undo") {
    announce_schedule s({{"a"}}, clk.now, fixed_order());
    s.on_ready();
    check_sends(s.poll(clk.now), "a", started);
    s.on_failed(clk.now);
    s.on_stop(clk.now);
    CHECK(s.poll(clk.now).finished == true);
  }

  SUBCASE("started accepted: stopped goes to the tracker that accepted the last announce") {
    announce_schedule s({{"a", "b"}}, clk.now, fixed_order());
    s.on_ready();
    check_sends(s.poll(clk.now), "a", started);
    s.on_accepted(clk.now, 1800s);
    s.on_completed();
    check_sends(s.poll(clk.now), "a", completed);
    s.on_failed(clk.now);
    check_sends(s.poll(clk.now), "b", completed);
    s.on_accepted(clk.now, 1800s);
    CHECK(s.started());
    s.on_stop(clk.now);
    auto st = s.poll(clk.now);
    check_sends(st, "b", stopped);
    CHECK(st.send->timeout == 5s); // min(stop_timeout, request_timeout)
    CHECK(st.wake == clk.now + 5s);
    clk.advance(100ms);
    s.on_accepted(clk.now, 1800s);
    CHECK(s.poll(clk.now).finished == true);
  }

  SUBCASE("the stopped announce fails: done, but the tracker may still list us") {
    auto s = started_on_a(clk);
    s.on_stop(clk.now);
    check_sends(s.poll(clk.now), "a", stopped);
    // No walk and no backoff for a stopped: shutting down does not wait.
    CHECK(s.on_failed(clk.now) == 0s);
    CHECK(s.poll(clk.now).finished == false);
  }

  SUBCASE("the stopped announce hangs: given up at the stop deadline") {
    auto s = started_on_a(clk);
    s.on_stop(clk.now);
    check_sends(s.poll(clk.now), "a", stopped);
    clk.advance(4999ms);
    check_waits(s.poll(clk.now), clk.now + 1ms);
    clk.advance(1ms);
    CHECK(s.poll(clk.now).finished == false);
    // A result that comes after that changes nothing.
    s.on_accepted(clk.now, 1800s);
    CHECK(s.poll(clk.now).finished == false);
  }

  SUBCASE("a second stop does not move the deadline") {
    auto s = started_on_a(clk);
    s.on_stop(clk.now);
    check_sends(s.poll(clk.now), "a", stopped);
    clk.advance(3s);
    s.on_stop(clk.now);
    check_waits(s.poll(clk.now), clk.now + 2s);
  }
}

TEST_CASE("stop while an exchange is in flight") {
  fake_clock clk;
  auto cfg = fixed_order();
  cfg.request_timeout = 15s;
  cfg.stop_timeout = 1s;

  SUBCASE("the started in flight is accepted: then it must be undone with stopped") {
    announce_schedule s({{"a"}}, clk.now, cfg);
    s.on_ready();
    check_sends(s.poll(clk.now), "a", started);
    s.on_stop(clk.now);
    // Waits for the exchange, but not beyond the stop deadline.
    check_waits(s.poll(clk.now), clk.now + 1s);
    clk.advance(400ms);
    s.on_accepted(clk.now, 1800s);
    auto st = s.poll(clk.now);
    check_sends(st, "a", stopped);
    // Only what is left of the stop deadline.
    CHECK(st.send->timeout == 600ms);
  }

  SUBCASE("the started in flight fails: no other tracker is tried, done") {
    announce_schedule s({{"a", "b"}, {"c"}}, clk.now, cfg);
    s.on_ready();
    check_sends(s.poll(clk.now), "a", started);
    s.on_stop(clk.now);
    CHECK(s.on_failed(clk.now) == 0s);
    auto st = s.poll(clk.now);
    CHECK_FALSE(st.send);
    CHECK(st.finished == true);
  }

  SUBCASE("the last tracker of a walk fails while stopping: no backoff is started") {
    announce_schedule s({{"a"}}, clk.now, cfg);
    s.on_ready();
    check_sends(s.poll(clk.now), "a", started);
    s.on_stop(clk.now);
    CHECK(s.on_failed(clk.now) == 0s);
    CHECK(s.poll(clk.now).finished == true);
  }

  SUBCASE("a regular announce in flight fails: stopped still goes to the active tracker") {
    auto s = started_on_a(clk, cfg);
    clk.advance(1800s);
    check_sends(s.poll(clk.now), "a", regular);
    s.on_stop(clk.now);
    s.on_failed(clk.now);
    check_sends(s.poll(clk.now), "a", stopped);
  }

  SUBCASE("the exchange in flight hangs past the stop deadline: given up, stopped never sent") {
    auto s = started_on_a(clk, cfg);
    clk.advance(1800s);
    check_sends(s.poll(clk.now), "a", regular);
    s.on_stop(clk.now);
    clk.advance(1s);
    CHECK(s.poll(clk.now).finished == false);
  }

  SUBCASE("the exchange in flight ends just at the stop deadline: no time left for stopped") {
    auto s = started_on_a(clk, cfg);
    clk.advance(1800s);
    check_sends(s.poll(clk.now), "a", regular);
    s.on_stop(clk.now);
    clk.advance(1s);
    s.on_accepted(clk.now, 1800s);
    auto st = s.poll(clk.now);
    CHECK_FALSE(st.send);
    CHECK(st.finished == false);
  }
}

TEST_CASE("results with nothing in flight are ignored") {
  fake_clock clk;
  auto s = started_on_a(clk);
  s.on_accepted(clk.now, 5s);
  CHECK(s.on_failed(clk.now) == 0s);
  check_waits(s.poll(clk.now), clk.now + 1800s);
}

TEST_CASE("an order says whether the walk has other trackers to try after it") {
  fake_clock clk;
  announce_schedule s({{"a", "b"}, {"c"}}, clk.now, fixed_order());
  s.on_ready();
  auto st = s.poll(clk.now);
  check_sends(st, "a", started);
  CHECK(st.send->others_left);
  s.on_failed(clk.now);
  st = s.poll(clk.now);
  check_sends(st, "b", started);
  CHECK(st.send->others_left);  // the next tier
  s.on_failed(clk.now);
  st = s.poll(clk.now);
  check_sends(st, "c", started);
  CHECK_FALSE(st.send->others_left);
  s.on_accepted(clk.now, 1800s);
  // The next walk starts at the tracker that answered, first of its tier.
  clk.advance(1800s);
  st = s.poll(clk.now);
  check_sends(st, "a", regular);
  CHECK(st.send->others_left);
  s.on_accepted(clk.now, 1800s);
  s.on_stop(clk.now);
  st = s.poll(clk.now);
  check_sends(st, "a", stopped);
  CHECK_FALSE(st.send->others_left);  // a "stopped" goes to one tracker only
}

TEST_CASE("a single tracker is never told that others are left") {
  fake_clock clk;
  announce_schedule s({{"a"}}, clk.now, fixed_order());
  s.on_ready();
  auto st = s.poll(clk.now);
  check_sends(st, "a", started);
  CHECK_FALSE(st.send->others_left);
}
