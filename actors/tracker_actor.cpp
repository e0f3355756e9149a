#include "tracker_actor.hpp"

#include "announce_reply.hpp"
#include "http_client.hpp"
#include "log.hpp"
#include "tracker_url.hpp"

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <algorithm>
#include <random>
#include <utility>

namespace actorrent {

namespace {

using time_point = caf::actor_clock::time_point;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Real replies are a few hundred bytes (compact peers); anything near this
// bound is not a tracker talking.
constexpr std::size_t max_reply_bytes = 1u << 20;

struct tracker_state {
  static inline const char* name = "actorrent.tracker";

  tracker_config cfg;
  asio::io_context* io = nullptr;
  tracker_owner_actor owner;
  std::vector<std::vector<std::string>> tiers;  // usable (http://) trackers only

  // The owner's counters as of the last announce: what the next one says if
  // the owner cannot answer in time.
  transfer_stats counters;
  std::string tracker_id;
  std::string active;  // the tracker that accepted our last announce
  bool started_ok = false;
  bool completed_wanted = false;
  bool completed_done = false;

  // The owner's start-up check ended (its counters are true). Until then,
  // and at most until ready_deadline, nothing is announced.
  bool ready = false;
  time_point ready_deadline{};
  // An announce went out with counters from before the check ended: the
  // next one must not wait for the interval.
  bool reannounce = false;
  bool sent_ready = false;  // the exchange in flight was started after ready

  // The exchange in flight. Announces are serialised: one at a time.
  bool in_flight = false;
  std::uint64_t request_id = 0;
  announce_event event = announce_event::none;
  std::size_t tier = 0, index = 0;  // position of the walk through the tiers

  time_point due{};         // next regular announce
  time_point hold_until{};  // after every tracker failed: nothing before this
  seconds backoff{0};

