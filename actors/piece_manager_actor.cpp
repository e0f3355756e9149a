#include "piece_manager_actor.hpp"

#include "ban_policy.hpp"
#include "piece_suggestions.hpp"
#include "log.hpp"
#include "write_backlog.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <memory>
#include <unordered_map>

namespace actorrent {

namespace {

struct peer_entry {
  peer_actor handle;
  std::string host;
  bitfield has;
  bool starved = false;
  piece_suggestions suggested;  // BEP 6 hints from the peer
};

struct piece_manager_state {
  static inline const char* name = "actorrent.piece_manager";

  piece_manager_config cfg;
  std::unique_ptr<piece_picker> picker;
  disk_writer_actor disk;
  piece_manager_owner_actor torrent;
  std::unordered_map<peer_key, peer_entry> peers;
  // Which host sent each block of the pieces not yet verified (by offset):
  // the suspects when the hash fails, connected or not by then.
  struct sender {
    std::uint32_t begin;
    std::string host;
  };
  std::unordered_map<std::uint32_t, std::vector<sender>> senders;
  std::unique_ptr<ban_policy> bans;
  torrent_progress progress;
  std::int64_t verifying_bytes = 0;
  write_backlog backlog;
  // Resume data: saved at most every few seconds while pieces pass.
  caf::actor_clock::time_point last_save{};
  bool saving = false;
  bool unsaved = false;
  bool was_endgame = false;
  bool finished = false;
};

using pm_self = piece_manager_actor::stateful_pointer<piece_manager_state>;

bool interesting(const piece_manager_state& st, const bitfield& has) {
  const auto& ours = st.picker->have_bits().bytes();
  const auto& theirs = has.bytes();
  for (std::size_t i = 0; i < theirs.size() && i < ours.size(); ++i)
    if (theirs[i] & ~ours[i]) return true;
  return false;
}

void wake_starved(pm_self self, peer_key except = 0) {
  for (auto& [key, p] : self->state.peers) {
    if (p.starved && key != except) {
      p.starved = false;
      self->send(p.handle, wake_atom_v);
    }
  }
}

void ban(pm_self self, std::vector<std::string> hosts) {
  for (auto& host : hosts) {
    ACTORRENT_LOG(info, "banning " << host << " for sending bad data");
    self->send(self->state.torrent, ban_atom_v, std::move(host));
  }
}

/// The piece failed: its blocks, by sender, go to the ban policy.
void judge_failure(pm_self self, std::uint32_t piece, const std::vector<block_digest>& digests) {
  auto& st = self->state;
  auto it = st.senders.find(piece);
  if (it == st.senders.end()) return;
  std::vector<block_origin> blocks;
  blocks.reserve(digests.size());
  for (const auto& d : digests)
    for (const auto& s : it->second)
      if (s.begin == d.begin) blocks.push_back({d.begin, s.host, d.digest});
  st.senders.erase(it);
  ban(self, st.bans->on_piece_failed(piece, blocks));
}

/// The piece passed: earlier failures of it can now be judged block by block.
void judge_success(pm_self self, std::uint32_t piece, const std::vector<block_digest>& digests) {
  auto& st = self->state;
  st.senders.erase(piece);
  if (st.bans->awaits_judgement(piece)) ban(self, st.bans->on_piece_passed(piece, digests));
}

/// Flushes the files and records the verified pieces in the resume file;
/// `then(ok)` runs when that is done (ok: the data is durable).
template <class F>
void save_resume(pm_self self, F then) {
  auto& st = self->state;
  st.saving = true;
  st.unsaved = false;
  st.last_save = self->clock().now();
  self->request(st.disk, st.cfg.disk_timeout, resume_atom_v, st.picker->have_bits().bytes())
    .then(
      [self, then](bool) mutable {
        self->state.saving = false;
        then(true);
      },
      [self, then](caf::error& err) mutable {
        self->state.saving = false;
        self->send(self->state.torrent, fatal_atom_v, from_caf_error(err).to_string());
        then(false);
      });
}

std::uint32_t block_size(const piece_manager_state& st) {
  return st.cfg.picker.block_size == 0 ? 16 * 1024 : st.cfg.picker.block_size;
}

std::size_t backlog_room(const piece_manager_state& st) {
  return st.backlog.room(st.picker->blocks_in_flight(), block_size(st));
}

void check_done(pm_self self) {
  auto& st = self->state;
  if (st.finished || !st.picker->wanted_complete()) return;
  st.finished = true;
  ACTORRENT_LOG(debug, "at most " << st.backlog.peak() << " bytes were held before being written");
  save_resume(self, [self](bool ok) {
    if (ok) self->send(self->state.torrent, done_atom_v);
  });
}

/// The DiskWriter is done with `piece` (passed, failed or errored): its
/// bytes no longer count against the limits, so peers held back may go on.
void piece_settled(pm_self self, std::int64_t size, bool was_at_piece_limit) {
  auto& st = self->state;
  bool was_full = st.verifying_bytes > st.cfg.max_verifying_bytes;
  bool had_no_room = backlog_room(st) == 0;
  st.verifying_bytes -= size;
  st.backlog.settled(size);
  if ((was_full && st.verifying_bytes <= st.cfg.max_verifying_bytes)
      || (was_at_piece_limit && !st.picker->at_piece_limit())
      || (had_no_room && backlog_room(st) > 0))
    wake_starved(self);
}

void verify(pm_self self, std::uint32_t piece) {
  auto& st = self->state;
  auto size = st.picker->piece_size(piece);
  st.verifying_bytes += size;
  self->request(st.disk, st.cfg.disk_timeout, verify_atom_v, piece, st.bans->awaits_judgement(piece))
    .then(
      [self, piece, size](piece_verdict& v) {
        auto& st = self->state;
        bool at_limit = st.picker->at_piece_limit();
        if (v.passed) {
          st.picker->on_piece_passed(piece);
          st.progress.bytes_have += st.picker->piece_size(piece);
          judge_success(self, piece, v.blocks);
          self->send(st.torrent, piece_atom_v, piece, true);
          for (auto& [key, p] : st.peers) self->send(p.handle, have_atom_v, piece);
          st.unsaved = true;
          piece_settled(self, size, at_limit);
          check_done(self);
          if (!st.finished && !st.saving && self->clock().now() - st.last_save > st.cfg.resume_interval)
            save_resume(self, [](bool) {});
        } else {
          ACTORRENT_LOG(info, "piece " << piece << " failed its hash check");
          st.picker->on_piece_failed(piece);
          ++st.progress.hash_failures;
          st.progress.wasted += static_cast<std::uint64_t>(st.picker->piece_size(piece));
          judge_failure(self, piece, v.blocks);
          self->send(st.torrent, piece_atom_v, piece, false);
          piece_settled(self, size, at_limit);
          wake_starved(self);
        }
      },
      [self, piece, size](caf::error& err) {
        // The disk failed (or did not answer): the piece is not ours, and
        // nobody is to blame for it. It leaves no claim and no count behind,
        // so whatever happens next (the torrent stops) starts from the truth.
        auto& st = self->state;
        bool at_limit = st.picker->at_piece_limit();
        st.picker->on_piece_failed(piece);
        st.senders.erase(piece);
        piece_settled(self, size, at_limit);
        auto e = from_caf_error(err);
        self->send(st.torrent, fatal_atom_v, "piece " + std::to_string(piece) + ": " + e.to_string());
      });
}

/// Answers a want of `key` with up to `max` blocks: of the pieces it
/// suggested first, then of any piece it has, or (`only`: it chokes us)
/// of those pieces alone.
void hand_out_work(pm_self self, peer_key key, std::uint32_t max,
                   const std::vector<std::uint32_t>* only) {
  auto& st = self->state;
  auto it = st.peers.find(key);
  if (it == st.peers.end()) return;
  auto& peer = it->second;
  if (st.finished) {
    self->send(peer.handle, work_atom_v, std::vector<block_ref>{});
    return;
  }
  if (st.verifying_bytes > st.cfg.max_verifying_bytes) {
    peer.starved = true;
    self->send(peer.handle, work_atom_v, std::vector<block_ref>{});
    return;
  }
  bitfield allowed;
  if (only != nullptr) {
    allowed = bitfield(st.cfg.num_pieces);
    for (auto p : *only)
      if (p < st.cfg.num_pieces && peer.has.test(p)) allowed.set(p);
  }
  const bitfield& from = only != nullptr ? allowed : peer.has;
  std::vector<block_ref> blocks;
  // Started pieces are always finished (they hold memory until they are);
  // new ones start only within the room the write backlog leaves, so a disk
  // that falls behind stops new pieces, never the ones under way.
  auto room = backlog_room(st);
  auto pick_from = [&](const bitfield& pieces) {
    if (blocks.size() >= max) return;
    auto more = st.picker->pick(key, pieces, max - blocks.size(), false);
    blocks.insert(blocks.end(), more.begin(), more.end());
    if (blocks.size() >= max || room == 0) return;
    more = st.picker->pick(key, pieces, std::min<std::size_t>(max - blocks.size(), room));
    room -= std::min(room, more.size());
    blocks.insert(blocks.end(), more.begin(), more.end());
  };
  if (!peer.suggested.empty()) {
    auto hinted = peer.suggested.wanted(from, st.picker->have_bits());
    if (!hinted.none()) pick_from(hinted);
  }
  pick_from(from);
  peer.starved = blocks.empty();
  bool endgame = st.picker->in_endgame();
  if (endgame && !st.was_endgame) {
    ACTORRENT_LOG(info, "end-game: " << st.picker->missing_blocks() << " blocks missing");
    // Idle peers may now take duplicates of blocks in flight.
    wake_starved(self, key);
  }
  st.was_endgame = endgame;
  self->send(peer.handle, work_atom_v, std::move(blocks));
}

piece_manager_actor::behavior_type piece_manager(pm_self self, piece_manager_config cfg,
                                                 disk_writer_actor disk,
                                                 piece_manager_owner_actor torrent) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.disk = std::move(disk);
  st.torrent = std::move(torrent);
  st.bans = std::make_unique<ban_policy>();
  if (st.cfg.max_unwritten_bytes > 0)
    st.backlog = write_backlog(std::max(st.cfg.max_unwritten_bytes, 2 * st.cfg.piece_length));
  auto picker_cfg = st.cfg.picker;
  if (picker_cfg.max_pieces_in_progress == 0 && st.cfg.max_in_progress_bytes > 0)
    picker_cfg.max_pieces_in_progress = static_cast<std::uint32_t>(std::max<std::int64_t>(
      2, st.cfg.max_in_progress_bytes / std::max<std::int64_t>(1, st.cfg.piece_length)));
  st.picker = std::make_unique<piece_picker>(st.cfg.num_pieces, st.cfg.piece_length,
                                             st.cfg.total_length, picker_cfg);
  if (st.cfg.have.size() == st.cfg.num_pieces) {
    for (std::uint32_t i = 0; i < st.cfg.num_pieces; ++i) {
      if (st.cfg.have.test(i)) {
        st.picker->set_have(i);
        st.progress.bytes_have += st.picker->piece_size(i);
      }
    }
  }
  if (!st.cfg.priorities.empty()) st.picker->set_priorities(st.cfg.priorities);
  st.progress.pieces_total = st.cfg.num_pieces;
  st.progress.bytes_total = st.cfg.total_length;
  check_done(self);

