// A fixed-size set of piece indices, stored in BitTorrent's wire order:
// the high bit of byte 0 is piece 0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace actorrent {

class bitfield {
public:
  bitfield() = default;
  explicit bitfield(std::size_t size, bool value = false);

  /// Adopts wire bytes. Returns false (and leaves *this empty) when `bytes`
  /// has the wrong length for `size` bits or sets any spare bit.
  bool assign_wire(std::span<const std::uint8_t> bytes, std::size_t size);

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  bool test(std::size_t i) const noexcept {
    return (bytes_[i >> 3] >> (7 - (i & 7))) & 1;
  }
  void set(std::size_t i) noexcept {
    bytes_[i >> 3] |= static_cast<std::uint8_t>(0x80u >> (i & 7));
  }
  void reset(std::size_t i) noexcept {
    bytes_[i >> 3] &= static_cast<std::uint8_t>(~(0x80u >> (i & 7)));
  }
  void set_all();

  std::size_t count() const noexcept;
  bool all() const noexcept { return count() == size_; }
  bool none() const noexcept { return count() == 0; }

  /// The wire representation: ceil(size / 8) bytes, spare bits zero.
  const std::vector<std::uint8_t>& bytes() const noexcept { return bytes_; }

  friend bool operator==(const bitfield&, const bitfield&) = default;

private:
  std::size_t size_ = 0;
  std::vector<std::uint8_t> bytes_;
};

} // namespace actorrent
