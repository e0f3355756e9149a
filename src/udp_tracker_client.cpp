#include "udp_tracker_client.hpp"

#include "log.hpp"

#include <asio/bind_executor.hpp>
#include <asio/buffer.hpp>
#include <asio/ip/udp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace actorrent {

using strand_type = asio::strand<asio::io_context::executor_type>;

struct udp_tracker_client::shared {
  explicit shared(asio::io_context& io) : strand(asio::make_strand(io)) {}
  strand_type strand;
  std::map<peer_endpoint, udp_connection_id> connections;
};

namespace {

using clock = std::chrono::steady_clock;

peer_endpoint endpoint_of(const asio::ip::udp::endpoint& ep) {
  return peer_endpoint{ep.address().to_string(), ep.port()};
}

const char* what_of(const udp_tracker_query& q) {
  return std::holds_alternative<udp_tracker::announce_fields>(q) ? "announce" : "scrape";
}

// One exchange: its socket, its timer and the state machine that drives
// them. Every pending handler holds a shared_ptr to it, so it lives exactly
// as long as an operation can still complete.
class udp_tracker_run : public std::enable_shared_from_this<udp_tracker_run> {
public:
  udp_tracker_run(std::shared_ptr<udp_tracker_client::shared> sh, url u, udp_tracker_query q,
                  udp_tracker_timing timing, std::optional<std::chrono::milliseconds> limit,
                  udp_tracker_client::callback done)
    : shared_(std::move(sh)), resolver_(shared_->strand), socket_(shared_->strand),
      timer_(shared_->strand), url_(std::move(u)), query_(std::move(q)), timing_(timing),
      done_(std::move(done)) {
    if (limit) limit_ = clock::now() + *limit;
  }

  void start() {
    asio::post(shared_->strand, [self = shared_from_this()] { self->resolve(); });
  }

private:
  std::string where() const { return "UDP tracker " + peer_endpoint{url_.host, url_.port}.to_string(); }

  void resolve() {
    if (limit_) arm(*limit_);
    asio::error_code ec;
    auto addr = asio::ip::make_address(url_.host, ec);
    if (!ec) {
      begin(asio::ip::udp::endpoint{addr, url_.port});
      return;
    }
    resolver_.async_resolve(
      url_.host, std::to_string(url_.port),
      asio::bind_executor(shared_->strand, [self = shared_from_this()](
                                             const asio::error_code& rec,
                                             asio::ip::udp::resolver::results_type results) {
        if (self->finished_) return;
        if (rec || results.empty()) {
          self->finish(error{errc::tracker_http, "resolve " + self->url_.host + ": " +
                                                   (rec ? rec.message() : std::string("no address"))});
          return;
        }
        self->begin(results.begin()->endpoint());
      }));
  }

  void begin(asio::ip::udp::endpoint ep) {
    if (finished_) return;
    remote_ = ep;
    asio::error_code ec;
    socket_.open(ep.protocol(), ec);
    if (ec) {
      finish(error{errc::io_error, where() + ": cannot open a UDP socket: " + ec.message()});
      return;
    }
    auto tracker = endpoint_of(ep);
    std::optional<udp_connection_id> cached;
    if (auto it = shared_->connections.find(tracker); it != shared_->connections.end()) cached = it->second;
    exchange_.emplace(query_, tracker, ep.address().is_v6() ? udp_tracker::family::v6 : udp_tracker::family::v4,
                      cached, timing_, limit_);
    receive();
    perform(exchange_->start(clock::now()));
  }

  void receive() {
    socket_.async_receive_from(
      asio::buffer(buf_), sender_,
      asio::bind_executor(shared_->strand, [self = shared_from_this()](const asio::error_code& ec,
                                                                       std::size_t n) {
        if (self->finished_) return;
        if (ec) {
          // ICMP errors surface here on some systems: the retransmissions
          // decide when to give up, not one lost datagram.
          ACTORRENT_LOG(debug, self->where() << ": receive: " << ec.message());
        } else {
          self->perform(self->exchange_->on_datagram(endpoint_of(self->sender_),
                                                     std::span(self->buf_.data(), n), clock::now()));
        }
        if (!self->finished_) self->receive();
      }));
  }

