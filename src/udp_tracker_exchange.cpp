#include "udp_tracker_exchange.hpp"

#include <algorithm>

namespace actorrent {

using namespace udp_tracker;

namespace {

std::string what_of(const udp_tracker_query& q) {
  return std::holds_alternative<announce_fields>(q) ? "announce" : "scrape";
}

} // namespace

udp_tracker_exchange::udp_tracker_exchange(udp_tracker_query query, peer_endpoint tracker,
                                           family peers, std::optional<udp_connection_id> cached,
                                           udp_tracker_timing timing, std::optional<time_point> limit,
                                           std::uint64_t seed)
    : query_(std::move(query)), tracker_(std::move(tracker)), family_(peers),
      connection_(cached), timing_(timing), limit_(limit),
      rng_(static_cast<std::mt19937::result_type>(seed != 0 ? seed : std::random_device{}())) {
  if (auto* hashes = std::get_if<std::vector<sha1_hash>>(&query_); hashes && hashes->size() > max_scrape_hashes)
    hashes->resize(max_scrape_hashes);
}

bool udp_tracker_exchange::connection_valid(time_point now) const {
  return connection_ && now < connection_->obtained + timing_.connection_lifetime;
}

udp_tracker::expectation udp_tracker_exchange::expected() const {
  expectation e;
  e.transaction_id = transaction_id_;
  e.peers = family_;
  if (connecting_) {
    e.request = action::connect;
  } else if (std::holds_alternative<announce_fields>(query_)) {
    e.request = action::announce;
  } else {
    e.request = action::scrape;
    e.scrape_count = std::get<std::vector<sha1_hash>>(query_).size();
  }
  return e;
}

// A new request (new transaction id): the connect when no usable connection
// id is at hand, else the announce or scrape.
udp_tracker_exchange::step udp_tracker_exchange::send_next(time_point now) {
  transaction_id_ = static_cast<std::uint32_t>(rng_());
  connecting_ = !connection_valid(now);
  if (connecting_) {
    connection_.reset();
    datagram_ = encode_connect(transaction_id_);
  } else if (auto* a = std::get_if<announce_fields>(&query_)) {
    datagram_ = encode_announce(connection_->id, transaction_id_, *a);
  } else {
    datagram_ = encode_scrape(connection_->id, transaction_id_, std::get<std::vector<sha1_hash>>(query_));
  }
  // n carries over from the connect to the request: the tries bound the
  // whole exchange, not each half of it.
  retransmit_at_ = now + timing_.retransmit_base * (1u << std::min(n_, 30u));
  auto s = waiting();
  s.send = datagram_;
  return s;
}

udp_tracker_exchange::step udp_tracker_exchange::waiting() const {
  step s;
  s.wake = limit_ ? std::min(retransmit_at_, *limit_) : retransmit_at_;
  return s;
}

udp_tracker_exchange::step udp_tracker_exchange::finish(result<udp_tracker_answer> r) {
  finished_ = true;
  step s;
  s.done = std::move(r);
  return s;
}

udp_tracker_exchange::step udp_tracker_exchange::start(time_point now) {
  if (finished_) return {};
  return send_next(now);
}

udp_tracker_exchange::step udp_tracker_exchange::on_timer(time_point now) {
  if (finished_) return {};
  if (limit_ && now >= *limit_)
    return finish(error{errc::timeout, "UDP tracker " + tracker_.to_string() + ": no " +
                                         (connecting_ ? std::string("connect") : what_of(query_)) +
                                         " reply before the exchange's deadline"});
  if (now < retransmit_at_) return waiting();
  if (n_ >= timing_.max_retransmits)
    return finish(error{errc::timeout, "UDP tracker " + tracker_.to_string() + ": no " +
                                         (connecting_ ? std::string("connect") : what_of(query_)) +
                                         " reply after " + std::to_string(n_ + 1) + " tries"});
  ++n_;
  // A connection id that expired while we waited must be asked for again.
  if (!connecting_ && !connection_valid(now)) return send_next(now);
  retransmit_at_ = now + timing_.retransmit_base * (1u << std::min(n_, 30u));
  auto s = waiting();
  s.send = datagram_;
  return s;
}

udp_tracker_exchange::step udp_tracker_exchange::on_datagram(const peer_endpoint& from,
                                                             std::span<const std::uint8_t> bytes,
                                                             time_point now) {
  if (finished_) return {};
  if (from != tracker_) {
    auto s = waiting();
    s.ignored = "datagram from " + from.to_string() + " ignored: not the tracker " + tracker_.to_string();
    return s;
  }
  auto decoded = decode_reply(bytes, expected());
  if (!decoded) {
    // A stray, late or garbled datagram does not end the exchange: the
    // real reply may still come, and the retransmissions are bounded.
    auto s = waiting();
    s.ignored = decoded.err().message + "; ignored";
    return s;
  }
  if (auto* e = std::get_if<error_reply>(&*decoded)) {
    // The refusal may be about our connection id: do not offer it again.
    connection_.reset();
    return finish(error{errc::tracker_failure, e->message});
  }
  if (auto* c = std::get_if<connect_reply>(&*decoded)) {
    connection_ = udp_connection_id{c->connection_id, now};
    return send_next(now);
  }
  if (auto* a = std::get_if<udp_tracker::announce_reply>(&*decoded)) return finish(udp_tracker_answer{std::move(*a)});
  return finish(udp_tracker_answer{std::move(std::get<scrape_reply>(*decoded))});
}

} // namespace actorrent
