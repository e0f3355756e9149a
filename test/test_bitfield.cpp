#include <doctest/doctest.h>

#include "bitfield.hpp"

using actorrent::bitfield;

TEST_CASE("bitfield uses wire order: piece 0 is the high bit of byte 0") {
  bitfield b(10);
  b.set(0);
  b.set(9);
  CHECK(b.bytes().size() == 2);
  CHECK(b.bytes()[0] == 0x80);
  CHECK(b.bytes()[1] == 0x40);
  CHECK(b.count() == 2);
  b.reset(0);
  CHECK_FALSE(b.test(0));
  CHECK(b.test(9));
}

TEST_CASE("set_all leaves spare bits clear") {
  bitfield b(10, true);
  CHECK(b.all());
  CHECK(b.bytes()[1] == 0xc0);
}

TEST_CASE("assign_wire rejects wrong lengths and spare bits") {
  bitfield b;
  const std::uint8_t good[] = {0xff, 0xc0};
  const std::uint8_t spare[] = {0xff, 0xe0};
  const std::uint8_t short_[] = {0xff};
  CHECK(b.assign_wire(good, 10));
  CHECK(b.count() == 10);
  CHECK_FALSE(b.assign_wire(spare, 10));
  CHECK_FALSE(b.assign_wire(short_, 10));
  CHECK(b.assign_wire(short_, 8));
}
