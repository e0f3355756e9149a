#include "block_buffer.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace actorrent {

void block_buffer::free_deleter::operator()(std::uint8_t* p) const noexcept { std::free(p); }

block_buffer::block_buffer(std::size_t size) : size_(size) {
  if (size == 0) return;
  // aligned_alloc wants a multiple of the alignment; a short last block
  // still gets a page of its own.
  capacity_ = (size + alignment - 1) / alignment * alignment;
  if (capacity_ < size) throw std::bad_alloc();  // the rounding overflowed
  bytes_.reset(static_cast<std::uint8_t*>(std::aligned_alloc(alignment, capacity_)));
  if (!bytes_) throw std::bad_alloc();
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
  : bytes_(std::move(other.bytes_)),
    size_(std::exchange(other.size_, 0)),
    capacity_(std::exchange(other.capacity_, 0)) {
}

block_buffer& block_buffer::operator=(block_buffer&& other) noexcept {
  if (this == &other) return *this;
  bytes_ = std::move(other.bytes_);
  size_ = std::exchange(other.size_, 0);
  capacity_ = std::exchange(other.capacity_, 0);
  return *this;
}

void block_buffer::shrink(std::size_t size) noexcept { size_ = std::min(size, size_); }

bool operator==(const block_buffer& a, const block_buffer& b) noexcept {
  return std::ranges::equal(a, b);
}

} // namespace actorrent
