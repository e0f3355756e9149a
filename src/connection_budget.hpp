// The connections all torrents of a session may hold together. Each
// connection holds a slot; the slot goes back when its holder is destroyed,
// however the connection ended.
#pragma once

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

private:
  std::size_t limit_;
  std::atomic<std::size_t> used_{0};
};

} // namespace actorrent
