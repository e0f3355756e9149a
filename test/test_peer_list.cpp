#include "peer_list.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>

using namespace actorrent;
using namespace std::chrono_literals;

namespace {

using tp = peer_list::time_point;
const tp t0{};

peer_endpoint ep(std::string host, std::uint16_t port) { return {std::move(host), port}; }

} // namespace

TEST_CASE("addresses are dialled once each, in the order they became due") {
  peer_list pl;
  CHECK(pl.add(ep("10.0.0.1", 1), t0));
  CHECK(pl.add(ep("10.0.0.2", 2), t0 + 1ms));
  CHECK_FALSE(pl.add(ep("10.0.0.1", 1), t0 + 2ms));  // known already
  CHECK(pl.size() == 2);
  // Not due yet.
  CHECK(pl.next_to_connect(10, t0 - 1ms).empty());
  auto first = pl.next_to_connect(1, t0 + 5ms);
  REQUIRE(first.size() == 1);
  CHECK(first[0] == ep("10.0.0.1", 1));
  auto rest = pl.next_to_connect(10, t0 + 5ms);
  REQUIRE(rest.size() == 1);
  CHECK(rest[0] == ep("10.0.0.2", 2));
  // Connecting: not handed out twice.
  CHECK(pl.next_to_connect(10, t0 + 1h).empty());
  CHECK(pl.usable() == 2);
}

TEST_CASE("failed attempts back off, doubling, and dead addresses are given up") {
  peer_list_config cfg;
  cfg.retry_delay = 1s;
  cfg.max_connect_failures = 3;
  peer_list pl(cfg);
  auto a = ep("10.0.0.1", 1);
  pl.add(a, t0);
  tp now = t0;
  for (std::uint32_t attempt = 1; attempt <= 3; ++attempt) {
    CAPTURE(attempt);
    REQUIRE(pl.next_to_connect(5, now).size() == 1);
    pl.on_closed(a, false, now);
    if (attempt == 3) break;
    auto wait = std::chrono::seconds(1u << attempt);
    CHECK(pl.next_to_connect(5, now + wait - 1ms).empty());
    now += wait;
  }
  // Three failures in a row: given up, but still known (and not re-added).
  CHECK(pl.next_to_connect(5, now + 24h).empty());
  CHECK(pl.size() == 1);
  CHECK(pl.usable() == 0);
  CHECK_FALSE(pl.add(a, now));
}

TEST_CASE("a handshake forgives failures; drops retry after the plain delay") {
  peer_list_config cfg;
  cfg.retry_delay = 1s;
  cfg.max_connect_failures = 2;
  peer_list pl(cfg);
  auto a = ep("10.0.0.1", 1);
  pl.add(a, t0);
  REQUIRE(pl.next_to_connect(1, t0).size() == 1);
  pl.on_closed(a, false, t0);  // one failure
  REQUIRE(pl.next_to_connect(1, t0 + 2s).size() == 1);
  pl.on_handshake(a);
  pl.on_closed(a, true, t0 + 2s);  // a drop after a handshake
  CHECK(pl.next_to_connect(1, t0 + 2s + 999ms).empty());
  REQUIRE(pl.next_to_connect(1, t0 + 3s).size() == 1);
  pl.on_closed(a, false, t0 + 3s);  // failures start from zero again
  CHECK(pl.usable() == 1);
}

TEST_CASE("a banned host is never dialled again, on any port, from any source") {
  peer_list pl;
  pl.add(ep("10.0.0.9", 1), t0);
  pl.add(ep("10.0.0.9", 2), t0);
  pl.add(ep("10.0.0.1", 1), t0);
  // One of its connections is up when the ban comes.
  auto dialled = pl.next_to_connect(1, t0);
  REQUIRE(dialled.size() == 1);
  REQUIRE(dialled[0] == ep("10.0.0.1", 1));
  pl.add(ep("10.0.0.9", 3), t0);
  REQUIRE(pl.next_to_connect(1, t0)[0] == ep("10.0.0.9", 1));

  pl.ban("10.0.0.9");
  CHECK(pl.banned("10.0.0.9"));
  CHECK_FALSE(pl.banned("10.0.0.1"));
  // The tracker hands it out again, on another port: refused.
  CHECK_FALSE(pl.add(ep("10.0.0.9", 4), t0));
  auto next = pl.next_to_connect(10, t0 + 1h);
  CHECK(next.empty());
  // The connection that was up ends: nothing of the host comes back.
  pl.on_closed(ep("10.0.0.9", 1), true, t0 + 1s);
  CHECK(pl.next_to_connect(10, t0 + 1h).empty());
  CHECK(pl.size() == 1);
  // Other hosts are untouched.
  pl.on_closed(ep("10.0.0.1", 1), true, t0 + 1s);
  CHECK(pl.next_to_connect(10, t0 + 1h).size() == 1);
}

TEST_CASE("bounded: when full, a given-up address makes room; else the newcomer is refused") {
  peer_list_config cfg;
  cfg.max_known = 3;
  cfg.max_connect_failures = 1;
  peer_list pl(cfg);
  for (std::uint16_t i = 1; i <= 3; ++i) CHECK(pl.add(ep("10.0.0.1", i), t0));
  CHECK_FALSE(pl.add(ep("10.0.0.1", 4), t0));
  CHECK(pl.size() == 3);
  auto d = pl.next_to_connect(1, t0);
  pl.on_closed(d[0], false, t0);  // given up at once (max 1 failure)
  CHECK(pl.add(ep("10.0.0.1", 4), t0));
  CHECK(pl.size() == 3);
  auto all = pl.next_to_connect(10, t0);
  CHECK(all.size() == 3);
  CHECK(std::find(all.begin(), all.end(), d[0]) == all.end());
}

TEST_CASE("picking the next addresses does not scan the whole list") {
  peer_list_config cfg;
  cfg.max_known = 100000;
  peer_list pl(cfg);
  for (std::uint32_t i = 0; i < 100000; ++i)
    pl.add(ep("10." + std::to_string(i >> 16) + "." + std::to_string((i >> 8) & 255) + "." +
                  std::to_string(i & 255),
              6881),
           t0 + std::chrono::milliseconds(i));
  // 100,000 calls that each find the next due address: linear overall.
  std::size_t got = 0;
  for (std::uint32_t i = 0; i < 100000; ++i) got += pl.next_to_connect(1, t0 + 1h).size();
  CHECK(got == 100000);
  CHECK(pl.next_to_connect(1, t0 + 1h).empty());
}

TEST_CASE("an address handed out but not dialled comes back without a failure") {
  peer_list_config cfg;
  cfg.retry_delay = 1s;
  cfg.max_connect_failures = 1;  // one failure would give it up
  peer_list pl(cfg);
  auto a = ep("10.0.0.1", 1);
  pl.add(a, t0);
  for (int i = 0; i < 3; ++i) {
    auto now = t0 + std::chrono::seconds(2 * i);
    REQUIRE(pl.next_to_connect(1, now).size() == 1);
    pl.on_not_dialled(a, now);
    CHECK(pl.next_to_connect(1, now + 999ms).empty());
  }
  CHECK(pl.usable() == 1);
  REQUIRE(pl.next_to_connect(1, t0 + 10s).size() == 1);
}
