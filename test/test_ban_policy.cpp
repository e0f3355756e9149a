#include "ban_policy.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace actorrent;
using hosts = std::vector<std::string>;

TEST_CASE("a host that alone sent a bad piece is banned at once") {
  ban_policy bp(3);
  CHECK(bp.on_piece_failed(hosts{"10.0.0.9"}) == hosts{"10.0.0.9"});
  CHECK(bp.banned("10.0.0.9"));
  // Once: a second bad piece does not ban it again.
  CHECK(bp.on_piece_failed(hosts{"10.0.0.9"}).empty());
  CHECK(bp.strikes("10.0.0.9") == 2);
}

TEST_CASE("shared failures: banned after max_strikes unless its passes outnumber them") {
  ban_policy bp(3);
  const hosts both{"honest", "liar"};
  for (int i = 0; i < 5; ++i) bp.on_piece_passed(hosts{"honest"});
  CHECK(bp.on_piece_failed(both).empty());
  CHECK(bp.on_piece_failed(both).empty());
  // Third shared failure: the liar (no passes) goes, the honest host stays.
  CHECK(bp.on_piece_failed(both) == hosts{"liar"});
  CHECK_FALSE(bp.banned("honest"));
  CHECK(bp.strikes("honest") == 3);
}

TEST_CASE("strikes belong to the host, so leaving before the check does not escape them") {
  // The policy never hears of connections: what a host did stays with the
  // host whether or not it is still connected when the hash check ends.
  ban_policy bp(2);
  bp.on_piece_failed(hosts{"a", "b"});
  CHECK(bp.strikes("b") == 1);
  CHECK(bp.on_piece_failed(hosts{"a", "b"}) == hosts({"a", "b"}));
}

TEST_CASE("records are bounded; banned hosts and hosts with strikes are kept longest") {
  ban_policy bp(3, 4);
  bp.on_piece_failed(hosts{"bad"});
  bp.on_piece_failed(hosts{"x", "suspect"});
  for (int i = 0; i < 100; ++i) bp.on_piece_passed(hosts{"h" + std::to_string(i)});
  CHECK(bp.banned("bad"));
  CHECK(bp.strikes("suspect") == 1);
}