  bool stopping = false;
  bool stop_sent = false;
  time_point stop_deadline{};
  std::vector<caf::typed_response_promise<bool>> stop_promises;
};

using tracker_self = tracker_actor::stateful_pointer<tracker_state>;

void pump(tracker_self self);

void note(tracker_self self, const std::string& text) {
  ACTORRENT_LOG(info, text);
  if (self->state.owner) self->send(self->state.owner, tracker_atom_v, text);
}

template <class Duration>
void tick_after(tracker_self self, Duration d) {
  self->delayed_send(self, std::chrono::duration_cast<milliseconds>(d), tick_atom_v);
}

// Sends exchange `id`, an announce to `tracker` with the counters as they
// are now; the result arrives as an http_atom message.
void send_request(tracker_self self, std::uint64_t id, const std::string& tracker,
                  announce_event ev, milliseconds timeout) {
  auto& st = self->state;
  if (!st.in_flight || id != st.request_id) return;  // abandoned meanwhile
  announce_request req;
  req.announce_url = tracker;
  req.info_hash = st.cfg.info_hash;
  req.peer_id = st.cfg.peer_id;
  req.port = st.cfg.port;
  req.uploaded = st.counters.uploaded;
  req.downloaded = st.counters.downloaded;
  req.left = st.counters.left;
  req.event = ev;
  // A leaving peer has no use for addresses.
  req.numwant = ev == announce_event::stopped ? 0 : st.cfg.numwant;
  req.key = st.cfg.key;
  req.tracker_id = st.tracker_id;
  auto u = parse_url(build_announce_url(req));
  if (!u) {
    self->send(self, http_atom_v, id, std::int32_t{0}, u.err().to_string());
    return;
  }
  auto handle = caf::actor_cast<tracker_actor>(self);
  http_get(*st.io, *u, st.cfg.user_agent, timeout, max_reply_bytes,
           [handle, id](result<http_response> r) {
             if (r)
               caf::anon_send(handle, http_atom_v, id, static_cast<std::int32_t>(r->status),
                              std::move(r->body));
             else
               caf::anon_send(handle, http_atom_v, id, std::int32_t{0}, r.err().to_string());
           });
}

// Starts one announce: asks the owner for its counters first (bounded; on
// no answer the last ones known are used), then sends.
void send_announce(tracker_self self, const std::string& tracker, announce_event ev,
                   milliseconds timeout) {
  auto& st = self->state;
  st.event = ev;
  st.in_flight = true;
  st.sent_ready = st.ready;
  auto id = ++st.request_id;
  if (!st.owner) {
    send_request(self, id, tracker, ev, timeout);
    return;
  }
  self->request(st.owner, std::min(timeout, st.cfg.stats_timeout), stats_atom_v)
    .then(
      [self, id, tracker, ev, timeout](transfer_stats& now) {
        self->state.counters = now;
        send_request(self, id, tracker, ev, timeout);
      },
      [self, id, tracker, ev, timeout](caf::error&) {
        send_request(self, id, tracker, ev, timeout);
      });
}

void finish_stop(tracker_self self, bool ok) {
  auto& st = self->state;
  for (auto& rp : st.stop_promises) rp.deliver(ok);
  st.stop_promises.clear();
  self->quit();
}

void begin_stop(tracker_self self) {
  auto& st = self->state;
  if (!st.started_ok || st.active.empty()) {
    finish_stop(self, true);
    return;
  }
  auto left = std::chrono::duration_cast<milliseconds>(st.stop_deadline - self->clock().now());
  if (left <= milliseconds{0}) {
    finish_stop(self, false);
    return;
  }
  st.stop_sent = true;
  ACTORRENT_LOG(info, "tracker " << st.active << ": announcing stopped");
  send_announce(self, st.active, announce_event::stopped, std::min(left, st.cfg.request_timeout));
}

// Tries the tracker at the walk position, skipping to the next tier when the
// current one is exhausted.
void try_next(tracker_self self) {
  auto& st = self->state;
  while (st.tier < st.tiers.size() && st.index >= st.tiers[st.tier].size()) {
    ++st.tier;
    st.index = 0;
  }
  if (st.tier < st.tiers.size()) {
    send_announce(self, st.tiers[st.tier][st.index], st.event, st.cfg.request_timeout);
    return;
  }
  st.backoff = st.backoff.count() == 0 ? st.cfg.min_retry : std::min(st.backoff * 2, st.cfg.max_retry);
  st.backoff = std::max(st.backoff, seconds{1});
  st.hold_until = self->clock().now() + st.backoff;
  ACTORRENT_LOG(info, "every tracker failed; next announce in " << st.backoff.count() << " s");
  tick_after(self, st.backoff);
}

void begin_walk(tracker_self self, announce_event ev) {
  auto& st = self->state;
  st.event = ev;
  st.tier = 0;
  st.index = 0;
  try_next(self);
}

// Decides what to announce next, if anything; called whenever the state
// changes. Stale ticks end up here too and find nothing to do.
void pump(tracker_self self) {
  auto& st = self->state;
  if (st.in_flight) return;
  if (st.stopping) {
    begin_stop(self);
    return;
  }
  if (st.tiers.empty()) return;
  auto now = self->clock().now();
  if (now < st.hold_until) return;
  if (!st.started_ok) {
    // Counters from before the start-up check would tell the swarm that a
    // seed is a leecher: wait for them, but not forever.
    if (!st.ready && now < st.ready_deadline) return;
    begin_walk(self, announce_event::started);
  } else if (st.completed_wanted && !st.completed_done) {
    begin_walk(self, announce_event::completed);
  } else if (st.reannounce || now >= st.due) {
    begin_walk(self, announce_event::none);
  }
}

// A reply with status 2xx: returns the failure text, or empty on success.
std::string on_reply(tracker_self self, const std::string& tracker, const std::string& body) {
  auto& st = self->state;
  auto reply = parse_announce_reply(body);
  if (!reply) return "bad reply: " + reply.err().message;
  if (!reply->failure_reason.empty()) return "failure: " + reply->failure_reason;
  if (!reply->warning_message.empty())
    note(self, "tracker " + tracker + ": warning: " + reply->warning_message);
  if (!reply->tracker_id.empty()) st.tracker_id = reply->tracker_id;
  ACTORRENT_LOG(info, "tracker " << tracker << ": " << reply->peers.size() << " peers, interval "
                                 << reply->interval << " s");
  if (!reply->peers.empty() && st.owner)
    self->send(st.owner, peers_atom_v, std::move(reply->peers));
  if (st.event == announce_event::started) st.started_ok = true;
  if (st.sent_ready) st.reannounce = false;
  if (st.event == announce_event::completed) st.completed_done = true;
  auto wait = seconds{std::max(reply->interval, reply->min_interval.value_or(0))};
  st.due = self->clock().now() + wait;
  st.hold_until = {};
  st.backoff = seconds{0};
  tick_after(self, wait);
  return {};
}

void on_http(tracker_self self, std::uint64_t id, std::int32_t status, const std::string& body) {
  auto& st = self->state;
  if (!st.in_flight || id != st.request_id) return;  // an abandoned exchange
  st.in_flight = false;

  if (st.stop_sent) {
    bool ok = status >= 200 && status < 300;
    if (ok) {
      auto reply = parse_announce_reply(body);
      ok = reply && reply->failure_reason.empty();
    }
    if (!ok) note(self, "tracker " + st.active + ": stopped announce failed");
    finish_stop(self, ok);
    return;
  }

  const auto& tracker = st.tiers[st.tier][st.index];
  std::string failure;
  if (status == 0)
    failure = "unreachable: " + body;
  else if (status < 200 || status > 299)
    failure = "HTTP status " + std::to_string(status);
  else
    failure = on_reply(self, tracker, body);

  if (failure.empty()) {
    // BEP 12: a tracker that answers goes to the front of its tier.
    auto& tier = st.tiers[st.tier];
    std::rotate(tier.begin(), tier.begin() + static_cast<std::ptrdiff_t>(st.index),
                tier.begin() + static_cast<std::ptrdiff_t>(st.index) + 1);
    st.active = tier.front();
    pump(self);
    return;
  }
  note(self, "tracker " + tracker + ": " + failure);
  if (st.stopping) {
    pump(self);
    return;
  }
  ++st.index;
  try_next(self);
}

tracker_actor::behavior_type tracker_behavior(tracker_self self, asio::io_context* io,
                                              tracker_config cfg, tracker_owner_actor owner) {
  auto& st = self->state;
  st.io = io;
  st.owner = std::move(owner);
  std::mt19937 rng{std::random_device{}()};
  for (const auto& tier : cfg.tiers) {
    std::vector<std::string> usable;
    for (const auto& text : tier) {
      auto u = parse_url(text);
      if (!u)
        note(self, "tracker " + text + ": invalid " + u.err().message);
      else if (u->scheme != "http")
        note(self, "tracker " + text + ": " + u->scheme + " tracker not supported yet");
      else if (std::find(usable.begin(), usable.end(), text) == usable.end())
        usable.push_back(text);
    }
    if (cfg.shuffle_tiers) std::shuffle(usable.begin(), usable.end(), rng);
    if (!usable.empty()) st.tiers.push_back(std::move(usable));
  }
  st.cfg = std::move(cfg);
  if (st.tiers.empty())
    note(self, "tracker: no usable HTTP tracker");
  st.due = self->clock().now();
  st.ready_deadline = st.due + st.cfg.ready_timeout;
  if (!st.tiers.empty()) tick_after(self, st.cfg.ready_timeout);

  return {
    [self](ready_atom) {
      auto& st = self->state;
      if (st.ready) return;
      st.ready = true;
      st.reannounce = true;
      pump(self);
    },
    [self](completed_atom) {
      auto& st = self->state;
      if (st.completed_wanted) return;
      st.completed_wanted = true;
      pump(self);
    },
    [self](stop_atom) -> caf::result<bool> {
      auto& st = self->state;
      auto rp = self->make_response_promise<bool>();
      st.stop_promises.push_back(rp);
      if (!st.stopping) {
        st.stopping = true;
        st.stop_deadline = self->clock().now() + st.cfg.stop_timeout;
        tick_after(self, st.cfg.stop_timeout);
        pump(self);
      }
      return rp;
    },
    [self](tick_atom) {
      auto& st = self->state;
      if (st.stopping && self->clock().now() >= st.stop_deadline) {
        // The exchange in flight (a slow announce or the "stopped" itself)
        // did not end in time; shutting down wins.
        finish_stop(self, false);
        return;
      }
      pump(self);
    },
    [self](http_atom, std::uint64_t id, std::int32_t status, const std::string& body) {
      on_http(self, id, status, body);
    },
  };
}

} // namespace

tracker_actor spawn_tracker(caf::actor_system& sys, asio::io_context& io, tracker_config cfg,
                            tracker_owner_actor owner) {
  return sys.spawn(tracker_behavior, &io, std::move(cfg), std::move(owner));
}

} // namespace actorrent
