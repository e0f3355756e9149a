// One iterative DHT lookup (BEP 5, Kademlia): find the nodes closest to a
// target (find_node), or the peers of an info-hash and the closest nodes
// with their write tokens (get_peers), by asking ever closer nodes.
//
// At most `alpha` queries are in flight; a query unanswered for `slow_after`
// stops holding its slot (another node is asked), and one unanswered for
// `timeout` has failed. The lookup ends when the k closest nodes that did
// not fail have all answered, or after max_queries queries or max_time,
// whichever comes first: nodes that lie, send garbage or never answer slow
// it down but cannot keep it running.
//
// No sockets, no clock: the owner sends the queries next() returns, passes
// back what came from those addresses, and calls next() again at wake().
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "dht_routing_table.hpp"
#include "krpc.hpp"

namespace actorrent::dht {

class lookup {
public:
  enum class kind { find_node, get_peers };

  struct config {
    std::size_t alpha = 3;
    std::size_t k = 8;
    std::chrono::milliseconds slow_after{1000};
    std::chrono::milliseconds timeout{5000};
    std::size_t max_queries = 300;
    std::chrono::milliseconds max_time{60000};
    std::size_t max_candidates = 200;  ///< nodes remembered, the closest kept
    std::size_t max_peers = 1000;      ///< peers collected
    /// Our own id: other nodes list us among the closest, and asking
    /// ourselves would only cost a query (and announce to ourselves).
    std::optional<node_id> self;
  };

  struct stats {
    std::size_t queries = 0;    ///< sent
    std::size_t replies = 0;
    std::size_t failures = 0;   ///< timed out, or answered with an error or garbage
    std::size_t rounds = 0;     ///< the longest chain of referrals followed (1: a start node)
  };

  struct token_holder {
    krpc::node_info node;
    std::string token;
  };

  lookup(kind what, node_id target, const std::vector<krpc::node_info>& start, time_point now)
    : lookup(what, target, start, now, config{}) {}
  lookup(kind what, node_id target, const std::vector<krpc::node_info>& start, time_point now, config cfg);

  kind what() const noexcept { return kind_; }
  const node_id& target() const noexcept { return target_; }

  /// The nodes to query now (get_peers or find_node for the target); they
  /// count as in flight from `now`. Also times out the queries that are due.
  std::vector<krpc::node_info> next(time_point now);

  /// What a node we queried answered. Returns false (and changes nothing)
  /// when no query to that address is outstanding.
  bool on_response(const endpoint& from, const krpc::response& r, time_point now);
  /// A node we queried answered with an error, or with bytes that are not KRPC.
  bool on_failure(const endpoint& from, time_point now);

  bool done() const noexcept { return done_; }
  /// When next() has something to do (a query to time out, the deadline).
  time_point wake() const noexcept;

  /// get_peers: the peers found, each once.
  const std::vector<endpoint>& peers() const noexcept { return peers_; }
  /// The closest nodes that answered (at most k), closest first.
  std::vector<krpc::node_info> closest() const;
  /// get_peers: the closest nodes that answered with a token (at most k):
  /// where to announce.
  std::vector<token_holder> announce_targets() const;
  /// The nodes whose queries failed (for the routing table).
  std::vector<krpc::node_info> failed() const;
  /// The nodes that answered (for the routing table).
  std::vector<krpc::node_info> answered() const;

  const stats& counters() const noexcept { return stats_; }

private:
  enum class status { fresh, in_flight, slow, replied, failed };
  struct candidate {
    krpc::node_info node;
    std::size_t depth = 1;
    status st = status::fresh;
    time_point sent{};
    std::optional<std::string> token;
  };

  candidate* find(const endpoint& from);
  void add(const krpc::node_info& n, std::size_t depth);
  void expire(time_point now);
  void check_done(time_point now);

  kind kind_;
  node_id target_;
  config cfg_;
  time_point started_;
  std::vector<candidate> candidates_;  ///< sorted by distance to the target
  std::vector<endpoint> peers_;
  stats stats_;
  bool done_ = false;
};

} // namespace actorrent::dht
