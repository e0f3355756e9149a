// The bytes of one received block, from the socket to the disk.
//
// Unlike std::vector, a new buffer is not filled with zeros (the socket
// overwrites it at once), and its storage starts on a 4096-byte boundary and
// spans whole multiples of 4096 bytes, so a piece's blocks can be handed to
// an O_DIRECT pwritev where they lie (see direct_write). Otherwise a value
// like a vector: copying copies the bytes, moving moves the allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace actorrent {

class block_buffer {
public:
  using value_type = std::uint8_t;
  static constexpr std::size_t alignment = 4096;

  block_buffer() noexcept = default;
  /// `size` bytes of unspecified value. Throws std::bad_alloc like a vector.
  explicit block_buffer(std::size_t size);
  /// A buffer holding a copy of `bytes`.
  static block_buffer copy_of(std::span<const std::uint8_t> bytes);

  block_buffer(const block_buffer& other);
  block_buffer& operator=(const block_buffer& other);
  block_buffer(block_buffer&& other) noexcept;
  block_buffer& operator=(block_buffer&& other) noexcept;
  ~block_buffer() = default;

  std::uint8_t* data() noexcept { return data_; }
  const std::uint8_t* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  /// Bytes that may be used without a new allocation (see shrink()).
  std::size_t capacity() const noexcept { return capacity_; }

  std::uint8_t* begin() noexcept { return data(); }
  std::uint8_t* end() noexcept { return data() + size_; }
  const std::uint8_t* begin() const noexcept { return data(); }
  const std::uint8_t* end() const noexcept { return data() + size_; }

  /// Keeps the first `size` bytes (at most size()); the allocation stays.
  void shrink(std::size_t size) noexcept;

  friend bool operator==(const block_buffer& a, const block_buffer& b) noexcept;

private:
  struct free_deleter {
    void operator()(std::uint8_t* p) const noexcept;
  };

  std::unique_ptr<std::uint8_t[], free_deleter> allocation_;  // what malloc gave
  std::uint8_t* data_ = nullptr;  // its first byte on an alignment boundary
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

} // namespace actorrent
