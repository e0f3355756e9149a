// The addresses a torrent knows of and may connect to: from trackers, from
// the user (-a), from PEX, later from the DHT. Decides which to dial next,
// backs off from addresses that fail, gives up on dead ones and never dials
// a banned host, on any port.
//
// Bounded: at most max_known addresses; when full, an address we gave up on
// makes room, else the new one is not taken. Picking the next addresses to
// dial costs O(k log n) for k addresses, not a scan of the whole list.
//
// Not thread-safe; meant to be owned by one actor. Time is passed in, so
// tests (and the simulation harness) drive it with any clock.
#pragma once

#include "peer_endpoint.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace actorrent {

struct peer_list_config {
  std::size_t max_known = 4000;
  /// Attempts that end before a handshake; after this many in a row the
  /// address is given up. Backoff doubles from retry_delay (at most 32x).
  std::uint32_t max_connect_failures = 5;
  /// Connections that did handshake but ended; past 2 x max_connect_failures
  /// the address is given up too.
  std::chrono::milliseconds retry_delay{2'000};
};

class peer_list {
public:
  using time_point = std::chrono::steady_clock::time_point;

  explicit peer_list(peer_list_config cfg = {});

  /// Learns an address; it may be dialled from `now` on. Returns false when
  /// it is not taken: already known, its host is banned, or the list is full.
  bool add(const peer_endpoint& p, time_point now);

  /// Up to `n` addresses to dial now, in the order they became due. Each is
  /// marked as connecting until on_closed().
  std::vector<peer_endpoint> next_to_connect(std::size_t n, time_point now);

  /// The connection to `p` completed its handshake: its failures are forgiven.
  void on_handshake(const peer_endpoint& p);
  /// The connection to `p` ended (`handshaken`: after a handshake). The
  /// address becomes due again after a backoff, or is given up.
  void on_closed(const peer_endpoint& p, bool handshaken, time_point now);

  /// `p` came from next_to_connect() but was not dialled after all (no
  /// connection slot was free): due again after retry_delay, no failure counted.
  void on_not_dialled(const peer_endpoint& p, time_point now);

  /// Never dial `host` again, on any port, nor take it from any source.
  void ban(const std::string& host);
  bool banned(const std::string& host) const { return banned_.count(host) != 0; }
  std::size_t banned_count() const noexcept { return banned_.size(); }
  /// The banned hosts, sorted.
  std::vector<std::string> banned_hosts() const;

  /// Addresses known (connecting, waiting, or given up).
  std::size_t size() const noexcept { return known_.size(); }
  /// Those addresses, of hosts not banned.
  std::vector<peer_endpoint> addresses() const;
  /// Addresses that may still be dialled now or later.
  std::size_t usable() const noexcept { return due_.size() + connecting_; }

private:
  struct entry {
    std::uint32_t failures = 0;
    std::uint32_t drops = 0;
    time_point due{};
    bool connecting = false;
    bool given_up = false;
  };
  using due_key = std::pair<time_point, peer_endpoint>;

  void forget(std::map<peer_endpoint, entry>::iterator it);

  peer_list_config cfg_;
  std::map<peer_endpoint, entry> known_;  // ordered: all ports of a host are adjacent
  std::set<due_key> due_;                 // waiting to be dialled, by due time
  std::set<peer_endpoint> given_up_;
  std::unordered_set<std::string> banned_;
  std::size_t connecting_ = 0;
};

} // namespace actorrent
