#include "web_seed_actor.hpp"

#include "actorrent/metainfo.hpp"
#include "file_layout.hpp"
#include "log.hpp"
#include "printable.hpp"
#include "web_seed_connection.hpp"
#include "web_seed_plan.hpp"
#include "web_seed_refetch.hpp"

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <map>
#include <unordered_map>

namespace actorrent {

namespace {

using namespace std::chrono_literals;

// What a range request ended with (the http_atom's second field).
enum outcome : std::int32_t { got_data = 1, got_redirect = 2, got_failure = 3, not_answered = 4 };

// A response holds the range plus a head; the head is bounded like a
// tracker's (64 KiB), so nothing larger than asked ever lands in memory.
constexpr std::size_t max_head_bytes = 64u << 10;
// A request not answered because its connection ended goes out again this
// often at most before it counts as a failure.
constexpr int max_resends = 3;

/// A run of consecutive blocks of one piece, fetched with one range request
/// per file it touches, reported once every request brought its bytes.
struct run {
  std::uint32_t piece = 0;
  std::uint32_t begin = 0;
  std::vector<block_ref> blocks;
  std::vector<std::uint8_t> buffer;
  std::size_t outstanding = 0;
};

struct request {
  std::uint64_t run_id = 0;
  web_seed_range range;
  std::string origin;   // which connection carries it
  std::string sent_to;  // the file's URL it went to
  int resends = 0;
};

struct connection_slot {
  std::shared_ptr<web_seed_connection> conn;
};

struct web_seed_state {
  static inline const char* name = "actorrent.web_seed";

  web_seed_config cfg;
  asio::io_context* io = nullptr;
  piece_manager_actor pm;
  std::unique_ptr<file_layout> layout;
  std::vector<std::string> file_urls;  // per file; a redirect replaces one
  std::vector<int> redirects;          // per file
  std::map<std::string, connection_slot> conns;  // by origin (scheme://host:port)
  std::shared_ptr<asio::ssl::context> tls;
  std::map<std::uint64_t, run> runs;
  std::unordered_map<std::uint64_t, request> requests;
  std::uint64_t next_id = 1;
  std::uint32_t failures = 0;  // in a row
  std::unique_ptr<web_seed_refetch> refetch;
  bool joined = false;
  bool asking = false;
  bool backing_off = false;
  caf::actor_clock::time_point backoff_until;

