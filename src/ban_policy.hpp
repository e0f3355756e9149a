// Who to ban for bad data: the PieceManager's judgement of the hosts that
// sent blocks of pieces whose hash check failed.
//
// Records are kept per host, not per connection, so that a peer cannot shed
// its strikes by disconnecting before the hash check, nor by reconnecting
// from another port. A host that alone sent a piece that fails is banned at
// once; a host that took part in several failures, and in fewer passes than
// failures, is banned too (a shared failure may be someone else's fault).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace actorrent {

class ban_policy {
public:
  /// `max_strikes`: failures a host may share before its passes no longer
  /// excuse it. `max_hosts` bounds the records kept (the oldest records of
  /// hosts without strikes are forgotten first).
  explicit ban_policy(std::uint32_t max_strikes = 3, std::size_t max_hosts = 4096);

  /// A piece passed its hash check; these hosts sent blocks of it.
  void on_piece_passed(std::span<const std::string> contributors);
  /// A piece failed its hash check; these hosts sent blocks of it. Returns
  /// the hosts to ban now (each host once).
  std::vector<std::string> on_piece_failed(std::span<const std::string> contributors);

  bool banned(const std::string& host) const;
  std::uint32_t strikes(const std::string& host) const;

private:
  struct record {
    std::uint32_t strikes = 0;
    std::uint32_t passes = 0;
    bool banned = false;
  };
  record& entry(const std::string& host);

  std::uint32_t max_strikes_;
  std::size_t max_hosts_;
  std::unordered_map<std::string, record> hosts_;
};

} // namespace actorrent
