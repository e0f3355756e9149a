// Fuzz target for the DHT's saved state (DIR/.actorrent/dht.dat): whatever
// decodes stays within its bounds and encodes back to a file that decodes
// to the same id and nodes.
#include "dht_state.hpp"
#include "fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

using namespace actorrent;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto s = dht::decode_state(bytes);
  if (!s) {
    FUZZ_CHECK(s.err().code == errc::invalid_argument);
    return 0;
  }
  FUZZ_CHECK(size <= dht::max_state_bytes);
  FUZZ_CHECK(s->nodes.size() <= dht::max_saved_nodes);
  for (const auto& n : s->nodes) FUZZ_CHECK(n.address.port != 0);
  auto back = dht::decode_state(dht::encode_state(*s));
  FUZZ_CHECK(back.has_value());
  FUZZ_CHECK(back->id == s->id);
  FUZZ_CHECK(back->nodes == s->nodes);
  return 0;
}
