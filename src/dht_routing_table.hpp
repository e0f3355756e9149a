// A DHT node's routing table (BEP 5): k-buckets over the 160-bit id space.
//
// Bucket i holds the nodes whose ids share exactly i leading bits with ours;
// the last bucket holds every node closer than that. Only the last bucket
// splits (BEP 5: only the bucket our own id falls into), so we know many
// nodes near us and a few in each farther half of the space.
//
// A node enters only after it answered one of our queries: a query alone
// proves nothing about the address it came from. Each node is good (it
// answered within 15 minutes, or answered once and queried us within 15
// minutes), questionable (silent for longer) or bad (it failed to answer
// `bad_after_failures` queries in a row). A full bucket takes a newcomer in
// place of a bad node; otherwise the newcomer waits in the bucket's
// replacement cache and the questionable nodes are offered for a ping
// (to_ping); whichever fails enough is replaced from the cache.
//
// No clock and no randomness of its own: the owner passes the time and a
// generator, so tests and the simulation drive it.
#pragma once

#include <chrono>
#include <cstddef>
#include <random>
#include <vector>

#include "dht_node_id.hpp"
#include "krpc.hpp"

namespace actorrent::dht {

using time_point = std::chrono::steady_clock::time_point;

enum class node_state { good, questionable, bad };

class routing_table {
public:
  struct config {
    std::size_t k = 8;                                   ///< nodes per bucket
    std::size_t replacements = 8;                        ///< waiting nodes per bucket
    std::chrono::seconds good_for{15 * 60};              ///< silence after which a node is questionable
    int bad_after_failures = 2;                          ///< unanswered queries in a row
    std::chrono::seconds refresh_after{15 * 60};         ///< a bucket nothing touched for this long is refreshed
  };

  struct entry {
    krpc::node_info node;
    time_point last_reply{};   ///< time_point{}: never answered
    time_point last_query{};   ///< when it last queried us
    int failures = 0;
  };

  explicit routing_table(node_id self) : routing_table(self, config{}) {}
  routing_table(node_id self, config cfg);

  const node_id& self() const noexcept { return self_; }

  /// `node` answered a query of ours: it is good, and enters the table if
  /// there is room (or a bad node to replace, or a split to make), else the
  /// replacement cache. Returns true when it is in the table afterwards.
  bool node_replied(const krpc::node_info& node, time_point now);

  /// `node` sent us a query: refreshes it when it is in the table. Returns
  /// whether it is; an unknown node can be pinged to let it in.
  bool node_queried(const krpc::node_info& node, time_point now);

  /// Whether node_replied(node) would put it in the table now (room, a bad
  /// node to replace, or a split to make; no other id at its address): only
  /// then is an unknown node that queried us worth a ping.
  bool has_room_for(const krpc::node_info& node, time_point now) const;

  /// A query to `node` went unanswered. When that makes it bad and its
  /// bucket has a replacement waiting, the replacement takes its place.
  void node_failed(const krpc::node_info& node, time_point now);

  /// Up to `count` nodes of the table that are not bad, closest to `target` first.
  std::vector<krpc::node_info> closest(const node_id& target, std::size_t count) const;

  /// Questionable nodes in buckets where a replacement waits: pinging them
  /// tells whether they stay. Each is offered once per good_for period.
  std::vector<krpc::node_info> to_ping(time_point now);

  /// One random target in each bucket nothing touched for refresh_after (a
  /// node answering, or a refresh already handed out): a find_node for it
  /// refreshes the bucket (BEP 5).
  std::vector<node_id> refresh_targets(time_point now, std::mt19937_64& rng);

  node_state state_of(const entry& e, time_point now) const noexcept;

  std::size_t size() const noexcept;
  std::size_t bucket_count() const noexcept { return buckets_.size(); }
  /// The table's nodes, bucket by bucket (for saving it).
  std::vector<krpc::node_info> nodes() const;
  /// The entry of `id`, or nullptr.
  const entry* find(const node_id& id) const noexcept;

private:
  struct bucket {
    std::vector<entry> live;
    std::vector<krpc::node_info> waiting;  ///< newest last
    time_point touched{};
    time_point pinged{};
  };

  std::size_t index_of(const node_id& id) const noexcept;
  void split_last();
  void add_waiting(bucket& b, const krpc::node_info& node);

  node_id self_;
  config cfg_;
  std::vector<bucket> buckets_;
};

} // namespace actorrent::dht
