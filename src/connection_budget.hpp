// The connections all torrents of a session may hold together. Each
// connection holds a slot; the slot goes back when its holder is destroyed,
// however the connection ended.
//
// Sharing: a torrent that wants connections (downloading) holds a member;
// each member may open up to its fair share, the limit divided among the
// members (rounded up), so the first torrent to find peers cannot take the
// whole budget. A member below its share that finds the budget spent says
// so (starving); a member above its share then gives a connection back.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <memory>

namespace actorrent {

class connection_budget : public std::enable_shared_from_this<connection_budget> {
public:
  /// limit 0: no limit.
  explicit connection_budget(std::size_t limit) : limit_(limit) {}

  class slot {
  public:
    slot() = default;
    explicit slot(std::shared_ptr<connection_budget> owner) : owner_(std::move(owner)) {}
    slot(slot&&) noexcept = default;
    slot& operator=(slot&& other) noexcept {
      release();
      owner_ = std::move(other.owner_);
      return *this;
    }
    slot(const slot&) = delete;
    slot& operator=(const slot&) = delete;
    ~slot() { release(); }
    explicit operator bool() const noexcept { return owner_ != nullptr; }

  private:
    void release() {
      if (owner_) owner_->used_.fetch_sub(1, std::memory_order_relaxed);
      owner_.reset();
    }
    std::shared_ptr<connection_budget> owner_;
  };

  /// A slot, or an empty one when the budget is spent.
  slot acquire() {
    auto used = used_.load(std::memory_order_relaxed);
    do {
      if (limit_ != 0 && used >= limit_) return {};
    } while (!used_.compare_exchange_weak(used, used + 1, std::memory_order_relaxed));
    return slot{shared_from_this()};
  }

  std::size_t used() const noexcept { return used_.load(std::memory_order_relaxed); }
  std::size_t limit() const noexcept { return limit_; }

  class member {
  public:
    member() = default;
    explicit member(std::shared_ptr<connection_budget> owner) : owner_(std::move(owner)) {}
    member(member&&) noexcept = default;
    member& operator=(member&& other) noexcept {
      leave();
      owner_ = std::move(other.owner_);
      starving_ = other.starving_;
      other.starving_ = false;
      return *this;
    }
    member(const member&) = delete;
    member& operator=(const member&) = delete;
    ~member() { leave(); }
    explicit operator bool() const noexcept { return owner_ != nullptr; }

    /// This member's share of the limit (0: no limit).
    std::size_t share() const noexcept { return owner_ ? owner_->share() : 0; }
    /// Below its share, with peers to dial, and no slot free.
    void set_starving(bool starving) {
      if (!owner_ || starving == starving_) return;
      starving_ = starving;
      if (starving)
        owner_->starving_.fetch_add(1, std::memory_order_relaxed);
      else
        owner_->starving_.fetch_sub(1, std::memory_order_relaxed);
    }

  private:
    void leave() {
      set_starving(false);
      if (owner_) owner_->members_.fetch_sub(1, std::memory_order_relaxed);
      owner_.reset();
    }
    std::shared_ptr<connection_budget> owner_;
    bool starving_ = false;
  };

  /// Counts the caller among those sharing the budget while it holds this.
  member join() {
    members_.fetch_add(1, std::memory_order_relaxed);
    return member{shared_from_this()};
  }

  /// The limit divided among the members, rounded up (0: no limit).
  std::size_t share() const noexcept {
    if (limit_ == 0) return 0;
    auto n = std::max<std::size_t>(1, members_.load(std::memory_order_relaxed));
    return (limit_ + n - 1) / n;
  }
  /// Some member is below its share and cannot get a slot.
  bool someone_starving() const noexcept {
    return starving_.load(std::memory_order_relaxed) > 0;
  }

private:
  std::size_t limit_;
  std::atomic<std::size_t> used_{0};
  std::atomic<std::size_t> members_{0};
  std::atomic<std::size_t> starving_{0};
};

} // namespace actorrent
