// Fuzz target for peer exchange (BEP 11): the ut_pex parser and what a
// connection takes from a message. Whatever parses must encode and parse
// back to the same peers; what is taken stays within its bounds and holds
// only usable addresses.
#include "fuzz_check.hpp"
#include "pex_exchange.hpp"
#include "pex_message.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

using namespace actorrent;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> payload(data, size);
  auto m = parse_pex_message(payload);
  if (!m) {
    FUZZ_CHECK(m.err().code == errc::wire_protocol || m.err().code == errc::wire_limit);
  } else {
    FUZZ_CHECK(m->added.size() <= 2 * max_pex_entries);
    FUZZ_CHECK(m->dropped.size() <= 2 * max_pex_entries);
    for (const auto& p : m->added) FUZZ_CHECK(p.endpoint.port != 0 && !p.endpoint.host.empty());
    auto back = parse_pex_message(encode_pex_message(*m));
    FUZZ_CHECK(back.has_value());
    // Encoding groups IPv4 before IPv6: compare per family, in order.
    auto v4 = [](const peer_endpoint& p) { return p.host.find(':') == std::string::npos; };
    for (bool fam : {true, false}) {
      std::vector<pex_peer> a, b;
      for (auto& p : m->added) if (v4(p.endpoint) == fam) a.push_back(p);
      for (auto& p : back->added) if (v4(p.endpoint) == fam) b.push_back(p);
      FUZZ_CHECK(a == b);
      std::vector<peer_endpoint> c, d;
      for (auto& p : m->dropped) if (v4(p) == fam) c.push_back(p);
      for (auto& p : back->dropped) if (v4(p) == fam) d.push_back(p);
      FUZZ_CHECK(c == d);
    }
  }
  pex_exchange x;
  x.add_own_address({"127.0.0.1", 6881});
  auto taken = x.on_message(payload, pex_exchange::time_point{});
  FUZZ_CHECK(taken.has_value() == m.has_value());
  if (taken) {
    FUZZ_CHECK(taken->size() <= pex_config{}.max_taken_per_message);
    for (const auto& p : *taken) {
      FUZZ_CHECK(pex_address_usable(p));
      FUZZ_CHECK(!(p == peer_endpoint{"127.0.0.1", 6881}));
    }
  }
  return 0;
}
