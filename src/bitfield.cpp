#include "bitfield.hpp"

#include <bit>

namespace actorrent {

bitfield::bitfield(std::size_t size, bool value)
  : size_(size), bytes_((size + 7) / 8, 0) {
  if (value) set_all();
}

bool bitfield::assign_wire(std::span<const std::uint8_t> bytes, std::size_t size) {
  if (bytes.size() != (size + 7) / 8) return false;
  if (size % 8 != 0) {
    auto spare_mask = static_cast<std::uint8_t>(0xffu >> (size % 8));
    if ((bytes.back() & spare_mask) != 0) return false;
  }
  size_ = size;
  bytes_.assign(bytes.begin(), bytes.end());
  return true;
}

void bitfield::set_all() {
  for (auto& b : bytes_) b = 0xff;
  if (size_ % 8 != 0)
    bytes_.back() = static_cast<std::uint8_t>(0xffu << (8 - size_ % 8));
}

std::size_t bitfield::count() const noexcept {
  std::size_t n = 0;
  for (auto b : bytes_) n += static_cast<std::size_t>(std::popcount(b));
  return n;
}

} // namespace actorrent
