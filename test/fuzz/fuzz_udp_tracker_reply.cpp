// UDP tracker replies come from anyone who can send us a datagram: the
// decoder must refuse any bytes it cannot vouch for, and the exchange must
// neither end on garbage nor accept a reply to another request.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "udp_tracker_exchange.hpp"
#include "udp_tracker_protocol.hpp"

using namespace actorrent;
using namespace actorrent::udp_tracker;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> in(data, size);
  // The transaction id the input carries, so the decoder gets past the check.
  std::uint32_t tid = transaction_id_of(in).value_or(0);
  for (auto act : {action::connect, action::announce, action::scrape}) {
    for (auto fam : {family::v4, family::v6}) {
      auto r = decode_reply(in, {act, tid, fam, 3});
      if (!r) continue;
      if (size > max_datagram) std::abort();
      if (auto* a = std::get_if<announce_reply>(&*r)) {
        std::size_t entry = fam == family::v4 ? 6 : 18;
        if (a->peers.size() > (size - 20) / entry) std::abort();
        for (const auto& p : a->peers)
          if (p.port == 0 || p.host.empty()) std::abort();
      }
      if (auto* s = std::get_if<scrape_reply>(&*r); s && s->entries.size() != 3) std::abort();
    }
  }

  // The exchange waits for a connect reply with an id it chose: fuzz bytes
  // can only end it when they are an error or connect reply that names it,
  // which they cannot know (a fixed seed makes this reproducible).
  peer_endpoint tracker{"127.0.0.1", 6969};
  auto now = udp_tracker_exchange::time_point{} + std::chrono::hours(1);
  udp_tracker_exchange ex(announce_fields{}, tracker, family::v4, std::nullopt, {}, std::nullopt, 1);
  auto first = ex.start(now);
  auto s = ex.on_datagram(tracker, in, now);
  bool names_it = transaction_id_of(in) == transaction_id_of(std::span(first.send).subspan(8));
  if ((s.done || !s.send.empty()) && !names_it) std::abort();
  if (!s.done && s.send.empty() && s.ignored.empty()) std::abort();
  return 0;
}