  ~web_seed_state() {
    for (auto& [origin, slot] : conns) slot.conn->close();
  }
};

using ws_self = web_seed_actor::stateful_pointer<web_seed_state>;

std::string origin_of(const url& u) { return u.scheme + "://" + u.host + ":" + std::to_string(u.port); }

void ask(ws_self self) {
  auto& st = self->state;
  if (!st.joined || st.asking || st.backing_off || st.runs.size() >= st.cfg.max_runs) return;
  st.asking = true;
  self->send(st.pm, want_atom_v, st.cfg.key, st.cfg.blocks_per_want);
}

/// Forgets a run and its requests; its blocks go back to the pool.
void abandon(ws_self self, std::uint64_t run_id) {
  auto& st = self->state;
  auto it = st.runs.find(run_id);
  if (it == st.runs.end()) return;
  std::erase_if(st.requests, [run_id](const auto& r) { return r.second.run_id == run_id; });
  self->send(st.pm, drop_atom_v, st.cfg.key, std::move(it->second.blocks));
  st.runs.erase(it);
}

void send_range(ws_self self, std::uint64_t id, request req);

/// The run could not be fetched: back off (doubling), or give up on this
/// web seed after max_failures in a row. Failures of other runs during the
/// pause are part of the same episode.
void fail_run(ws_self self, std::uint64_t run_id, const std::string& why) {
  auto& st = self->state;
  abandon(self, run_id);
  if (st.backing_off) return;
  ++st.failures;
  if (st.failures >= st.cfg.max_failures) {
    ACTORRENT_LOG(warning, "web seed " << printable(st.cfg.url) << " dropped after " << st.failures
                                       << " failures in a row: " << why);
    self->quit();
    return;
  }
  auto pause = st.cfg.backoff * (1u << std::min<std::uint32_t>(st.failures - 1, 5));
  ACTORRENT_LOG(info, "web seed " << printable(st.cfg.url) << ": " << why << "; retrying in "
                                  << pause.count() << " ms");
  st.backing_off = true;
  st.backoff_until = self->clock().now() + pause;
  self->delayed_send(self, pause, tick_atom_v);
}

void send_range(ws_self self, std::uint64_t id, request req) {
  auto& st = self->state;
  const auto& target = st.file_urls[req.range.file];
  auto u = parse_url(target);
  if (!u || (u->scheme != "http" && u->scheme != "https")) {
    fail_run(self, req.run_id, "bad URL " + printable(target));
    return;
  }
  auto origin = origin_of(*u);
  auto& slot = st.conns[origin];
  if (!slot.conn) {
    std::shared_ptr<asio::ssl::context> tls;
    if (u->scheme == "https") {
      if (!st.tls) {
        auto ctx = make_http_tls_context(st.cfg.tls);
        if (!ctx) {
          st.conns.erase(origin);
          fail_run(self, req.run_id, ctx.err().message);
          return;
        }
        st.tls = std::move(*ctx);
      }
      tls = st.tls;
    }
    slot.conn = web_seed_connection::create(*st.io, *u, std::move(tls), st.cfg.max_runs, st.cfg.timeout,
                                            st.cfg.down_limits);
  }
  auto first = req.range.first;
  auto length = req.range.length;
  auto bytes = build_range_get(*u, st.cfg.user_agent, first, length);
  auto handle = caf::actor_cast<web_seed_actor>(self);
  slot.conn->send(std::move(bytes), static_cast<std::size_t>(length) + max_head_bytes,
                  [handle, id, first, length](result<http_response> r) {
                    if (!r) {
                      auto code = r.err().code == errc::cancelled ? not_answered : got_failure;
                      caf::anon_send(handle, http_atom_v, id, std::int32_t{code}, r.err().message);
                      return;
                    }
                    auto j = judge_range_reply(std::move(*r), first, length);
                    std::int32_t code = j.what == web_seed_reply::kind::data       ? got_data
                                        : j.what == web_seed_reply::kind::redirect ? got_redirect
                                                                                   : got_failure;
                    caf::anon_send(handle, http_atom_v, id, code, std::move(j.text));
                  });
  req.origin = std::move(origin);
  req.sent_to = target;
  st.requests[id] = std::move(req);
}

/// Runs of consecutive blocks within a piece, each fetched on its own.
void start_work(ws_self self, std::vector<block_ref> blocks) {
  auto& st = self->state;
  std::sort(blocks.begin(), blocks.end(),
            [](const block_ref& a, const block_ref& b) { return std::tie(a.piece, a.begin) < std::tie(b.piece, b.begin); });
  std::vector<run> made;
  for (const auto& b : blocks) {
    if (!made.empty()) {
      auto& last = made.back();
      const auto& prev = last.blocks.back();
      if (prev.piece == b.piece && prev.begin + prev.length == b.begin) {
        last.blocks.push_back(b);
        continue;
      }
    }
    made.push_back(run{b.piece, b.begin, {b}, {}, 0});
  }
  for (auto& r : made) {
    std::int64_t length = 0;
    for (const auto& b : r.blocks) length += b.length;
    auto plan = plan_web_seed_run(*st.layout, r.piece, r.begin, length);
    r.buffer.assign(static_cast<std::size_t>(length), 0);  // padding stays zero
    auto run_id = st.next_id++;
    r.outstanding = plan.size();
    st.runs.emplace(run_id, std::move(r));
    if (plan.empty()) {
      // Only padding (or nothing the layout knows): zeros, or a bad run.
      auto it = st.runs.find(run_id);
      for (const auto& b : it->second.blocks) {
        block_buffer data(b.length);
        std::fill(data.begin(), data.end(), std::uint8_t{0});
        self->send(st.pm, block_atom_v, st.cfg.key, b, std::move(data));
      }
      st.runs.erase(it);
      continue;
    }
    for (const auto& range : plan) send_range(self, st.next_id++, request{run_id, range, {}, {}, 0});
  }
}

/// Every range of the run arrived: its blocks go to the PieceManager.
void complete_run(ws_self self, std::uint64_t run_id) {
  auto& st = self->state;
  auto it = st.runs.find(run_id);
  if (it == st.runs.end()) return;
  auto& r = it->second;
  for (const auto& b : r.blocks) {
    auto data = block_buffer::copy_of(std::span(r.buffer).subspan(b.begin - r.begin, b.length));
    self->send(st.pm, block_atom_v, st.cfg.key, b, std::move(data));
    st.refetch->delivered(b);
  }
  st.runs.erase(it);
  st.failures = 0;
}

void on_reply(ws_self self, std::uint64_t id, std::int32_t code, std::string& text) {
  auto& st = self->state;
  auto it = st.requests.find(id);
  if (it == st.requests.end()) return;  // its run was abandoned
  auto req = std::move(it->second);
  st.requests.erase(it);
  auto run_it = st.runs.find(req.run_id);
  if (run_it == st.runs.end()) return;
  switch (code) {
    case got_data: {
      auto& r = run_it->second;
      auto at = r.buffer.begin() + static_cast<std::ptrdiff_t>(req.range.buffer_offset);
      std::copy(text.begin(), text.end(), at);  // judged: exactly range.length bytes
      if (--r.outstanding == 0) complete_run(self, req.run_id);
      ask(self);
      return;
    }
    case not_answered: {
      // The connection ended; the next request opens a new one.
      if (auto c = st.conns.find(req.origin); c != st.conns.end()) {
        c->second.conn->close();
        st.conns.erase(c);
      }
      if (req.resends >= max_resends) {
        fail_run(self, req.run_id, text);
        return;
      }
      ++req.resends;
      send_range(self, st.next_id++, std::move(req));
      return;
    }
    case got_redirect: {
      auto file = req.range.file;
      // Sent before an earlier answer moved the file: follow that move.
      if (req.sent_to != st.file_urls[file]) {
        send_range(self, st.next_id++, std::move(req));
        return;
      }
      auto from = parse_url(st.file_urls[file]);
      auto to = from ? resolve_location(*from, text) : from;
      if (!to) {
        fail_run(self, req.run_id, "bad redirect to " + printable(text));
        return;
      }
      if (from->scheme == "https" && to->scheme != "https") {
        fail_run(self, req.run_id, "refused redirect from https to " + printable(text));
        return;
      }
      if (++st.redirects[file] > st.cfg.max_redirects) {
        fail_run(self, req.run_id, "more than " + std::to_string(st.cfg.max_redirects) +
                                     " redirects for " + printable(st.file_urls[file]));
        return;
      }
      st.file_urls[file] = to_string(*to);
      send_range(self, st.next_id++, std::move(req));
      return;
    }
    default: {
      // The connection may be in any state after a bad reply: start afresh.
      if (auto c = st.conns.find(req.origin); c != st.conns.end()) {
        c->second.conn->close();
        st.conns.erase(c);
      }
      fail_run(self, req.run_id, text);
      return;
    }
  }
}

web_seed_actor::behavior_type web_seed(ws_self self, asio::io_context* io, web_seed_config cfg,
                                       piece_manager_actor pm) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.io = io;
  st.pm = pm;
  const auto& meta = *st.cfg.meta;
  std::vector<layout_file> files;
  for (const auto& f : meta.files) {
    st.file_urls.push_back(web_seed_file_url(st.cfg.url, meta.multi_file, meta.name, f.path));
    files.push_back({f.path, f.length, f.pad});
  }
  st.redirects.assign(meta.files.size(), 0);
  st.layout = std::make_unique<file_layout>(std::move(files), meta.piece_length);
  st.refetch = std::make_unique<web_seed_refetch>(meta.piece_count(), meta.piece_length,
                                                  st.cfg.prefer_others_for);

