#include "connection_budget.hpp"
#include "rate_limiter.hpp"

#include <doctest/doctest.h>

using namespace actorrent;
using namespace std::chrono_literals;

TEST_CASE("an unlimited bucket grants everything") {
  rate_limiter l{0};
  auto now = rate_limiter::clock::now();
  CHECK(l.take(1 << 20, now) == 1u << 20);
  CHECK(l.wait_for(1 << 20, now) == rate_limiter::clock::duration::zero());
}

TEST_CASE("a bucket grants its burst, then the rate as time passes") {
  rate_limiter l{1'000'000};  // burst: 100 000 bytes
  auto t0 = rate_limiter::clock::now() + 1s;
  CHECK(l.take(1 << 20, t0) == 100'000);
  CHECK(l.take(1, t0) == 0);
  // 10 ms at 1 MB/s: 10 000 bytes.
  auto wait = l.wait_for(10'000, t0);
  CHECK(wait > 9ms);
  CHECK(wait < 11ms);
  auto got = l.take(1 << 20, t0 + 10ms);
  CHECK(got >= 9'999);
  CHECK(got <= 10'000);
  // A long pause refills only up to the burst.
  CHECK(l.take(1 << 20, t0 + 10s) == 100'000);
}

TEST_CASE("over a long run the granted bytes follow the rate") {
  rate_limiter l{2'000'000};
  auto t0 = rate_limiter::clock::now() + 1s;
  std::size_t total = l.take(1 << 30, t0);  // the initial burst
  total = 0;
  for (int ms = 1; ms <= 5000; ++ms) total += l.take(64 * 1024, t0 + std::chrono::milliseconds(ms));
  CHECK(total >= 9'990'000);
  CHECK(total <= 10'010'000);
}

TEST_CASE("unused bytes go back, never above the burst") {
  rate_limiter l{100'000};  // burst: 16 KiB (the minimum)
  auto t0 = rate_limiter::clock::now() + 1s;
  CHECK(l.take(1 << 20, t0) == 16 * 1024);
  l.give_back(1000);
  CHECK(l.take(1 << 20, t0) == 1000);
  l.give_back(1 << 20);
  CHECK(l.take(1 << 20, t0) == 16 * 1024);
}

TEST_CASE("set_rate takes effect at once") {
  rate_limiter l{1'000'000};
  auto t0 = rate_limiter::clock::now() + 1s;
  l.take(1 << 20, t0);
  l.set_rate(0);
  CHECK(l.unlimited());
  CHECK(l.take(5 << 20, t0) == 5u << 20);
  l.set_rate(200'000);
  CHECK(l.rate() == 200'000);
  // Its bucket holds at most the new burst (20 000 bytes).
  CHECK(l.take(1 << 20, rate_limiter::clock::now() + 10s) == 20'000);
}

TEST_CASE("take_all grants what the tightest limiter grants and takes only that from each") {
  auto wide = std::make_shared<rate_limiter>(10'000'000);   // burst 1 000 000
  auto narrow = std::make_shared<rate_limiter>(1'000'000);  // burst 100 000
  rate_limiters both{wide, narrow};
  auto t0 = rate_limiter::clock::now() + 1s;
  CHECK(take_all(both, 500'000, t0) == 100'000);
  // The wide one lost only what was granted.
  CHECK(wide->take(1 << 30, t0) == 900'000);
  CHECK(take_all(both, 10, t0) == 0);
  auto wait = wait_for_all(both, 50'000, t0);
  CHECK(wait > 49ms);
  CHECK(wait < 51ms);
  give_back_all(both, 5);
  CHECK(narrow->take(100, t0) == 5);
}

TEST_CASE("a connection budget hands out at most its limit, and slots come back") {
  auto budget = std::make_shared<connection_budget>(2);
  auto a = budget->acquire();
  auto b = budget->acquire();
  CHECK(a);
  CHECK(b);
  CHECK_FALSE(budget->acquire());
  CHECK(budget->used() == 2);
  {
    auto moved = std::move(a);
    CHECK(budget->used() == 2);
  }
  CHECK(budget->used() == 1);
  auto c = budget->acquire();
  CHECK(c);
  b = connection_budget::slot{};
  CHECK(budget->used() == 1);

  auto unlimited = std::make_shared<connection_budget>(0);
  std::vector<connection_budget::slot> many;
  for (int i = 0; i < 1000; ++i) many.push_back(unlimited->acquire());
  CHECK(unlimited->used() == 1000);
  many.clear();
  CHECK(unlimited->used() == 0);
}

TEST_CASE("a connection budget is shared fairly among the torrents that want connections") {
  auto budget = std::make_shared<connection_budget>(5);
  auto a = budget->join();
  CHECK(a.share() == 5);
  {
    auto b = budget->join();
    CHECK(a.share() == 3);  // rounded up: no slot is left unusable
    CHECK(b.share() == 3);
    CHECK_FALSE(budget->someone_starving());
    b.set_starving(true);
    CHECK(budget->someone_starving());
    auto moved = std::move(b);
    CHECK(budget->someone_starving());
  }
  // A member that leaves takes its starving flag and its share along.
  CHECK_FALSE(budget->someone_starving());
  CHECK(a.share() == 5);
  a.set_starving(true);
  a = connection_budget::member{};
  CHECK_FALSE(budget->someone_starving());
  CHECK(std::make_shared<connection_budget>(0)->join().share() == 0);
}

TEST_CASE("take_all with at_least grants nothing until that much is there, and takes nothing then") {
  auto session = std::make_shared<rate_limiter>(1'000'000);  // burst 100 000
  auto torrent = std::make_shared<rate_limiter>(200'000);    // burst 20 000
  rate_limiters both{session, torrent};
  auto t0 = rate_limiter::clock::now() + 1s;
  CHECK(take_all(both, 20'000, t0) == 20'000);
  // 10 ms later the torrent's bucket holds 2 000 bytes: not a block.
  auto t1 = t0 + 10ms;
  CHECK(take_all(both, 65'536, t1, 16'384) == 0);
  // Nothing was taken from either: the session still has its 80 000 and the
  // torrent its 2 000.
  CHECK(take_all(both, 65'536, t1, 2'000) == 2'000);
  CHECK(session->take(1 << 20, t1) == 78'000 + 10'000);
  // A wish smaller than at_least is granted whole.
  auto t2 = t1 + 50ms;  // the torrent has 10 000 again, the session 50 000
  CHECK(take_all(both, 300, t2, 16'384) == 300);
  // And the wait is for at_least, not for the wish.
  auto wait = wait_for_all(both, 16'384, t2);
  CHECK(wait > 30ms);
  CHECK(wait < 40ms);
}
