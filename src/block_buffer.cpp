#include "block_buffer.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <utility>

namespace actorrent {

void block_buffer::free_deleter::operator()(std::uint8_t* p) const noexcept { std::free(p); }

block_buffer::block_buffer(std::size_t size) : size_(size) {
  if (size == 0) return;
  if (size > std::numeric_limits<std::size_t>::max() - 2 * alignment) throw std::bad_alloc();
  capacity_ = (size + alignment - 1) / alignment * alignment;
  // Not aligned_alloc: glibc's splits the leading slack off every allocation
  // as a free chunk, so a freed block cannot serve the next aligned request
  // of its size and the heap fragments (peak RSS of a 512 MiB download 23.9
  // MiB against 19.4 with vectors). A plain malloc of the size plus the
  // alignment is reused as it is freed; of its slack at most a page is
  // touched (20.2 MiB).
  allocation_.reset(static_cast<std::uint8_t*>(std::malloc(capacity_ + alignment)));
  if (!allocation_) throw std::bad_alloc();
  const auto misalignment = reinterpret_cast<std::uintptr_t>(allocation_.get()) % alignment;
  data_ = allocation_.get() + (misalignment == 0 ? 0 : alignment - misalignment);
}

block_buffer block_buffer::copy_of(std::span<const std::uint8_t> bytes) {
  block_buffer b(bytes.size());
  if (!bytes.empty()) std::memcpy(b.data(), bytes.data(), bytes.size());
  return b;
}

block_buffer::block_buffer(const block_buffer& other) : block_buffer(copy_of(other)) {}

block_buffer& block_buffer::operator=(const block_buffer& other) {
  if (this != &other) *this = copy_of(other);
  return *this;
}

block_buffer::block_buffer(block_buffer&& other) noexcept
  : allocation_(std::move(other.allocation_)),
    data_(std::exchange(other.data_, nullptr)),
    size_(std::exchange(other.size_, 0)),
    capacity_(std::exchange(other.capacity_, 0)) {
}

block_buffer& block_buffer::operator=(block_buffer&& other) noexcept {
  if (this == &other) return *this;
  allocation_ = std::move(other.allocation_);
  data_ = std::exchange(other.data_, nullptr);
  size_ = std::exchange(other.size_, 0);
  capacity_ = std::exchange(other.capacity_, 0);
  return *this;
}

void block_buffer::shrink(std::size_t size) noexcept { size_ = std::min(size, size_); }

bool operator==(const block_buffer& a, const block_buffer& b) noexcept {
  return std::ranges::equal(a, b);
}

} // namespace actorrent
