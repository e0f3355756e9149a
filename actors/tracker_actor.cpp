#include "tracker_actor.hpp"

#include "announce_reply.hpp"
#include "announce_schedule.hpp"
#include "http_client.hpp"
#include "log.hpp"
#include "printable.hpp"
#include "tracker_url.hpp"
#include "udp_tracker_client.hpp"

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <algorithm>
#include <optional>
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
  // Decides every announce; the actor only carries them out. Empty only
  // until the behavior is built (it needs the actor's clock).
  std::optional<announce_schedule> schedule;

  // The owner's counters as of the last announce: what the next one says if
  // the owner cannot answer in time.
  transfer_stats counters;
  std::string tracker_id;

  // Identifies the exchange in flight, so that the result of one the
  // schedule gave up on is not taken for the current one.
  std::uint64_t request_id = 0;
  // The wake-up a tick is already scheduled for: one timer per wake-up.
  time_point armed = announce_schedule::never;

  std::vector<caf::typed_response_promise<bool>> stop_promises;

  // The udp:// exchanges, made at the first one; keeps connection ids.
  std::optional<udp_tracker_client> udp;
};

using tracker_self = tracker_actor::stateful_pointer<tracker_state>;

/// A failure or warning about `tracker` (empty: about all of them).
void note(tracker_self self, const std::string& tracker, const std::string& text) {
  ACTORRENT_LOG(info, "tracker " << tracker << (tracker.empty() ? "" : ": ") << text);
  if (self->state.owner) self->send(self->state.owner, tracker_atom_v, tracker, text);
}

bool is_udp(const std::string& tracker) {
  auto u = parse_url(tracker);
  return u && u->scheme == "udp";
}

// BEP 15 wants the key as a number: the same for every announce of this
// torrent, so the tracker can tell us apart from another peer on our address.
std::uint32_t udp_key(const tracker_config& cfg) {
  std::uint32_t h = 2166136261u;
  auto mix = [&h](std::uint8_t b) { h = (h ^ b) * 16777619u; };
  for (char c : cfg.key) mix(static_cast<std::uint8_t>(c));
  for (auto b : cfg.peer_id) mix(b);
  return h;
}

// The announce `req` to a udp:// tracker (BEP 15), exchange `id`; the
// result arrives as a udp_atom message. A "stopped" is bounded by the
// order's timeout; other announces end by the retransmission schedule, cut
// to one retransmission when other trackers wait behind this one (the
// whole schedule, 225 s, would hold the walk as long).
void send_udp(tracker_self self, std::uint64_t id, const announce_request& req,
              const announce_order& order) {
  auto& st = self->state;
  if (!st.udp) st.udp.emplace(*st.io, st.cfg.udp);
  udp_tracker::announce_fields f;
  f.info_hash = req.info_hash;
  f.peer_id = req.peer_id;
  f.downloaded = req.downloaded;
  f.left = req.left;
  f.uploaded = req.uploaded;
  f.event = req.event;
  f.key = udp_key(st.cfg);
  f.num_want = req.numwant;
  f.port = req.port;
  std::optional<milliseconds> limit;
  if (req.event == announce_event::stopped) limit = order.timeout;
  // The first try and one retransmission (base + 2 x base), ending just
  // before a second one would go out.
  else if (order.others_left) limit = 3 * st.cfg.udp.retransmit_base - milliseconds{1};
  auto handle = caf::actor_cast<tracker_actor>(self);
  st.udp->run(*parse_url(req.announce_url), f, limit, [handle, id](result<udp_tracker_answer> r) {
    if (!r) {
      auto text = r.err().code == errc::tracker_failure ? "failure: " + r.err().message
                                                         : "unreachable: " + r.err().message;
      caf::anon_send(handle, udp_atom_v, id, text, std::int32_t{0}, std::vector<peer_endpoint>{});
      return;
    }
    auto& a = std::get<udp_tracker::announce_reply>(*r);
    caf::anon_send(handle, udp_atom_v, id, std::string{}, a.interval, std::move(a.peers));
  });
}

