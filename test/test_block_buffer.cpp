// A block's buffer: aligned for O_DIRECT, a value like the vector it
// replaces, and carried through CAF messages unchanged.
#include <doctest/doctest.h>

#include "block_buffer.hpp"
#include "messages.hpp"

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/deep_to_string.hpp>
#include <caf/make_message.hpp>

#include <cstdint>
#include <numeric>
#include <vector>

using namespace actorrent;

namespace {

bool aligned(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) % block_buffer::alignment == 0;
}

block_buffer counting(std::size_t n) {
  block_buffer b(n);
  std::iota(b.begin(), b.end(), std::uint8_t{7});
  return b;
}

} // namespace

TEST_CASE("a block buffer starts on a page boundary and spans whole pages") {
  for (std::size_t n : {1u, 1000u, 4096u, 4097u, 16u * 1024u}) {
    block_buffer b(n);
    CHECK(b.size() == n);
    CHECK(aligned(b.data()));
    CHECK(b.capacity() % block_buffer::alignment == 0);
    CHECK(b.capacity() >= n);
    CHECK(b.capacity() < n + block_buffer::alignment);
  }
  block_buffer none(0);
  CHECK(none.empty());
  CHECK(none.data() == nullptr);
  CHECK(none == block_buffer{});
}

TEST_CASE("copies copy the bytes, moves take the allocation") {
  auto a = counting(5000);
  auto b = a;
  CHECK(b == a);
  CHECK(b.data() != a.data());
  CHECK(aligned(b.data()));
  b.data()[4999] ^= 1;
  CHECK_FALSE(b == a);
  b = a;
  CHECK(b == a);

  const auto* where = a.data();
  block_buffer c(std::move(a));
  CHECK(c.data() == where);
  CHECK(c.size() == 5000);
  CHECK(a.empty());  // a moved-from buffer is empty
  CHECK(a.data() == nullptr);
  a = std::move(c);
  CHECK(a.data() == where);
  CHECK(c.empty());

  const std::vector<std::uint8_t> bytes{1, 2, 3};
  auto d = block_buffer::copy_of(bytes);
  CHECK(std::vector<std::uint8_t>(d.begin(), d.end()) == bytes);
}

TEST_CASE("shrinking keeps the first bytes and the allocation") {
  auto a = counting(16 * 1024);
  const auto* where = a.data();
  a.shrink(1000);
  CHECK(a.size() == 1000);
  CHECK(a.data() == where);
  CHECK(a.capacity() == 16 * 1024);
  CHECK(a == counting(1000));
  a.shrink(2000);  // never grows
  CHECK(a.size() == 1000);
}

TEST_CASE("a block buffer in a CAF message is serialized as its bytes") {
  auto original = counting(3000);
  auto msg = caf::make_message(block_atom_v, original);
  REQUIRE(msg.match_elements<block_atom, block_buffer>());
  CHECK(msg.get_as<block_buffer>(1) == original);
  CHECK(caf::deep_to_string(counting(2)) == "block_buffer([7, 8])");

  std::vector<char> wire;
  caf::binary_serializer out(nullptr, wire);
  REQUIRE_FALSE(out(original));
  CHECK(wire.size() > 3000);
  block_buffer back;
  caf::binary_deserializer in(nullptr, wire);
  REQUIRE_FALSE(in(back));
  CHECK(back == original);
  CHECK(aligned(back.data()));
}