  void perform(udp_tracker_exchange::step s) {
    if (!s.ignored.empty()) ACTORRENT_LOG(info, where() << ": " << s.ignored);
    if (s.done) {
      finish(std::move(*s.done));
      return;
    }
    if (!s.send.empty()) {
      if (exchange_->retransmissions() > 0 && exchange_->retransmissions() != logged_tries_) {
        logged_tries_ = exchange_->retransmissions();
        ACTORRENT_LOG(info, where() << ": no reply, sending again (retransmission "
                                    << logged_tries_ << " of " << timing_.max_retransmits << ")");
      }
      auto datagram = std::make_shared<std::vector<std::uint8_t>>(std::move(s.send));
      socket_.async_send_to(
        asio::buffer(*datagram), remote_,
        asio::bind_executor(shared_->strand, [self = shared_from_this(), datagram](
                                               const asio::error_code& ec, std::size_t) {
          // A datagram that could not leave is a lost one: retransmitted.
          if (ec) ACTORRENT_LOG(info, self->where() << ": send: " << ec.message());
        }));
    }
    if (s.wake != udp_tracker_exchange::never) arm(s.wake);
  }

  void arm(clock::time_point when) {
    timer_.expires_at(when);
    timer_.async_wait(asio::bind_executor(shared_->strand, [self = shared_from_this()](const asio::error_code& ec) {
      if (ec || self->finished_) return;  // re-armed or over
      if (!self->exchange_) {
        // Still resolving when the limit came.
        self->finish(error{errc::timeout, self->where() + ": no address before the exchange's deadline"});
        return;
      }
      self->perform(self->exchange_->on_timer(clock::now()));
    }));
  }

  void finish(result<udp_tracker_answer> r) {
    if (finished_) return;
    finished_ = true;
    if (exchange_) {
      auto tracker = endpoint_of(remote_);
      if (exchange_->connection())
        shared_->connections[tracker] = *exchange_->connection();
      else
        shared_->connections.erase(tracker);
    }
    if (!r && r.err().code != errc::timeout && r.err().code != errc::tracker_failure &&
        r.err().message.find(where()) == std::string::npos)
      r = error{r.err().code, where() + ": " + r.err().message};
    ACTORRENT_LOG(debug, where() << ": " << what_of(query_) << (r ? " answered" : " failed"));
    asio::error_code ignored;
    timer_.cancel();
    resolver_.cancel();
    socket_.close(ignored);
    auto done = std::move(done_);
    done_ = nullptr;
    if (done) done(std::move(r));
  }

  std::shared_ptr<udp_tracker_client::shared> shared_;
  asio::ip::udp::resolver resolver_;
  asio::ip::udp::socket socket_;
  asio::steady_timer timer_;
  url url_;
  udp_tracker_query query_;
  udp_tracker_timing timing_;
  std::optional<clock::time_point> limit_;
  udp_tracker_client::callback done_;
  std::optional<udp_tracker_exchange> exchange_;
  asio::ip::udp::endpoint remote_, sender_;
  // One byte more than a reply may have: a longer datagram is cut to this
  // and refused as oversized, not mistaken for a shorter one.
  std::array<std::uint8_t, udp_tracker::max_datagram + 1> buf_{};
  unsigned logged_tries_ = 0;
  bool finished_ = false;
};

} // namespace

udp_tracker_client::udp_tracker_client(asio::io_context& io, udp_tracker_timing timing)
    : io_(io), timing_(timing), shared_(std::make_shared<shared>(io)) {}

void udp_tracker_client::run(const url& u, udp_tracker_query query,
                             std::optional<std::chrono::milliseconds> limit, callback done) {
  if (u.scheme != "udp") {
    asio::post(io_, [done = std::move(done), scheme = u.scheme] {
      done(error{errc::invalid_argument, "not a UDP tracker: scheme '" + scheme + "'"});
    });
    return;
  }
  std::make_shared<udp_tracker_run>(shared_, u, std::move(query), timing_, limit, std::move(done))->start();
}

} // namespace actorrent