  // Whatever ends this actor, its blocks go back to the pool; without the
  // PieceManager there is nothing to do.
  auto key = st.cfg.key;
  self->attach_functor([pm, key](const caf::error&) { caf::anon_send(pm, leave_atom_v, key); });
  self->monitor(pm);
  self->set_down_handler([self](caf::down_msg&) { self->quit(); });

  ACTORRENT_LOG(info, "web seed " << printable(st.cfg.url));
  self->request(pm, 30s, join_atom_v, key, st.cfg.url, caf::actor_cast<peer_actor>(self))
    .then(
      [self](std::vector<std::uint8_t>&) {
        auto& st = self->state;
        // A web seed has every piece.
        bitfield all(st.cfg.meta->piece_count());
        for (std::uint32_t i = 0; i < all.size(); ++i) all.set(i);
        self->request(st.pm, 30s, bitfield_atom_v, st.cfg.key, all.bytes())
          .then(
            [self](bool) {
              self->state.joined = true;
              ask(self);
            },
            [self](caf::error&) { self->quit(); });
      },
      [self](caf::error&) { self->quit(); });

  return {
    [self](cancel_atom, block_ref b) {
      // Another peer delivered it first; no need to report it again.
      for (auto& [id, r] : self->state.runs) std::erase(r.blocks, b);
    },
    [](have_atom, std::uint32_t) {},
    [self](wake_atom) { ask(self); },
    [self](work_atom, std::vector<block_ref>& blocks) {
      auto& st = self->state;
      st.asking = false;
      if (blocks.empty()) return;  // a wake follows when there is work
      if (st.backing_off) {
        self->send(st.pm, drop_atom_v, st.cfg.key, std::move(blocks));
        return;
      }
      auto split = st.refetch->offer(std::move(blocks), self->clock().now());
      for (auto piece : split.newly_returned)
        ACTORRENT_LOG(info, "web seed " << printable(st.cfg.url) << ": piece " << piece
                                        << " failed after it served it; leaving it to other sources for "
                                        << st.cfg.prefer_others_for.count() << " ms");
      if (!split.keep.empty()) start_work(self, std::move(split.keep));
      if (!split.give_back.empty()) {
        self->send(st.pm, drop_atom_v, st.cfg.key, std::move(split.give_back));
        // Asking now would be offered the same blocks again: the next run
        // that completes asks, or a retry when none is in flight.
        if (st.runs.empty()) self->delayed_send(self, st.cfg.refetch_retry, tick_atom_v);
        return;
      }
      ask(self);
    },
    [](choke_atom) {},
    [](unchoke_atom) {},
    [self](stop_atom) { self->quit(); },
    [self](http_atom, std::uint64_t id, std::int32_t code, std::string& text) {
      on_reply(self, id, code, text);
    },
    [self](tick_atom) {
      // Ticks come from backoffs and from refetch retries; only the
      // backoff's own ends it.
      auto& st = self->state;
      if (st.backing_off && self->clock().now() >= st.backoff_until) st.backing_off = false;
      ask(self);
    },
  };
}

} // namespace

web_seed_actor spawn_web_seed(caf::actor_system& sys, asio::io_context& io, web_seed_config cfg,
                              piece_manager_actor pm) {
  return sys.spawn(web_seed, &io, std::move(cfg), std::move(pm));
}

} // namespace actorrent
