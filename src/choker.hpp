// Decides which connected peers we upload to (BEP 3 choking).
//
// Every peer starts choked; the choker only reports changes. Peers that are
// not interested in us are never unchoked, and an unchoked peer that lost
// interest is choked at the next rechoke(). At most upload_slots regular
// peers plus one optimistic peer are unchoked at any time.
//
// Regular slots while downloading (tit-for-tat): the upload_slots interested,
// non-snubbed peers that give us the most (download_rate). Ties go to peers
// already holding a regular slot (no churn among equals), then to the peer
// that has waited longest since we last choked it (or since it connected),
// then to the smaller key.
//
// Regular slots while seeding (time-sliced round robin): what a peer gives us
// no longer matters, and ranking by upload rate alone would starve slow
// peers forever. A regular slot is a turn of seeding_turn:
// - a holder whose turn is not over keeps its slot;
// - free slots go first to choked peers, the one choked longest ago (or
//   connected longest ago, if never unchoked) first, then the one we upload
//   to fastest;
// - only when no choked peer waits do peers that are unchoked already (an
//   expired holder or the optimistic peer) get a new turn, fastest upload
//   first.
// An optimistic turn counts as a turn: the peer queues again from when it
// is choked. So with N interested peers, a choked peer waits at most about
// ceil((N - upload_slots - 1) / upload_slots) turns before it is unchoked.
// The snubbed flag is ignored when seeding (we request nothing, so a stale
// flag from the download must not exclude anyone).
//
// Optimistic slot: one interested peer outside the regular set, kept for
// optimistic_interval, then re-chosen at random (the outgoing peer only when
// it is the sole candidate). A peer connected less than newcomer_window ago
// weighs 3 against 1 for the others, so newcomers, which have nothing to
// trade yet, get a first piece soon. While downloading, snubbed peers are
// chosen only when no other candidate exists. When the optimistic peer
// leaves, loses interest or wins a regular slot, a new one is chosen at once.
//
// Deterministic: the same seed and the same calls give the same decisions,
// whatever the order of the peers passed to rechoke(). Time is passed in.
// Not thread-safe; meant to be owned by one actor.
#pragma once

#include "piece_picker.hpp" // peer_key

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <unordered_map>
#include <vector>

namespace actorrent {

struct choker_config {
  std::size_t upload_slots = 4;                 // regular unchoke slots (0: optimistic only)
  std::chrono::seconds rechoke_interval{10};    // how often the owner should call rechoke()
  std::chrono::seconds optimistic_interval{30}; // the optimistic peer is re-chosen this often
  std::chrono::seconds seeding_turn{30};        // length of a regular slot while seeding
  std::chrono::seconds newcomer_window{60};     // connected this recently: 3x optimistic weight
  std::uint64_t seed = 0;                       // optimistic choice; 0 = std::random_device
};

struct choker_peer {
  peer_key key = 0;
  bool interested = false;  // the remote peer is interested in us
  bool snubbed = false;     // it stopped sending us data (we will not reward it)
  double download_rate = 0; // bytes/s we receive from it (recent)
  double upload_rate = 0;   // bytes/s we send to it (recent)
  std::chrono::steady_clock::time_point connected{}; // newcomers are favoured optimistically
};

/// Only the changes versus the previous state, each list sorted by key.
struct choke_decision {
  std::vector<peer_key> unchoke;
  std::vector<peer_key> choke;
};

class choker {
public:
  using time_point = std::chrono::steady_clock::time_point;

  explicit choker(choker_config cfg = {});

  /// Recomputes the unchoke set. `peers` is every connected peer (peers
  /// missing from it are forgotten, as by on_peer_gone, and not reported);
  /// `seeding`: we have every piece. Duplicate keys: the first entry counts.
  choke_decision rechoke(const std::vector<choker_peer>& peers, bool seeding, time_point now);
  /// `key` became interested: true if it takes a free slot now (a regular
  /// one, else the empty optimistic one) and must be unchoked; false if it
  /// is unchoked already or every slot is taken.
  bool on_interested(peer_key key, time_point now);
  /// Forgets `key` and frees its slot.
  void on_peer_gone(peer_key key);

  bool is_unchoked(peer_key key) const;
  /// Regular plus optimistic.
  std::size_t unchoked_count() const noexcept;
  /// The peer holding the optimistic slot, if any.
  std::optional<peer_key> optimistic_peer() const noexcept { return optimistic_; }

private:
  enum class slot : std::uint8_t { none, regular, optimistic };
  struct peer_state {
    slot held = slot::none;
    slot next = slot::none;   // scratch for rechoke()
    time_point slot_since{};   // start of the current regular turn
    time_point choked_at = time_point::min(); // last time we choked it
    time_point connected{};
  };

  time_point waiting_since(const peer_state& s) const noexcept;
  std::optional<peer_key> choose_optimistic(const std::vector<const choker_peer*>& candidates,
                                            time_point now);

  choker_config cfg_;
  std::mt19937_64 rng_;
  std::unordered_map<peer_key, peer_state> peers_;
  std::size_t regular_count_ = 0;
  std::optional<peer_key> optimistic_;
  time_point optimistic_since_{};
};

} // namespace actorrent