// Sends exchange `id`, the announce in flight, with the counters as they
// are now; the result arrives as an http_atom message (udp_atom for a
// udp:// tracker).
void send_request(tracker_self self, std::uint64_t id) {
  auto& st = self->state;
  const auto& order = st.schedule->in_flight();
  if (!order || id != st.request_id) return;  // abandoned meanwhile
  announce_request req;
  req.announce_url = order->tracker;
  req.info_hash = st.cfg.info_hash;
  req.peer_id = st.cfg.peer_id;
  req.port = st.cfg.port;
  req.uploaded = st.counters.uploaded;
  req.downloaded = st.counters.downloaded;
  req.left = st.counters.left;
  req.event = order->event;
  // A leaving peer has no use for addresses.
  req.numwant = order->event == announce_event::stopped ? 0 : st.cfg.numwant;
  req.key = st.cfg.key;
  req.tracker_id = st.tracker_id;
  if (is_udp(order->tracker)) {
    send_udp(self, id, req, *order);
    return;
  }
  auto u = parse_url(build_announce_url(req));
  if (!u) {
    self->send(self, http_atom_v, id, std::int32_t{0}, u.err().to_string());
    return;
  }
  auto handle = caf::actor_cast<tracker_actor>(self);
  http_get(*st.io, *u, st.cfg.user_agent, order->timeout, max_reply_bytes,
           [handle, id](result<http_response> r) {
             // Only a 2xx body is an announce reply; of any other status
             // what a person needs is the reason and a glimpse of the page.
             if (r && (r->status < 200 || r->status > 299))
               r->body = r->reason + ", body " + body_excerpt(r->body);
             if (r)
               caf::anon_send(handle, http_atom_v, id, static_cast<std::int32_t>(r->status),
                              std::move(r->body));
             else
               caf::anon_send(handle, http_atom_v, id, std::int32_t{0}, r.err().to_string());
           },
           http_tls_options{st.cfg.ca_file});
}

// Starts the announce the schedule just handed out: asks the owner for its
// counters first (bounded; on no answer the last ones known are used).
void send_announce(tracker_self self, const announce_order& order) {
  auto& st = self->state;
  auto id = ++st.request_id;
  if (order.event == announce_event::stopped)
    ACTORRENT_LOG(info, "tracker " << order.tracker << ": announcing stopped");
  if (!st.owner) {
    send_request(self, id);
    return;
  }
  self->request(st.owner, std::min(order.timeout, st.cfg.stats_timeout), stats_atom_v)
    .then(
      [self, id](transfer_stats& now) {
        self->state.counters = now;
        send_request(self, id);
      },
      [self, id](caf::error&) { send_request(self, id); });
}

void finish_stop(tracker_self self, bool ok) {
  auto& st = self->state;
  for (auto& rp : st.stop_promises) rp.deliver(ok);
  st.stop_promises.clear();
  self->quit();
}

// Does what the schedule says now; called after everything that may change
// its mind. Stale ticks end up here too and find nothing to do.
void act(tracker_self self) {
  auto& st = self->state;
  auto step = st.schedule->poll(self->clock().now());
  if (step.finished) {
    finish_stop(self, *step.finished);
    return;
  }
  if (step.send) send_announce(self, *step.send);
  if (step.wake != announce_schedule::never && step.wake != st.armed) {
    st.armed = step.wake;
    self->scheduled_send(self, step.wake, tick_atom_v);
  }
}

// `tracker` accepted the announce in flight: its news go to the owner.
void accept_reply(tracker_self self, const std::string& tracker, announce_reply& reply) {
  auto& st = self->state;
  // The tracker's own words reach terminals: escaped.
  if (!reply.warning_message.empty())
    note(self, tracker, "warning: " + printable(reply.warning_message));
  if (!reply.tracker_id.empty()) st.tracker_id = reply.tracker_id;
  if (reply.peers_ignored > 0)
    note(self, tracker, "sent " + std::to_string(reply.peers.size() + reply.peers_ignored) +
                          " peers; kept the first " + std::to_string(reply.peers.size()) +
                          " (at most " + std::to_string(max_reply_peers) + " per reply)");
  ACTORRENT_LOG(info, "tracker " << tracker << ": " << reply.peers.size() << " peers, interval "
                                 << reply.interval << " s");
  if (st.owner)
    self->send(st.owner, tracker_atom_v, tracker, static_cast<std::int32_t>(reply.interval),
               static_cast<std::uint32_t>(reply.peers.size()), reply.complete.value_or(-1),
               reply.incomplete.value_or(-1));
  if (!reply.peers.empty() && st.owner)
    self->send(st.owner, peers_atom_v, std::move(reply.peers));
  st.schedule->on_accepted(self->clock().now(), seconds{reply.interval},
                           seconds{reply.min_interval.value_or(0)});
}

// How an exchange with the tracker in flight ended: the tracker's reply, or
// what went wrong, for people.
struct exchange_outcome {
  announce_reply reply;
  std::string failure;  // empty: the tracker accepted the announce
};

