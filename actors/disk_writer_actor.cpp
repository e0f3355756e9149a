#include "disk_writer_actor.hpp"

#include "log.hpp"
#include "resume_data.hpp"
#include "stored_piece_check.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <unordered_map>

namespace actorrent {

namespace {

struct pending_block {
  std::uint32_t begin;
  block_buffer data;
};

struct disk_writer_state {
  static inline const char* name = "actorrent.disk_writer";

  std::shared_ptr<storage> store;
  std::vector<sha1_hash> hashes;
  sha1_hash info_hash;
  std::filesystem::path resume_file;  // empty: no resume data
  // Blocks of pieces not yet verified. Only verified data reaches the disk,
  // so a bad peer can never overwrite good data and a crash leaves only
  // whole, correct pieces behind.
  std::unordered_map<std::uint32_t, std::vector<pending_block>> pending;
  sha1_hasher hasher;
};

using dw_self = disk_writer_actor::stateful_pointer<disk_writer_state>;

/// Each block's own digest, for judging who sent bad data.
std::vector<block_digest> block_digests(const std::vector<pending_block>& blocks) {
  std::vector<block_digest> out;
  out.reserve(blocks.size());
  for (const auto& b : blocks) out.push_back({b.begin, sha1(b.data)});
  return out;
}

/// Hashes the buffered blocks of `piece`; true when they cover it exactly and match.
bool matches(disk_writer_state& st, std::uint32_t piece, std::vector<pending_block>& blocks) {
  std::sort(blocks.begin(), blocks.end(),
            [](const auto& a, const auto& b) { return a.begin < b.begin; });
  std::int64_t expected = st.store->layout().piece_size(piece);
  std::int64_t pos = 0;
  for (auto& b : blocks) {
    if (b.begin != pos) {
      st.hasher.finish();  // reset for the next piece
      return false;
    }
    st.hasher.update(b.data);
    pos += static_cast<std::int64_t>(b.data.size());
  }
  auto digest = st.hasher.finish();
  return pos == expected && piece < st.hashes.size() && digest == st.hashes[piece];
}

disk_writer_actor::behavior_type disk_writer(dw_self self, std::shared_ptr<storage> store,
                                             std::vector<sha1_hash> hashes, disk_options opts) {
  auto& st = self->state;
  st.store = std::move(store);
  st.hashes = std::move(hashes);
  st.info_hash = opts.info_hash;
  st.resume_file = opts.resume_file;
  return {
    [self](write_atom, std::uint32_t piece, std::uint32_t begin, block_buffer& data) {
      self->state.pending[piece].push_back({begin, std::move(data)});
    },
    [self](verify_atom, std::uint32_t piece, bool digests) -> caf::result<piece_verdict> {
      auto& st = self->state;
      auto it = st.pending.find(piece);
      if (it == st.pending.end()) return piece_verdict{};
      auto blocks = std::move(it->second);
      st.pending.erase(it);
      piece_verdict v;
      v.passed = matches(st, piece, blocks);
      // A second pass over the blocks, only when someone must be judged.
      if (!v.passed || digests) v.blocks = block_digests(blocks);
      if (!v.passed) return v;
      // matches() left the blocks sorted and contiguous from 0: one gathered write.
      std::vector<std::span<const std::uint8_t>> parts;
      parts.reserve(blocks.size());
      for (auto& b : blocks) parts.emplace_back(b.data);
      if (auto err = st.store->write_parts(piece, 0, parts)) return to_caf_error(err);
      return v;
    },
    [self](read_atom, std::uint32_t piece, std::uint32_t begin,
           std::uint32_t length) -> caf::result<std::vector<std::uint8_t>> {
      auto& st = self->state;
      std::vector<std::uint8_t> out(length);
      if (auto err = st.store->read(piece, begin, out)) return to_caf_error(err);
      return out;
    },
    [self](plan_atom) {
      auto& st = self->state;
      auto plan = plan_recheck(error{errc::cancelled, "a full recheck was asked for"}, st.info_hash,
                               st.store->layout(), st.store->stat_files());
      std::vector<std::uint32_t> todo;
      for (std::uint32_t i = 0; i < plan.check.size(); ++i)
        if (plan.check.test(i)) todo.push_back(i);
      return todo;
    },
    [self](check_atom, std::vector<std::uint32_t>& pieces)
      -> caf::result<std::vector<std::uint32_t>> {
      auto& st = self->state;
      auto good = verify_stored_pieces(*st.store, st.hashes, pieces);
      if (!good) return to_caf_error(good.err());
      return std::move(*good);
    },
    [self](resume_atom, std::vector<std::uint8_t>& verified) -> caf::result<bool> {
      auto& st = self->state;
      // The resume file may only claim what is durable, so flush first.
      if (auto err = st.store->flush()) return to_caf_error(err);
      if (st.resume_file.empty()) return true;
      resume_data r;
      r.info_hash = st.info_hash;
      r.num_pieces = st.store->layout().num_pieces();
      if (!r.pieces.assign_wire(verified, r.num_pieces))
        return to_caf_error({errc::invalid_argument, "resume bitfield has the wrong size"});
      r.files = st.store->stat_files();
      if (auto err = write_resume_file(st.resume_file, r)) {
        // Losing the resume file only costs a recheck later; keep going.
        ACTORRENT_LOG(warning, "cannot save resume data: " << err.to_string());
        return false;
      }
      return true;
    },
  };
}

} // namespace

disk_writer_actor spawn_disk_writer(caf::actor_system& sys, std::shared_ptr<storage> store,
                                    std::vector<sha1_hash> piece_hashes, disk_options opts) {
  if (!opts.own_thread)
    return sys.spawn(disk_writer, std::move(store), std::move(piece_hashes), std::move(opts));
  return sys.spawn<caf::detached>(disk_writer, std::move(store), std::move(piece_hashes),
                                  std::move(opts));
}

} // namespace actorrent