  return {
    [self](join_atom, peer_key key, std::string& host,
           peer_actor handle) -> std::vector<std::uint8_t> {
      auto& st = self->state;
      st.peers[key] = peer_entry{std::move(handle), std::move(host), bitfield(st.cfg.num_pieces), false, {}};
      if (st.picker->have_count() == 0) return {};
      return st.picker->have_bits().bytes();
    },
    [self](bitfield_atom, peer_key key, std::vector<std::uint8_t>& bytes) -> bool {
      auto& st = self->state;
      auto it = st.peers.find(key);
      if (it == st.peers.end()) return false;
      bitfield has;
      if (!has.assign_wire(bytes, st.cfg.num_pieces)) return false;
      st.picker->remove_peer_pieces(it->second.has);
      it->second.has = std::move(has);
      st.picker->add_peer_pieces(it->second.has);
      return interesting(st, it->second.has);
    },
    [self](have_atom, peer_key key, std::uint32_t piece) -> bool {
      auto& st = self->state;
      auto it = st.peers.find(key);
      if (it == st.peers.end() || piece >= st.cfg.num_pieces) return false;
      if (!it->second.has.test(piece)) {
        it->second.has.set(piece);
        st.picker->add_peer_piece(piece);
      }
      return !st.picker->have(piece) || interesting(st, it->second.has);
    },
    [self](want_atom, peer_key key, std::uint32_t max) { hand_out_work(self, key, max, nullptr); },
    [self](want_atom, peer_key key, std::uint32_t max, std::vector<std::uint32_t>& pieces) {
      hand_out_work(self, key, max, &pieces);
    },
    [self](suggest_atom, peer_key key, std::uint32_t piece) {
      auto& st = self->state;
      auto it = st.peers.find(key);
      if (it != st.peers.end() && piece < st.cfg.num_pieces && !st.picker->have(piece))
        it->second.suggested.add(piece);
    },
    [self](block_atom, peer_key key, block_ref b, block_buffer& data) {
      auto& st = self->state;
      st.progress.downloaded += data.size();
      auto r = st.picker->on_block(key, b);
      if (!r.accepted) {
        st.progress.wasted += data.size();
        st.progress.duplicate += data.size();
        return;
      }
      for (auto other : r.cancel) {
        auto p = st.peers.find(other);
        if (p != st.peers.end()) self->send(p->second.handle, cancel_atom_v, b);
      }
      st.backlog.received(static_cast<std::int64_t>(data.size()));
      if (auto p = st.peers.find(key); p != st.peers.end())
        st.senders[b.piece].push_back({b.begin, p->second.host});
      self->send(st.disk, write_atom_v, b.piece, b.begin, std::move(data));
      if (r.piece_complete) verify(self, b.piece);
    },
    [self](drop_atom, peer_key key, std::vector<block_ref>& blocks) {
      auto& st = self->state;
      for (auto& b : blocks) st.picker->on_request_dropped(key, b);
      wake_starved(self, key);
    },
    [self](leave_atom, peer_key key) {
      auto& st = self->state;
      auto it = st.peers.find(key);
      st.picker->on_peer_gone(key);
      if (it != st.peers.end()) {
        st.picker->remove_peer_pieces(it->second.has);
        st.peers.erase(it);
      }
      wake_starved(self);
    },
    [self](resume_atom) -> caf::result<bool> {
      auto rp = self->make_response_promise<bool>();
      save_resume(self, [rp](bool ok) mutable { rp.deliver(ok); });
      return rp;
    },
    [self](have_atom) { return self->state.picker->have_bits().bytes(); },
    [self](status_atom) -> torrent_progress {
      auto& st = self->state;
      auto p = st.progress;
      p.pieces_have = st.picker->have_count();
      p.endgame = st.picker->in_endgame();
      p.min_availability = st.picker->min_availability();
      // O(pieces) once a second at most: cheaper than keeping it on every change.
      for (std::uint32_t i = 0; i < st.cfg.num_pieces; ++i) {
        if (st.picker->priority(i) == 0) continue;
        p.total_wanted += st.picker->piece_size(i);
        if (st.picker->have(i)) p.total_wanted_done += st.picker->piece_size(i);
      }
      return p;
    },
    [self](priority_atom, std::vector<std::uint8_t>& priorities) {
      auto& st = self->state;
      st.picker->set_priorities(priorities);
      if (st.picker->wanted_complete()) {
        check_done(self);
        return true;
      }
      if (st.finished) {
        // More is wanted than what was complete: downloading again.
        st.finished = false;
        ACTORRENT_LOG(info, "file selection changed: " << st.picker->wanted_missing_blocks()
                                                       << " blocks to download");
      }
      for (auto& [key, p] : st.peers) {
        p.starved = false;
        self->send(p.handle, wake_atom_v);
      }
      return false;
    },
  };
}

} // namespace

piece_manager_actor spawn_piece_manager(caf::actor_system& sys, piece_manager_config cfg,
                                        disk_writer_actor disk, piece_manager_owner_actor torrent) {
  return sys.spawn(piece_manager, std::move(cfg), std::move(disk), std::move(torrent));
}

} // namespace actorrent
