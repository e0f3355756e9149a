// KRPC datagrams come from anyone on the internet: the decoder must refuse
// what it cannot vouch for, stay inside its bounds, and what it accepts must
// encode back to a message that decodes to the same thing. The responder
// must answer any decoded query without breaking.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dht_lookup.hpp"
#include "dht_node.hpp"
#include "dht_responder.hpp"
#include "fuzz_check.hpp"
#include "krpc.hpp"

using namespace actorrent;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  {
    // A whole node: any datagram costs at most an answer and a ping back.
    auto now = dht::time_point{} + std::chrono::hours(1);
    dht::node n(dht::node_id{}, 1);
    n.on_datagram(dht::endpoint{{127, 0, 0, 1}, 6881}, in, now);
    auto out = n.take_outgoing();
    FUZZ_CHECK(out.size() <= 2);
    for (const auto& d : out) FUZZ_CHECK(krpc::decode(d.bytes).has_value());
    FUZZ_CHECK(n.stats().received == 1);
  }
  auto m = krpc::decode(in);
  if (!m) return 0;
  FUZZ_CHECK(size <= krpc::max_datagram);
  auto again = krpc::decode(krpc::encode(*m));
  FUZZ_CHECK(again.has_value());
  if (!std::holds_alternative<krpc::query>(*m) || std::get<krpc::query>(*m).name != krpc::method::unknown)
    FUZZ_CHECK(*again == *m);
  if (auto* r = std::get_if<krpc::response>(&*m)) {
    FUZZ_CHECK(r->nodes.size() <= krpc::max_nodes && r->values.size() <= krpc::max_values);
    for (const auto& n : r->nodes) FUZZ_CHECK(n.address.port != 0);
    // A lookup takes the response from the node it asked and stays bounded.
    auto now = dht::time_point{} + std::chrono::hours(1);
    dht::lookup l(dht::lookup::kind::get_peers, r->sender, {{r->sender, dht::endpoint{{1, 2, 3, 4}, 5}}}, now);
    auto first = l.next(now);
    FUZZ_CHECK(first.size() == 1);
    FUZZ_CHECK(l.on_response(first[0].address, *r, now));
    FUZZ_CHECK(l.next(now).size() <= 3);
    FUZZ_CHECK(l.peers().size() <= r->values.size());
  }
  if (auto* q = std::get_if<krpc::query>(&*m)) {
    auto now = dht::time_point{} + std::chrono::hours(1);
    dht::routing_table table(dht::node_id{});
    dht::responder node(1);
    auto out = node.on_query(table, *q, dht::endpoint{{127, 0, 0, 1}, 6881}, now);
    FUZZ_CHECK(out.reply.has_value());
    auto bytes = krpc::encode(*out.reply);
    FUZZ_CHECK(bytes.size() <= krpc::max_datagram);
    FUZZ_CHECK(krpc::decode(bytes).has_value());
  }
  return 0;
}
