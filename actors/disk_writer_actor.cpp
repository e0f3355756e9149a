#include "disk_writer_actor.hpp"

#include "log.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <unordered_map>

namespace actorrent {

namespace {

struct pending_block {
  std::uint32_t begin;
  std::vector<std::uint8_t> data;
};

struct disk_writer_state {
  static inline const char* name = "actorrent.disk_writer";

  std::shared_ptr<storage> store;
  std::vector<sha1_hash> hashes;
  // Blocks of pieces not yet verified. Only verified data reaches the disk,
  // so a bad peer can never overwrite good data and a crash leaves only
  // whole, correct pieces behind.
  std::unordered_map<std::uint32_t, std::vector<pending_block>> pending;
  sha1_hasher hasher;
};

using dw_self = disk_writer_actor::stateful_pointer<disk_writer_state>;

/// Hashes the buffered blocks of `piece`; true when they cover it exactly and match.
bool matches(disk_writer_state& st, std::uint32_t piece, std::vector<pending_block>& blocks) {
  std::sort(blocks.begin(), blocks.end(),
            [](const auto& a, const auto& b) { return a.begin < b.begin; });
  std::int64_t expected = st.store->layout().piece_size(piece);
  std::int64_t pos = 0;
  for (auto& b : blocks) {
    if (b.begin != pos) return false;
    st.hasher.update(b.data);
    pos += static_cast<std::int64_t>(b.data.size());
  }
  auto digest = st.hasher.finish();
  return pos == expected && piece < st.hashes.size() && digest == st.hashes[piece];
}

disk_writer_actor::behavior_type disk_writer(dw_self self, std::shared_ptr<storage> store,
                                             std::vector<sha1_hash> hashes) {
  auto& st = self->state;
  st.store = std::move(store);
  st.hashes = std::move(hashes);
  return {
    [self](write_atom, std::uint32_t piece, std::uint32_t begin, std::vector<std::uint8_t>& data) {
      self->state.pending[piece].push_back({begin, std::move(data)});
    },
    [self](verify_atom, std::uint32_t piece) -> caf::result<bool> {
      auto& st = self->state;
      auto it = st.pending.find(piece);
      if (it == st.pending.end()) return false;
      auto blocks = std::move(it->second);
      st.pending.erase(it);
      if (!matches(st, piece, blocks)) return false;
      for (auto& b : blocks) {
        if (auto err = st.store->write(piece, b.begin, b.data))
          return to_caf_error(err);
      }
      return true;
    },
    [self](read_atom, std::uint32_t piece, std::uint32_t begin,
           std::uint32_t length) -> caf::result<std::vector<std::uint8_t>> {
      auto& st = self->state;
      std::vector<std::uint8_t> out(length);
      if (auto err = st.store->read(piece, begin, out)) return to_caf_error(err);
      return out;
    },
    [self](check_atom, std::uint32_t piece) -> caf::result<bool> {
      auto& st = self->state;
      auto size = st.store->layout().piece_size(piece);
      if (size <= 0 || piece >= st.hashes.size()) return false;
      std::vector<std::uint8_t> data(static_cast<std::size_t>(size));
      if (auto err = st.store->read(piece, 0, data)) return to_caf_error(err);
      return sha1(data) == st.hashes[piece];
    },
    [self](flush_atom) -> caf::result<bool> {
      if (auto err = self->state.store->flush()) return to_caf_error(err);
      return true;
    },
  };
}

} // namespace

disk_writer_actor spawn_disk_writer(caf::actor_system& sys, std::shared_ptr<storage> store,
                                    std::vector<sha1_hash> piece_hashes, bool own_thread) {
  if (!own_thread) return sys.spawn(disk_writer, std::move(store), std::move(piece_hashes));
  return sys.spawn<caf::detached>(disk_writer, std::move(store), std::move(piece_hashes));
}

} // namespace actorrent
