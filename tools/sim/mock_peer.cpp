#include "mock_peer.hpp"

#include "handshake.hpp"
#include "wire_decoder.hpp"
#include "wire_encoder.hpp"

#include <caf/actor_cast.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <chrono>
#include <set>
#include <tuple>

namespace actorrent::sim {

namespace {

using time_point = caf::actor_clock::time_point;
using namespace std::chrono;

struct block_less {
  bool operator()(const block_ref& a, const block_ref& b) const {
    return std::tie(a.piece, a.begin, a.length) < std::tie(b.piece, b.begin, b.length);
  }
};

struct mock_state {
  static inline const char* name = "actorrent.sim.mock_peer";

  mock_profile profile;
  bitfield has;
  peer_connection_actor peer;  // our side, learned from its first bytes
  wire::decoder decoder{wire::decoder_limits{}, true};
  bool unchoked = false;
  time_point busy_until{};
  std::set<block_ref, block_less> pending;  // requested, not yet sent or cancelled
  mock_report report;
};

using mock_self = mock_peer_actor::stateful_pointer<mock_state>;

milliseconds latency(const mock_state& st) { return milliseconds{st.profile.latency_ms}; }

/// Sends `bytes` to our side after the one-way delay.
void transmit(mock_self self, std::vector<std::uint8_t> bytes) {
  auto& st = self->state;
  if (!st.peer || bytes.empty()) return;
  self->delayed_send(st.peer, latency(st), data_atom_v, std::move(bytes));
}

void on_request(mock_self self, const wire::request& r) {
  auto& st = self->state;
  ++st.report.requests;
  block_ref b{r.piece, r.begin, r.length};
  if (!st.unchoked || r.piece >= st.profile.content.num_pieces || !st.has.test(r.piece)
      || std::int64_t{r.begin} + r.length > st.profile.content.piece_size(r.piece))
    return;  // a real peer would drop it (or disconnect); ours never asks so
  if (st.profile.silent || !st.pending.insert(b).second) return;
  // The link sends one block after another at the peer's rate.
  auto now = self->clock().now();
  auto start = std::max(now, st.busy_until);
  auto sending = duration_cast<nanoseconds>(duration<double>(r.length / st.profile.rate));
  st.busy_until = start + sending;
  self->delayed_send(self, duration_cast<milliseconds>(st.busy_until - now) + milliseconds{1},
                     deliver_atom_v, b);
}

void deliver(mock_self self, const block_ref& b) {
  auto& st = self->state;
  if (st.pending.erase(b) == 0) return;  // cancelled
  std::vector<std::uint8_t> out;
  out.reserve(13 + b.length);
  wire::append_piece_header(out, b.piece, b.begin, b.length);
  auto at = out.size();
  out.resize(at + b.length);
  fill(st.profile.content, std::int64_t{b.piece} * st.profile.content.piece_length + b.begin,
       std::span<std::uint8_t>(out.data() + at, b.length));
  if (st.profile.corrupt) out[at + b.length / 2] ^= 0x5a;
  st.report.bytes_sent += b.length;
  ++st.report.blocks_sent;
  transmit(self, std::move(out));
}

void on_wire(mock_self self, std::vector<std::uint8_t>& bytes) {
  auto& st = self->state;
  if (!st.peer) st.peer = caf::actor_cast<peer_connection_actor>(self->current_sender());
  st.decoder.feed(bytes);
  std::vector<std::uint8_t> reply;
  for (;;) {
    auto item = st.decoder.next();
    if (!item || !item->has_value()) break;  // our side never sends garbage
    if (auto* hs = std::get_if<wire::handshake>(&**item)) {
      if (hs->info_hash != st.profile.info_hash) break;
      st.report.handshaken = true;
      wire::handshake ours;
      ours.info_hash = st.profile.info_hash;
      ours.peer_id.fill('m');
      auto id = std::to_string(st.profile.id);
      std::copy(id.begin(), id.end(), ours.peer_id.begin() + 8);
      wire::append_handshake(reply, ours);
      if (st.has.count() > 0) wire::append(reply, wire::bitfield{st.profile.has});
      continue;
    }
    std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, wire::interested>) {
          if (!st.unchoked) {
            st.unchoked = true;
            wire::append(reply, wire::unchoke{});
          }
        } else if constexpr (std::is_same_v<T, wire::request>) {
          on_request(self, m);
        } else if constexpr (std::is_same_v<T, wire::cancel>) {
          ++st.report.cancels;
          st.pending.erase(block_ref{m.piece, m.begin, m.length});
        }
      },
      std::get<wire::message>(**item));
  }
  transmit(self, std::move(reply));
}

mock_peer_actor::behavior_type mock_peer(mock_self self, mock_profile profile) {
  auto& st = self->state;
  st.profile = std::move(profile);
  st.report.id = st.profile.id;
  st.has = bitfield(st.profile.content.num_pieces);
  if (!st.has.assign_wire(st.profile.has, st.profile.content.num_pieces))
    st.has = bitfield(st.profile.content.num_pieces);
  wire::decoder_limits lim;
  lim.num_pieces = st.profile.content.num_pieces;
  st.decoder = wire::decoder(lim, true);
  if (st.profile.leave_after_ms > 0)
    self->delayed_send(self, milliseconds{st.profile.leave_after_ms}, closed_atom_v);
  return {
    [self](wire_atom, std::vector<std::uint8_t>& bytes) { on_wire(self, bytes); },
    // Our side closed; stay for the harness's report.
    [self](stop_atom) { self->state.pending.clear(); },
    [self](deliver_atom, block_ref b) { deliver(self, b); },
    [self](closed_atom) {
      auto& st = self->state;
      st.report.left = true;
      st.pending.clear();
      if (st.peer) self->send(st.peer, closed_atom_v, std::string("the mock peer left"));
    },
    [self](status_atom) { return self->state.report; },
  };
}

} // namespace

mock_peer_actor spawn_mock_peer(caf::actor_system& sys, mock_profile profile) {
  return sys.spawn(mock_peer, std::move(profile));
}

} // namespace actorrent::sim
