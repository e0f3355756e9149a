#include "piece_picker.hpp"

#include <algorithm>
#include <limits>
#include <numeric>
#include <random>

namespace actorrent {

namespace {

constexpr std::uint32_t default_block_size = 16 * 1024;

std::uint32_t ceil_div(std::int64_t a, std::int64_t b) {
  return static_cast<std::uint32_t>((a + b - 1) / b);
}

// A peer bitfield of the wrong size must not make us read out of bounds.
bool peer_has_piece(const bitfield& has, std::uint32_t piece) {
  return piece < has.size() && has.test(piece);
}

} // namespace

piece_picker::piece_picker(std::uint32_t num_pieces, std::int64_t piece_length,
                           std::int64_t total_length, picker_config cfg)
  : num_pieces_(num_pieces),
    piece_length_(std::max<std::int64_t>(piece_length, 1)),
    total_length_(total_length),
    cfg_(cfg),
    availability_(num_pieces, 0),
    have_(num_pieces),
    state_(num_pieces, piece_state::untouched),
    slot_of_(num_pieces, no_slot) {
  priority_.assign(num_pieces_, 1);
  if (cfg_.block_size == 0) cfg_.block_size = default_block_size;
  // Clamped so inconsistent sizes still give every piece at least one block.
  last_piece_size_ = num_pieces_ == 0
    ? 0
    : std::clamp<std::int64_t>(total_length_ - std::int64_t{num_pieces_ - 1} * piece_length_,
                               1, piece_length_);
  blocks_per_piece_ = ceil_div(piece_length_, cfg_.block_size);
  last_piece_blocks_ = num_pieces_ == 0 ? 0 : ceil_div(last_piece_size_, cfg_.block_size);

  missing_ = num_pieces_ == 0 ? 0 : (num_pieces_ - 1) * blocks_per_piece_ + last_piece_blocks_;
  unrequested_ = missing_;

  order_.resize(num_pieces_);
  std::iota(order_.begin(), order_.end(), 0u);
  std::uint64_t seed = cfg_.seed;
  if (seed == 0) {
    std::random_device rd;
    seed = (std::uint64_t{rd()} << 32) | rd();
  }
  std::mt19937_64 rng(seed);
  // Own Fisher-Yates so a seed gives the same order with every standard library.
  if (cfg_.strategy == pick_strategy::sequential) return;
  for (std::uint32_t i = num_pieces_; i > 1; --i) {
    auto j = static_cast<std::uint32_t>(rng() % i);
    std::swap(order_[i - 1], order_[j]);
  }
}

std::uint32_t piece_picker::min_availability() const noexcept {
  std::uint32_t m = std::numeric_limits<std::uint32_t>::max();
  for (std::uint32_t p = 0; p < num_pieces_; ++p)
    m = std::min(m, availability_[p] + (have_.test(p) ? 1u : 0u));
  return num_pieces_ == 0 ? 0 : m;
}

std::uint32_t piece_picker::blocks_in_piece(std::uint32_t piece) const noexcept {
  if (piece >= num_pieces_) return 0;
  return piece + 1 == num_pieces_ ? last_piece_blocks_ : blocks_per_piece_;
}

std::int64_t piece_picker::piece_size(std::uint32_t piece) const noexcept {
  if (piece >= num_pieces_) return 0;
  return piece + 1 == num_pieces_ ? last_piece_size_ : piece_length_;
}

std::uint32_t piece_picker::block_length(std::uint32_t piece, std::uint32_t block) const noexcept {
  std::int64_t size = piece_size(piece);
  std::int64_t begin = std::int64_t{block} * cfg_.block_size;
  if (begin >= size) return 0;
  return static_cast<std::uint32_t>(std::min<std::int64_t>(cfg_.block_size, size - begin));
}

block_ref piece_picker::make_ref(std::uint32_t piece, std::uint32_t block) const noexcept {
  return block_ref{piece, block * cfg_.block_size, block_length(piece, block)};
}

bool piece_picker::block_index(const block_ref& b, std::uint32_t& index) const noexcept {
  if (b.piece >= num_pieces_ || b.begin % cfg_.block_size != 0) return false;
  index = b.begin / cfg_.block_size;
  return index < blocks_in_piece(b.piece) && b.length == block_length(b.piece, index);
}

// ---- availability ---------------------------------------------------------

void piece_picker::add_peer_pieces(const bitfield& has) {
  auto n = static_cast<std::uint32_t>(std::min<std::size_t>(has.size(), num_pieces_));
  for (std::uint32_t i = 0; i < n; ++i)
    if (has.test(i)) ++availability_[i];
}

void piece_picker::remove_peer_pieces(const bitfield& has) {
  auto n = static_cast<std::uint32_t>(std::min<std::size_t>(has.size(), num_pieces_));
  for (std::uint32_t i = 0; i < n; ++i)
    if (has.test(i) && availability_[i] > 0) --availability_[i];
}

void piece_picker::add_peer_piece(std::uint32_t piece) {
  if (piece < num_pieces_) ++availability_[piece];
}

std::uint32_t piece_picker::availability(std::uint32_t piece) const noexcept {
  return piece < num_pieces_ ? availability_[piece] : 0;
}

// ---- our pieces -----------------------------------------------------------

bool piece_picker::have(std::uint32_t piece) const noexcept {
  return piece < num_pieces_ && state_[piece] == piece_state::had;
}

bool piece_picker::pending_verification(std::uint32_t piece) const noexcept {
  return piece < num_pieces_ && state_[piece] == piece_state::pending;
}

void piece_picker::set_have(std::uint32_t piece) {
  if (piece >= num_pieces_) return;
  switch (state_[piece]) {
    case piece_state::had:
      return;
    case piece_state::untouched:
      leaving_untouched(piece);
      missing_ -= blocks_in_piece(piece);
      unrequested_ -= blocks_in_piece(piece);
      break;
    case piece_state::partial: {
      forget_requests(piece);
      const slot& s = slots_[slot_of_[piece]];
      missing_ -= blocks_in_piece(piece) - s.received;
      unrequested_ -= s.unrequested;
      release_slot(piece);
      break;
    }
    case piece_state::pending:
      --pending_count_;
      break;
  }
  state_[piece] = piece_state::had;
  have_.set(piece);
  ++have_count_;
}

void piece_picker::on_piece_passed(std::uint32_t piece) { set_have(piece); }

void piece_picker::on_piece_failed(std::uint32_t piece) {
  if (piece >= num_pieces_) return;
  switch (state_[piece]) {
    case piece_state::untouched:
    case piece_state::had:
      return;
    case piece_state::partial: {
      forget_requests(piece);
      const slot& s = slots_[slot_of_[piece]];
      missing_ += s.received;
      unrequested_ += s.received;
      release_slot(piece);
      break;
    }
    case piece_state::pending:
      --pending_count_;
      missing_ += blocks_in_piece(piece);
      unrequested_ += blocks_in_piece(piece);
      break;
  }
  state_[piece] = piece_state::untouched;
  entering_untouched(piece);
}

// ---- slots ----------------------------------------------------------------

piece_picker::block_info* piece_picker::blocks_of(std::uint32_t slot_index) noexcept {
  return block_pool_.data() + std::size_t{slot_index} * blocks_per_piece_;
}

const piece_picker::block_info* piece_picker::blocks_of(std::uint32_t slot_index) const noexcept {
  return block_pool_.data() + std::size_t{slot_index} * blocks_per_piece_;
}

std::uint32_t piece_picker::start_piece(std::uint32_t piece) {
  std::uint32_t si;
  if (!free_slots_.empty()) {
    si = free_slots_.back();
    free_slots_.pop_back();
  } else {
    si = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
    block_pool_.resize(block_pool_.size() + blocks_per_piece_);
  }
  std::fill_n(blocks_of(si), blocks_per_piece_, block_info{});
  leaving_untouched(piece);
  slot& s = slots_[si];
  s.piece = piece;
  s.unrequested = blocks_in_piece(piece);
  s.requested = 0;
  s.received = 0;
  s.extra.clear(); // keeps its capacity for the next piece
  state_[piece] = piece_state::partial;
  slot_of_[piece] = si;
  partial_.push_back(piece);
  return si;
}

// The caller sets the piece's new state and keeps the global counters right.
void piece_picker::release_slot(std::uint32_t piece) {
  free_slots_.push_back(slot_of_[piece]);
  slot_of_[piece] = no_slot;
  partial_.erase(std::find(partial_.begin(), partial_.end(), piece));
}

void piece_picker::forget_requests(std::uint32_t piece) {
  std::uint32_t si = slot_of_[piece];
  slot& s = slots_[si];
  block_info* blocks = blocks_of(si);
  for (std::uint32_t i = 0, n = blocks_in_piece(piece); i < n; ++i) {
    if (blocks[i].num_requesters > 0) {
      count_in_flight(blocks[i].first, -1);
      blocks[i].num_requesters = 0;
    }
  }
  for (const auto& e : s.extra) count_in_flight(e.peer, -1);
  s.extra.clear();
  s.unrequested += s.requested;
  unrequested_ += s.requested;
  s.requested = 0;
}

void piece_picker::add_requester(std::uint32_t si, std::uint32_t block, peer_key peer) {
  slot& s = slots_[si];
  block_info& info = blocks_of(si)[block];
  if (info.num_requesters == 0) {
    info.first = peer;
    --s.unrequested;
    ++s.requested;
    --unrequested_;
  } else {
    s.extra.push_back(extra_requester{block, peer});
  }
  ++info.num_requesters;
}

bool piece_picker::remove_requester(std::uint32_t si, std::uint32_t block, peer_key peer) {
  slot& s = slots_[si];
  block_info& info = blocks_of(si)[block];
  if (info.num_requesters == 0) return false;
  auto take_extra = [&](auto pred) {
    auto it = std::find_if(s.extra.begin(), s.extra.end(), pred);
    if (it == s.extra.end()) return false;
    peer_key moved = it->peer;
    *it = s.extra.back();
    s.extra.pop_back();
    if (info.first == peer) info.first = moved;
    return true;
  };
  if (info.first == peer) {
    if (info.num_requesters > 1)
      take_extra([&](const extra_requester& e) { return e.block == block; });
  } else if (info.num_requesters == 1 ||
             !take_extra([&](const extra_requester& e) {
               return e.block == block && e.peer == peer;
             })) {
    return false;
  }
  if (--info.num_requesters == 0) {
    --s.requested;
    ++s.unrequested;
    ++unrequested_;
  }
  return true;
}

bool piece_picker::is_requester(std::uint32_t si, std::uint32_t block, peer_key peer) const {
  const block_info& info = blocks_of(si)[block];
  if (info.num_requesters == 0) return false;
  if (info.first == peer) return true;
  if (info.num_requesters == 1) return false;
  const auto& extra = slots_[si].extra;
  return std::any_of(extra.begin(), extra.end(), [&](const extra_requester& e) {
    return e.block == block && e.peer == peer;
  });
}

// Entries stay when they reach zero so a busy peer does not re-allocate its
// map node on every round trip; on_peer_gone removes them.
void piece_picker::count_in_flight(peer_key peer, std::ptrdiff_t delta) {
  if (delta > 0) {
    in_flight_[peer] += static_cast<std::size_t>(delta);
    in_flight_total_ += static_cast<std::size_t>(delta);
    return;
  }
  auto it = in_flight_.find(peer);
  if (it == in_flight_.end()) return;
  auto dec = std::min(static_cast<std::size_t>(-delta), it->second);
  it->second -= dec;
  in_flight_total_ -= dec;
}

// ---- priorities -----------------------------------------------------------

void piece_picker::leaving_untouched(std::uint32_t piece) noexcept {
  if (priority_[piece] == 0) skipped_blocks_ -= blocks_in_piece(piece);
}

void piece_picker::entering_untouched(std::uint32_t piece) noexcept {
  if (priority_[piece] == 0) skipped_blocks_ += blocks_in_piece(piece);
}

void piece_picker::set_priorities(const std::vector<std::uint8_t>& priorities) {
  skipped_blocks_ = 0;
  max_priority_ = 0;
  for (std::uint32_t p = 0; p < num_pieces_; ++p) {
    priority_[p] = p < priorities.size() ? priorities[p] : 1;
    max_priority_ = std::max(max_priority_, priority_[p]);
    if (state_[p] == piece_state::untouched) entering_untouched(p);
  }
}

// ---- picking --------------------------------------------------------------

bool piece_picker::in_endgame() const noexcept {
  if (wanted_missing_blocks() == 0) return false;
  // Dividing (not multiplying the threshold) makes e.g. 17/20 equal the literal 0.85.
  return unrequested_ == skipped_blocks_ ||
         static_cast<double>(have_count_) / static_cast<double>(num_pieces_) >= cfg_.endgame_threshold;
}

std::uint32_t piece_picker::find_new_piece(const bitfield& peer_has) const {
  std::uint32_t best = no_slot;
  std::uint32_t best_avail = std::numeric_limits<std::uint32_t>::max();
  std::uint8_t best_priority = 0;
  // Walking the random permutation and keeping the first minimum breaks ties
  // randomly; the order alone decides for the other strategies. Priority
  // comes before both.
  const bool by_order = cfg_.strategy != pick_strategy::rarest;
  for (std::uint32_t p : order_) {
    if (state_[p] != piece_state::untouched || !peer_has_piece(peer_has, p)) continue;
    const std::uint8_t prio = priority_[p];
    if (prio == 0 || prio < best_priority) continue;
    if (prio > best_priority || (!by_order && availability_[p] < best_avail)) {
      best = p;
      best_avail = availability_[p];
      best_priority = prio;
    }
    if (best_priority == max_priority_ && (by_order || best_avail == 0)) break;
  }
  return best;
}

std::vector<block_ref> piece_picker::pick(peer_key peer, const bitfield& peer_has,
                                          std::size_t max_blocks, bool may_start) {
  std::vector<block_ref> out;
  if (max_blocks == 0 || wanted_missing_blocks() == 0) return out;
  out.reserve(std::min<std::size_t>(max_blocks, missing_));

  auto take_unrequested = [&](std::uint32_t piece) {
    std::uint32_t si = slot_of_[piece];
    const block_info* blocks = blocks_of(si);
    for (std::uint32_t i = 0, n = blocks_in_piece(piece);
         i < n && out.size() < max_blocks && slots_[si].unrequested > 0; ++i) {
      if (blocks[i].received || blocks[i].num_requesters > 0) continue;
      add_requester(si, i, peer);
      out.push_back(make_ref(piece, i));
    }
  };

  // Finishing started pieces first keeps few pieces open and gets them verified sooner.
  for (std::size_t k = 0; k < partial_.size() && out.size() < max_blocks && unrequested_ > 0; ++k) {
    std::uint32_t piece = partial_[k];
    if (slots_[slot_of_[piece]].unrequested == 0 || !peer_has_piece(peer_has, piece)) continue;
    take_unrequested(piece);
  }

  while (may_start && out.size() < max_blocks && unrequested_ > 0 && !at_piece_limit()) {
    std::uint32_t piece = find_new_piece(peer_has);
    if (piece == no_slot) break;
    start_piece(piece);
    take_unrequested(piece);
  }

  if (out.size() < max_blocks && in_endgame()) pick_duplicates(peer, peer_has, max_blocks, out);

  if (!out.empty()) count_in_flight(peer, static_cast<std::ptrdiff_t>(out.size()));
  return out;
}

void piece_picker::pick_duplicates(peer_key peer, const bitfield& peer_has, std::size_t max_blocks,
                                   std::vector<block_ref>& out) {
  std::size_t cap = std::max<std::size_t>(cfg_.endgame_max_requesters, 1);
  // One pass per requester count hands out the least-duplicated blocks first.
  for (std::size_t level = 1; level < cap && out.size() < max_blocks; ++level) {
    for (std::size_t k = 0; k < partial_.size() && out.size() < max_blocks; ++k) {
      std::uint32_t piece = partial_[k];
      std::uint32_t si = slot_of_[piece];
      if (slots_[si].requested == 0 || !peer_has_piece(peer_has, piece)) continue;
      for (std::uint32_t i = 0, n = blocks_in_piece(piece); i < n && out.size() < max_blocks; ++i) {
        const block_info& info = blocks_of(si)[i];
        if (info.received || info.num_requesters != level || is_requester(si, i, peer)) continue;
        add_requester(si, i, peer);
        out.push_back(make_ref(piece, i));
      }
    }
  }
}

// ---- outcomes -------------------------------------------------------------

piece_picker::receive_result piece_picker::on_block(peer_key peer, const block_ref& b) {
  receive_result r;
  std::uint32_t idx = 0;
  if (!block_index(b, idx)) return r;
  auto st = state_[b.piece];
  if (st == piece_state::had || st == piece_state::pending) return r;
  std::uint32_t si = st == piece_state::untouched ? start_piece(b.piece) : slot_of_[b.piece];
  slot& s = slots_[si];
  block_info& info = blocks_of(si)[idx];
  if (info.received) return r;

  if (info.num_requesters > 0) {
    auto settle = [&](peer_key p) {
      count_in_flight(p, -1);
      if (p != peer) r.cancel.push_back(p);
    };
    settle(info.first);
    if (info.num_requesters > 1) {
      auto tail = std::remove_if(s.extra.begin(), s.extra.end(), [&](const extra_requester& e) {
        if (e.block != idx) return false;
        settle(e.peer);
        return true;
      });
      s.extra.erase(tail, s.extra.end());
    }
    info.num_requesters = 0;
    --s.requested;
  } else {
    --s.unrequested;
    --unrequested_;
  }
  info.received = true;
  ++s.received;
  --missing_;
  r.accepted = true;

  if (s.received == blocks_in_piece(b.piece)) {
    release_slot(b.piece);
    state_[b.piece] = piece_state::pending;
    ++pending_count_;
    r.piece_complete = true;
  }
  return r;
}

void piece_picker::on_request_dropped(peer_key peer, const block_ref& b) {
  std::uint32_t idx = 0;
  if (!block_index(b, idx) || state_[b.piece] != piece_state::partial) return;
  std::uint32_t si = slot_of_[b.piece];
  if (blocks_of(si)[idx].received || !remove_requester(si, idx, peer)) return;
  count_in_flight(peer, -1);
  const slot& s = slots_[si];
  if (s.requested == 0 && s.received == 0) {
    // Nothing left of this piece: it competes as a new piece again.
    release_slot(b.piece);
    state_[b.piece] = piece_state::untouched;
    entering_untouched(b.piece);
  }
}

void piece_picker::on_peer_gone(peer_key peer) {
  // Backwards, because releasing a slot erases from partial_.
  for (std::size_t k = partial_.size(); k-- > 0;) {
    std::uint32_t piece = partial_[k];
    std::uint32_t si = slot_of_[piece];
    if (slots_[si].requested == 0) continue;
    const block_info* blocks = blocks_of(si);
    for (std::uint32_t i = 0, n = blocks_in_piece(piece); i < n; ++i)
      if (blocks[i].num_requesters > 0) remove_requester(si, i, peer);
    const slot& s = slots_[si];
    if (s.requested == 0 && s.received == 0) {
      release_slot(piece);
      state_[piece] = piece_state::untouched;
      entering_untouched(piece);
    }
  }
  if (auto it = in_flight_.find(peer); it != in_flight_.end()) {
    in_flight_total_ -= it->second;
    in_flight_.erase(it);
  }
}

std::vector<peer_key> piece_picker::requesters(const block_ref& b) const {
  std::vector<peer_key> out;
  std::uint32_t idx = 0;
  if (!block_index(b, idx) || state_[b.piece] != piece_state::partial) return out;
  std::uint32_t si = slot_of_[b.piece];
  const block_info& info = blocks_of(si)[idx];
  if (info.num_requesters == 0) return out;
  out.push_back(info.first);
  for (const auto& e : slots_[si].extra)
    if (e.block == idx) out.push_back(e.peer);
  return out;
}

std::size_t piece_picker::blocks_in_flight(peer_key peer) const {
  auto it = in_flight_.find(peer);
  return it == in_flight_.end() ? 0 : it->second;
}

} // namespace actorrent