// The one place where an exchange ends, whatever the tracker's kind: the
// schedule learns the outcome, the owner the news, people the failure.
void finish_exchange(tracker_self self, std::uint64_t id, exchange_outcome outcome) {
  auto& st = self->state;
  if (!st.schedule->in_flight() || id != st.request_id) return;  // an abandoned exchange
  auto order = *st.schedule->in_flight();
  auto now = self->clock().now();
  if (order.event == announce_event::stopped) {
    if (outcome.failure.empty()) {
      st.schedule->on_accepted(now, seconds{0});
    } else {
      note(self, order.tracker, "stopped announce failed: " + outcome.failure);
      st.schedule->on_failed(now);
    }
  } else if (outcome.failure.empty()) {
    accept_reply(self, order.tracker, outcome.reply);
  } else {
    note(self, order.tracker, outcome.failure);
    auto pause = st.schedule->on_failed(now);
    if (pause.count() > 0)
      ACTORRENT_LOG(info, "every tracker failed; next announce in " << pause.count() << " s");
  }
  act(self);
}

void on_http(tracker_self self, std::uint64_t id, std::int32_t status, const std::string& body) {
  exchange_outcome out;
  if (status == 0) {
    out.failure = "HTTP exchange failed: " + body;
  } else if (status < 200 || status > 299) {
    out.failure = "HTTP status " + std::to_string(status) + " " + body;
  } else if (auto reply = parse_announce_reply(body); !reply) {
    out.failure = "bad reply: " + reply.err().message;
  } else if (!reply->failure_reason.empty()) {
    out.failure = "failure: " + printable(reply->failure_reason);
  } else {
    out.reply = std::move(*reply);
  }
  finish_exchange(self, id, std::move(out));
}

// A udp:// exchange ended: `failure` is empty when the tracker accepted
// the announce, else what went wrong, for people.
void on_udp(tracker_self self, std::uint64_t id, const std::string& failure, std::int32_t interval,
            std::vector<peer_endpoint>& peers) {
  exchange_outcome out;
  out.failure = failure;
  if (failure.empty()) {
    out.reply.interval =
      std::clamp<std::int64_t>(interval, min_announce_interval, max_announce_interval);
    out.reply.peers = std::move(peers);
  }
  finish_exchange(self, id, std::move(out));
}

// The trackers this actor can talk to (http://, https:// and udp://); the others are
// reported to the owner and left out.
std::vector<std::vector<std::string>> usable_tiers(tracker_self self,
                                                   const std::vector<std::vector<std::string>>& tiers) {
  std::vector<std::vector<std::string>> out;
  for (const auto& tier : tiers) {
    auto& usable = out.emplace_back();
    for (const auto& text : tier) {
      auto u = parse_url(text);
      if (!u)
        note(self, text, "invalid " + u.err().message);
      else if (u->scheme != "http" && u->scheme != "https" && u->scheme != "udp")
        note(self, text, u->scheme + " tracker not supported yet");
      else
        usable.push_back(text);
    }
  }
  return out;
}

tracker_actor::behavior_type tracker_behavior(tracker_self self, asio::io_context* io,
                                              tracker_config cfg, tracker_owner_actor owner) {
  auto& st = self->state;
  st.io = io;
  st.owner = std::move(owner);
  announce_schedule_config sc;
  sc.request_timeout = cfg.request_timeout;
  sc.min_retry = cfg.min_retry;
  sc.max_retry = cfg.max_retry;
  sc.stop_timeout = cfg.stop_timeout;
  sc.ready_timeout = cfg.ready_timeout;
  sc.shuffle_tiers = cfg.shuffle_tiers;
  st.schedule.emplace(usable_tiers(self, cfg.tiers), self->clock().now(), sc);
  st.cfg = std::move(cfg);
  if (st.schedule->tiers().empty()) note(self, "", "no usable tracker");
  act(self);

  return {
    [self](ready_atom) {
      self->state.schedule->on_ready();
      act(self);
    },
    [self](completed_atom) {
      self->state.schedule->on_completed();
      act(self);
    },
    [self](stop_atom) -> caf::result<bool> {
      auto& st = self->state;
      auto rp = self->make_response_promise<bool>();
      st.stop_promises.push_back(rp);
      st.schedule->on_stop(self->clock().now());
      act(self);
      return rp;
    },
    [self](tick_atom) { act(self); },
    [self](http_atom, std::uint64_t id, std::int32_t status, const std::string& body) {
      on_http(self, id, status, body);
    },
    [self](udp_atom, std::uint64_t id, const std::string& failure, std::int32_t interval,
           std::vector<peer_endpoint>& peers) { on_udp(self, id, failure, interval, peers); },
  };
}

} // namespace

tracker_actor spawn_tracker(caf::actor_system& sys, asio::io_context& io, tracker_config cfg,
                            tracker_owner_actor owner) {
  return sys.spawn(tracker_behavior, &io, std::move(cfg), std::move(owner));
}

} // namespace actorrent
