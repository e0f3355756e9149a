#include "peer_protocol.hpp"

#include "allowed_fast.hpp"
#include "extension_handshake.hpp"
#include "metadata_message.hpp"
#include "wire_encoder.hpp"

#include <algorithm>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace actorrent {

void peer_protocol::actions::clear() {
  send.clear();
  blocks.clear();
  drop.clear();
  want.reset();
  want_pieces.clear();
  suggests.clear();
  joined = false;
  bitfield.reset();
  haves.clear();
  load.clear();
  notify_drained_below.reset();
  report = false;
  metadata_offer.reset();
  metadata_pieces.clear();
  metadata_rejects.clear();
  pex_due = false;
  pex_learned.clear();
  remote_listen_port.reset();
  dht_node_port.reset();
  // `close` stays: a connection that must close is closing for good.
}

peer_protocol::peer_protocol(const peer_config& cfg, bool incoming, time_point now)
  : cfg_(cfg),
    incoming_(incoming),
    pipeline_(cfg.initial_pipeline),
    ours_(cfg.num_pieces),
    peer_has_(cfg.num_pieces),
    started_(now),
    last_received_(now),
    last_sent_(now),
    last_block_(now) {
  pex_ = pex_exchange(cfg.pex_timing);
}

void peer_protocol::close(errc code, std::string why) {
  if (!act_.close) act_.close = error{code, std::move(why)};
}

void peer_protocol::send(const wire::message& m, time_point now) {
  wire::append(act_.send, m);
  last_sent_ = now;
}

// -- the handshake ------------------------------------------------------------

void peer_protocol::on_connected(time_point now) {
  started_ = now;
  wire::handshake hs;
  hs.info_hash = cfg_.info_hash;
  hs.peer_id = cfg_.our_id;
  hs.reserved[5] |= 0x10;  // BEP 10: we speak the extension protocol
  // A connection that only fetches metadata has no pieces to speak of.
  if (!cfg_.metadata_only) hs.reserved[fast_extension_byte] |= fast_extension_bit;
  if (cfg_.dht_port != 0) hs.reserved[7] |= 0x01;  // BEP 5: we run a DHT node
  wire::append_handshake(act_.send, hs);
  last_sent_ = now;
}

void peer_protocol::on_received(time_point now) { last_received_ = now; }

void peer_protocol::on_handshake(const wire::handshake& hs, time_point now) {
  if (handshaken_) {
    close(errc::wire_protocol, "a second handshake");
    return;
  }
  if (hs.info_hash != cfg_.info_hash) {
    close(errc::wire_protocol, "handshake for another torrent");
    return;
  }
  if (hs.peer_id == cfg_.our_id) {
    close(errc::wire_protocol, "connected to ourselves");
    return;
  }
  peer_extensions_ = (hs.reserved[5] & 0x10) != 0;
  fast_ = !cfg_.metadata_only && (hs.reserved[fast_extension_byte] & fast_extension_bit) != 0;
  if (fast_ && remote_ip_.size() == 4) {
    std::array<std::uint8_t, 4> ip{};
    std::copy_n(remote_ip_.begin(), 4, ip.begin());
    allowed_out_ = allowed_fast_set(ip, cfg_.info_hash, cfg_.num_pieces,
                                    allowed_fast_count(cfg_.num_pieces));
  }
  if (cfg_.metadata_only && !peer_extensions_) {
    close(errc::wire_protocol, "the peer does not speak the extension protocol, so it cannot send metadata");
    return;
  }
  // An incoming peer spoke first; we answer in kind.
  if (incoming_) on_connected(now);
  handshaken_ = true;
  remote_id_ = hs.peer_id;
  // Fetching metadata needs no PieceManager: there are no pieces yet.
  act_.joined = !cfg_.metadata_only;
  // BEP 10: the extension handshake follows the handshake at once.
  if (peer_extensions_) send_extension_handshake(now);
  if (cfg_.dht_port != 0 && (hs.reserved[7] & 0x01) != 0) send(wire::port{cfg_.dht_port}, now);
}

// -- the extension protocol (BEP 10) and metadata (BEP 9) ---------------------

void peer_protocol::send_extension_handshake(time_point now) {
  extension_handshake h;
  h.m.emplace_back("ut_metadata", our_ut_metadata_id);
  if (pex_enabled()) h.m.emplace_back("ut_pex", our_ut_pex_id);
  h.client = "actorrent 0.1.0";
  if (cfg_.listen_port != 0) h.listen_port = cfg_.listen_port;
  h.reqq = static_cast<std::uint32_t>(cfg_.max_upload_queue);
  h.yourip = remote_ip_;
  if (cfg_.metadata && !cfg_.metadata->empty())
    h.metadata_size = static_cast<std::int64_t>(cfg_.metadata->size());
  send_extended(0, encode_extension_handshake(h), now);
}

void peer_protocol::send_extended(std::uint8_t id, const std::vector<std::uint8_t>& payload,
                                  time_point now) {
  send(wire::extended{id, payload}, now);
}

void peer_protocol::on_extended(const wire::extended& m, time_point now, std::size_t queued) {
  if (m.id == 0) {
    on_extension_handshake(m.payload, now);
  } else if (m.id == our_ut_metadata_id) {
    on_metadata_message(m.payload, now, queued);
  } else if (m.id == our_ut_pex_id) {
    on_pex_message(m.payload, now);
  }
  // Other ids: extensions we did not offer; BEP 10 says ignore them.
}

void peer_protocol::on_extension_handshake(std::span<const std::uint8_t> payload, time_point now) {
  auto h = parse_extension_handshake(payload);
  if (!h) {
    close(h.err().code, h.err().message);
    return;
  }
  // A peer may send its handshake again to change its ids (0: switched off).
  peer_ext_handshake_ = true;
  peer_metadata_id_ = h->id_of("ut_metadata");
  if (!h->client.empty()) peer_client_ = h->client;
  if (h->listen_port) act_.remote_listen_port = *h->listen_port;
  peer_pex_id_ = pex_enabled() ? h->id_of("ut_pex") : 0;
  if (peer_pex_id_ != 0) {
    // The address the remote sees us at, with our port, is us: a peer
    // that names it in its PEX must not make us dial ourselves.
    if (auto ours = address_from_bytes(h->yourip); !ours.empty() && cfg_.listen_port != 0)
      pex_.add_own_address({std::move(ours), cfg_.listen_port});
    pex_.start(now);
  }
  if (!cfg_.metadata_only) return;
  if (peer_metadata_id_ == 0 || !h->metadata_size) {
    close(errc::cancelled, "the peer has no metadata to send");
    return;
  }
  act_.metadata_offer = *h->metadata_size;
  (void)now;
}

void peer_protocol::on_metadata_message(std::span<const std::uint8_t> payload, time_point now,
                                        std::size_t queued) {
  auto m = parse_metadata_message(payload);
  if (!m) {
    // BEP 9: a message type we do not know is ignored.
    if (m.err().code != errc::invalid_argument) close(m.err().code, m.err().message);
    return;
  }
  switch (m->type) {
    case metadata_msg::request: {
      if (++metadata_requests_ > cfg_.max_metadata_requests) {
        close(errc::wire_limit, "more than " + std::to_string(cfg_.max_metadata_requests)
                                  + " metadata requests");
        return;
      }
      if (peer_metadata_id_ == 0) return;  // it never told us where answers go
      const auto& md = cfg_.metadata;
      auto begin = std::size_t{m->piece} * metadata_piece_size;
      if (!md || begin >= md->size() || queued + act_.send.size() >= cfg_.send_high_water) {
        send_extended(peer_metadata_id_, encode_metadata_reject(m->piece), now);
        return;
      }
      auto len = std::min(metadata_piece_size, md->size() - begin);
      auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(md->data()) + begin, len);
      send_extended(peer_metadata_id_,
                    encode_metadata_data(m->piece, static_cast<std::int64_t>(md->size()), bytes), now);
      ++metadata_served_;
      return;
    }
    case metadata_msg::data:
    case metadata_msg::reject: {
      auto it = std::find_if(metadata_outstanding_.begin(), metadata_outstanding_.end(),
                             [&](const auto& r) { return r.piece == m->piece; });
      if (it == metadata_outstanding_.end()) return;  // not asked, or given up on
      metadata_outstanding_.erase(it);
      if (m->type == metadata_msg::reject) {
        act_.metadata_rejects.push_back(m->piece);
      } else {
        act_.metadata_pieces.push_back(
          {m->piece, m->total_size, std::vector<std::uint8_t>(m->data.begin(), m->data.end())});
        last_block_ = now;
      }
      return;
    }
  }
}

// -- peer exchange (BEP 11) ---------------------------------------------------

void peer_protocol::on_pex_message(std::span<const std::uint8_t> payload, time_point now) {
  // Never offered (private torrent, metadata only): not followed.
  if (!pex_enabled()) return;
  auto learned = pex_.on_message(payload, now);
  if (!learned) {
    close(learned.err().code, learned.err().message);
    return;
  }
  act_.pex_learned.insert(act_.pex_learned.end(), learned->begin(), learned->end());
}

void peer_protocol::on_pex_peers(const std::vector<pex_peer>& connected, time_point now) {
  if (closing() || peer_pex_id_ == 0) return;
  if (auto payload = pex_.make_message(connected)) send_extended(peer_pex_id_, *payload, now);
}

void peer_protocol::request_metadata(std::uint32_t piece, time_point now) {
  if (closing() || peer_metadata_id_ == 0) {
    act_.metadata_rejects.push_back(piece);
    return;
  }
  metadata_outstanding_.push_back({piece, now});
  send_extended(peer_metadata_id_, encode_metadata_request(piece), now);
}

void peer_protocol::expire_metadata_requests(time_point now) {
  bool late = false;
  while (!metadata_outstanding_.empty()
         && now - metadata_outstanding_.front().sent > cfg_.request_timeout) {
    act_.metadata_rejects.push_back(metadata_outstanding_.front().piece);
    metadata_outstanding_.pop_front();
    late = true;
  }
  if (late && ++metadata_timeouts_ >= 3) close(errc::timeout, "peer does not answer metadata requests");
}

void peer_protocol::on_joined(std::span<const std::uint8_t> ours, time_point now) {
  if (ours.empty() || !ours_.assign_wire(ours, cfg_.num_pieces)) ours_ = bitfield(cfg_.num_pieces);
  send_our_pieces(now);
}

void peer_protocol::send_our_pieces(time_point now) {
  if (!fast_) {
    if (!ours_.none()) send(wire::bitfield{ours_.bytes()}, now);
    return;
  }
  // BEP 6: a fast peer always says what it has, in the shortest form.
  if (ours_.none())
    send(wire::have_none{}, now);
  else if (ours_.all())
    send(wire::have_all{}, now);
  else
    send(wire::bitfield{ours_.bytes()}, now);
  // Only pieces we have: the others follow as we verify them (on_have).
  for (auto piece : allowed_out_)
    if (ours_.test(piece)) send(wire::allowed_fast{piece}, now);
}

// -- messages -----------------------------------------------------------------

void peer_protocol::on_message(const wire::message& msg, time_point now, std::size_t queued) {
  std::visit(
    [&](const auto& m) {
      using T = std::decay_t<decltype(m)>;
      if constexpr (std::is_same_v<T, wire::extended>) {
        on_extended(m, now, queued);
      } else if constexpr (std::is_same_v<T, wire::suggest_piece> || std::is_same_v<T, wire::have_all>
                           || std::is_same_v<T, wire::have_none>
                           || std::is_same_v<T, wire::reject_request>
                           || std::is_same_v<T, wire::allowed_fast>) {
        on_fast_message(msg, now);
      } else if constexpr (std::is_same_v<T, wire::port>) {
        if (cfg_.dht_port != 0 && m.port != 0 && !port_taken_) {
          port_taken_ = true;
          act_.dht_node_port = m.port;
        }
      } else if (cfg_.metadata_only) {
        // Without metadata there are no pieces to speak of: the peer's
        // bitfield, HAVEs and requests wait for the torrent's connections.
      } else if constexpr (std::is_same_v<T, wire::choke>) {
        peer_choking_ = true;
        // Without the fast extension a choke discards every pending request;
        // a fast peer rejects or serves each one (BEP 6), so they stay.
        if (!fast_) give_back_all();
      } else if constexpr (std::is_same_v<T, wire::unchoke>) {
        peer_choking_ = false;
        last_block_ = now;
      } else if constexpr (std::is_same_v<T, wire::interested>) {
        if (!peer_interested_) {
          peer_interested_ = stats_.peer_interested = true;
          act_.report = true;
        }
      } else if constexpr (std::is_same_v<T, wire::not_interested>) {
        if (peer_interested_) {
          peer_interested_ = stats_.peer_interested = false;
          reject_queued(false, now);
          act_.report = true;
        }
      } else if constexpr (std::is_same_v<T, wire::have>) {
        // Only news counts: a repeated HAVE costs nothing, so a flood of them
        // cannot turn into work or memory here or at the PieceManager.
        if (peer_has_.test(m.piece)) return;
        peer_has_.set(m.piece);
        on_remote_has(now);
        if (!closing()) act_.haves.push_back(m.piece);  // one per piece: bounded
      } else if constexpr (std::is_same_v<T, wire::bitfield>) {
        // BEP 3 says first and once, but aria2 sends it again as it
        // progresses; its cost is linear in the bytes received, so accept it.
        peer_has_.assign_wire(m.bits, cfg_.num_pieces);
        on_remote_has(now);
        if (!closing()) act_.bitfield.emplace(m.bits.begin(), m.bits.end());
      } else if constexpr (std::is_same_v<T, wire::piece>) {
        on_block(m, now);
      } else if constexpr (std::is_same_v<T, wire::request>) {
        on_request(m, now, queued);
      } else if constexpr (std::is_same_v<T, wire::cancel>) {
        on_remote_cancel(m, now);
      } else {
        // keep-alive, unknown (extension messages): nothing to do.
      }
    },
    msg);
}

void peer_protocol::on_remote_has(time_point) {
  stats_.seed = peer_has_.all();
  if (both_seeds()) close(errc::cancelled, "both sides are seeds");
}

/// Both sides have everything: the connection is of no use to either.
bool peer_protocol::both_seeds() const {
  return !ours_.empty() && ours_.all() && !peer_has_.empty() && peer_has_.all();
}

void peer_protocol::on_bitfield_answer(bool interesting, time_point now) {
  set_interest(interesting, now);
}

void peer_protocol::on_have_answer(bool interesting, time_point now) {
  if (interesting) set_interest(true, now);
}

void peer_protocol::set_interest(bool interesting, time_point now) {
  if (interesting == am_interested_ || closing()) return;
  am_interested_ = interesting;
  if (interesting)
    send(wire::interested{}, now);
  else
    send(wire::not_interested{}, now);
  request_work(now);
}

// -- downloading --------------------------------------------------------------

void peer_protocol::give_back_all() {
  for (auto& r : outstanding_) act_.drop.push_back(r.block);
  outstanding_.clear();
}

void peer_protocol::request_work(time_point now) {
  if (!handshaken_ || closing() || !am_interested_ || want_pending_ || reject_backoff_) return;
  std::vector<std::uint32_t> only;
  if (peer_choking_) {
    // Choked: a fast peer still serves its allowed-fast pieces.
    if (!fast_) return;
    for (auto piece : allowed_in_)
      if (peer_has_.test(piece) && !ours_.test(piece)) only.push_back(piece);
    if (only.empty()) return;
  }
  auto room = pipeline_ > outstanding_.size() ? pipeline_ - outstanding_.size() : 0;
  // Ask in batches: one round trip to the PieceManager per few blocks would
  // cost more than the blocks themselves on a fast link.
  if (room == 0 || (!outstanding_.empty() && room < std::max<std::size_t>(1, pipeline_ / 4)))
    return;
  want_pending_ = true;
  want_sent_ = now;
  act_.want = static_cast<std::uint32_t>(room);
  act_.want_pieces = std::move(only);
}

void peer_protocol::on_work(std::vector<block_ref> blocks, time_point now) {
  want_pending_ = false;
  if (blocks.empty()) return;
  if (!am_interested_ || closing()) {
    act_.drop.insert(act_.drop.end(), blocks.begin(), blocks.end());
    return;
  }
  if (peer_choking_) {
    // Choked while the answer was on its way: the peer would ignore the
    // requests (or reject them), so they go straight back, except those of
    // its allowed-fast pieces.
    auto usable = std::partition(blocks.begin(), blocks.end(), [&](const block_ref& b) {
      return fast_ && std::find(allowed_in_.begin(), allowed_in_.end(), b.piece) != allowed_in_.end();
    });
    act_.drop.insert(act_.drop.end(), usable, blocks.end());
    blocks.erase(usable, blocks.end());
    if (blocks.empty()) return;
  }
  if (outstanding_.empty()) last_block_ = now;
  for (auto& b : blocks) {
    wire::append(act_.send, wire::request{b.piece, b.begin, b.length});
    outstanding_.push_back({b, now});
  }
  last_sent_ = now;
}

void peer_protocol::on_wake(time_point now) { request_work(now); }

void peer_protocol::on_block(const wire::piece& p, time_point now) {
  auto it = std::find_if(outstanding_.begin(), outstanding_.end(), [&](const auto& r) {
    return r.block.piece == p.piece && r.block.begin == p.begin;
  });
  if (it == outstanding_.end() || it->block.length != p.data.size()) {
    // Unrequested, or cancelled by us in end-game after the peer sent it.
    stats_.discarded += p.data.size();
    return;
  }
  block_ref b = it->block;
  outstanding_.erase(it);
  last_block_ = now;
  snubs_ = 0;
  snubbed_ = false;
  down_this_tick_ += p.data.size();
  stats_.downloaded += p.data.size();
  act_.blocks.push_back({b, p.buffer ? std::move(*p.buffer) : block_buffer::copy_of(p.data)});
}

void peer_protocol::on_cancel(const block_ref& b, time_point now) {
  auto it = std::find_if(outstanding_.begin(), outstanding_.end(),
                         [&](const auto& r) { return r.block == b; });
  if (it == outstanding_.end()) return;
  outstanding_.erase(it);
  send(wire::cancel{b.piece, b.begin, b.length}, now);
}

void peer_protocol::on_have(std::uint32_t piece, time_point now) {
  if (piece >= cfg_.num_pieces || ours_.test(piece)) return;
  ours_.set(piece);
  if (!handshaken_) return;
  send(wire::have{piece}, now);
  if (fast_ && allowed_to_peer(piece)) send(wire::allowed_fast{piece}, now);
  if (ours_.all()) {
    if (peer_has_.all()) {
      close(errc::cancelled, "both sides are seeds");
      return;
    }
    set_interest(false, now);
  }
}

// -- uploading ----------------------------------------------------------------

std::int64_t peer_protocol::piece_size(std::uint32_t piece) const {
  return std::min(cfg_.piece_length,
                  cfg_.total_length - static_cast<std::int64_t>(piece) * cfg_.piece_length);
}

const std::uint8_t* peer_protocol::cached(const block_ref& r) const {
  for (auto& e : piece_cache_)
    if (e.piece == r.piece && e.begin <= r.begin && r.begin + r.length <= e.begin + e.data.size())
      return e.data.data() + (r.begin - e.begin);
  return nullptr;
}

/// Pieces kept per peer: about 1 MiB, at least one piece.
std::size_t peer_protocol::cache_limit() const {
  auto by_bytes = static_cast<std::size_t>(cfg_.upload_cache_bytes
                                           / std::max<std::int64_t>(1, cfg_.piece_length));
  return std::clamp<std::size_t>(by_bytes, 1, cfg_.cached_pieces);
}

void peer_protocol::refuse_request(const block_ref& r, errc code, std::string why,
                                   time_point now) {
  // A fast peer hears that we will not serve it (BEP 6) and may ask
  // elsewhere; a few such mistakes are forgiven, a stream of them is not.
  if (fast_ && ++refused_requests_ <= cfg_.max_choked_requests) {
    send(wire::reject_request{r.piece, r.begin, r.length}, now);
    return;
  }
  close(code, std::move(why));
}

void peer_protocol::on_request(const wire::request& m, time_point now, std::size_t queued) {
  const block_ref r{m.piece, m.begin, m.length};
  if (m.length == 0 || m.length > std::min<std::uint32_t>(cfg_.max_request, 128 * 1024)) {
    refuse_request(r, errc::wire_protocol, "request of " + std::to_string(m.length) + " bytes", now);
    return;
  }
  if (m.piece >= cfg_.num_pieces || ours_.empty() || !ours_.test(m.piece)) {
    refuse_request(r, errc::wire_protocol,
                   "request for piece " + std::to_string(m.piece) + " that we do not have", now);
    return;
  }
  if (static_cast<std::int64_t>(m.begin) + m.length > piece_size(m.piece)) {
    refuse_request(r, errc::wire_protocol,
                   "request beyond the end of piece " + std::to_string(m.piece), now);
    return;
  }
  if (am_choking_ && !(fast_ && allowed_to_peer(m.piece))) {
    // BEP 3: requests from a choked peer are dropped (BEP 6: rejected). A
    // few arrive after every choke; a peer that keeps sending them is not
    // playing fair.
    if (++choked_requests_ > cfg_.max_choked_requests) {
      close(errc::wire_protocol, "keeps requesting while choked");
      return;
    }
    if (fast_) send(wire::reject_request{r.piece, r.begin, r.length}, now);
    return;
  }
  if (upload_queue_.size() >= cfg_.max_upload_queue) {
    refuse_request(r, errc::wire_limit,
                   "more than " + std::to_string(cfg_.max_upload_queue) + " requests queued", now);
    return;
  }
  upload_queue_.push_back(r);
  serve(now, queued);
}

void peer_protocol::on_remote_cancel(const wire::cancel& m, time_point now) {
  block_ref b{m.piece, m.begin, m.length};
  auto it = std::find(upload_queue_.begin(), upload_queue_.end(), b);
  if (it == upload_queue_.end()) return;  // sent already, or never asked: nothing to answer
  upload_queue_.erase(it);
  // BEP 6: every request is answered, with the block or with a reject.
  if (fast_) send(wire::reject_request{b.piece, b.begin, b.length}, now);
}

bool peer_protocol::allowed_to_peer(std::uint32_t piece) const {
  return std::find(allowed_out_.begin(), allowed_out_.end(), piece) != allowed_out_.end();
}

void peer_protocol::reject_queued(bool keep_allowed_fast, time_point now) {
  if (!fast_) {
    upload_queue_.clear();
    return;
  }
  std::erase_if(upload_queue_, [&](const block_ref& r) {
    if (keep_allowed_fast && allowed_to_peer(r.piece)) return false;
    send(wire::reject_request{r.piece, r.begin, r.length}, now);
    return true;
  });
}

void peer_protocol::set_choking(bool choke, time_point now, std::size_t queued) {
  if (choke == am_choking_ || !handshaken_ || closing()) return;
  am_choking_ = choke;
  if (choke) {
    // A fast peer keeps its allowed-fast requests and hears of the others.
    reject_queued(true, now);
    if (upload_queue_.empty()) piece_cache_.clear();
    choked_requests_ = 0;
    send(wire::choke{}, now);
    serve(now, queued);
  } else {
    send(wire::unchoke{}, now);
    serve(now, queued);
  }
}

void peer_protocol::on_piece_loaded(std::uint32_t piece, std::uint32_t begin,
                                    std::vector<std::uint8_t> data, time_point now,
                                    std::size_t queued) {
  std::erase(loading_, piece);
  // Cancelled or choked meanwhile: keep nothing nobody asked for.
  bool wanted = std::any_of(upload_queue_.begin(), upload_queue_.end(),
                            [piece](const block_ref& r) { return r.piece == piece; });
  if (wanted && static_cast<std::int64_t>(begin) + static_cast<std::int64_t>(data.size()) <= piece_size(piece)) {
    piece_cache_.push_back({piece, begin, std::move(data)});
    if (piece_cache_.size() > cache_limit()) piece_cache_.pop_front();
  }
  serve(now, queued);
}

void peer_protocol::on_drained(time_point now, std::size_t queued) {
  waiting_for_drain_ = false;
  serve(now, queued);
}

void peer_protocol::serve(time_point now, std::size_t queued) {
  if (closing()) return;
  // While we choke the peer, the queue holds only its allowed-fast requests.
  // Whatever is at hand goes first, not strictly the oldest request: a peer
  // that asks for a block of each of many pieces in turn (aria2c) would
  // otherwise have each piece read again for every round, as the reads
  // kept per peer are fewer than its pieces.
  for (auto it = upload_queue_.begin(); it != upload_queue_.end();) {
    if (queued + act_.send.size() >= cfg_.send_high_water) {
      if (!waiting_for_drain_) {
        waiting_for_drain_ = true;
        act_.notify_drained_below = cfg_.send_high_water / 2;
      }
      break;
    }
    auto r = *it;
    const auto* data = cached(r);
    if (data == nullptr) {
      ++it;
      continue;
    }
    it = upload_queue_.erase(it);
    wire::append_piece_header(act_.send, r.piece, r.begin, r.length);
    act_.send.insert(act_.send.end(), data, data + r.length);
    last_sent_ = now;
    up_this_tick_ += r.length;
    stats_.uploaded += r.length;
  }
  // Reads no queued request needs any more make room; one that still
  // serves a request stays, even while the socket is full: dropping it
  // would only mean reading it again.
  std::erase_if(piece_cache_, [&](const cached_piece& e) {
    return std::none_of(upload_queue_.begin(), upload_queue_.end(), [&](const block_ref& r) {
      return r.piece == e.piece && e.begin <= r.begin && r.begin + r.length <= e.begin + e.data.size();
    });
  });
  // Read ahead: the next pieces asked for are loaded while this one is sent,
  // as long as what they bring can be kept.
  for (auto& r : upload_queue_) {
    const bool room = loading_.size() < cfg_.piece_reads
                      && piece_cache_.size() + loading_.size() < cache_limit();
    if (!room && act_.load.empty()) break;
    if (cached(r) != nullptr) continue;
    const bool loading = std::find(loading_.begin(), loading_.end(), r.piece) != loading_.end();
    // A read decided in this batch of input, not yet handed out, grows to
    // take in requests that came after it (a peer's requests for a piece
    // mostly arrive together).
    auto pending = std::find_if(act_.load.begin(), act_.load.end(),
                                [&](const actions::piece_read& l) { return l.piece == r.piece; });
    if (loading && pending != act_.load.end()) {
      const auto end = std::max(pending->begin + pending->length, r.begin + r.length);
      pending->begin = std::min(pending->begin, r.begin);
      pending->length = end - pending->begin;
      continue;
    }
    if (loading || !room) continue;
    loading_.push_back(r.piece);
    act_.load.push_back({r.piece, r.begin, r.length});
  }
}

// -- time ---------------------------------------------------------------------

void peer_protocol::expire_requests(time_point now) {
  // A request unanswered for long goes back to the pool even while other
  // blocks arrive: a peer must not hold pieces hostage by withholding one
  // block of each.
  if (!outstanding_.empty() && now - last_block_ <= cfg_.request_timeout) {
    bool late = false;
    for (auto it = outstanding_.begin(); it != outstanding_.end();) {
      if (now - it->sent > 2 * cfg_.request_timeout) {
        late = true;
        act_.drop.push_back(it->block);
        wire::append(act_.send, wire::cancel{it->block.piece, it->block.begin, it->block.length});
        last_sent_ = now;
        it = outstanding_.erase(it);
      } else {
        ++it;
      }
    }
    if (late && ++late_rounds_ >= 3) {
      close(errc::timeout, "peer keeps requests unanswered");
      return;
    }
  }
  if (!outstanding_.empty() && now - last_block_ > cfg_.request_timeout) {
    // Snubbed: let other peers fetch these blocks.
    give_back_all();
    pipeline_ = cfg_.min_pipeline;
    snubbed_ = true;
    if (++snubs_ >= 3) close(errc::timeout, "peer stopped sending blocks");
  }
}

void peer_protocol::on_tick(time_point now) {
  if (closing()) return;
  // Rates smoothed over a few seconds.
  stats_.download_rate = stats_.download_rate * 0.5 + static_cast<double>(down_this_tick_) * 0.5;
  stats_.upload_rate = stats_.upload_rate * 0.5 + static_cast<double>(up_this_tick_) * 0.5;
  down_this_tick_ = up_this_tick_ = 0;
  // Adapt the pipeline to what this peer actually delivers: enough requests
  // for `pipeline_seconds` of data, growing at most twofold per second.
  auto wanted = static_cast<std::uint32_t>(std::min<double>(
    stats_.download_rate * cfg_.pipeline_seconds / cfg_.max_block, cfg_.max_pipeline));
  if (wanted > pipeline_)
    pipeline_ = std::min({wanted, pipeline_ * 2, cfg_.max_pipeline});
  else if (stats_.download_rate > 0)
    pipeline_ = std::max(wanted, cfg_.min_pipeline);

  if (!handshaken_) {
    if (now - started_ > cfg_.handshake_timeout + cfg_.connect_timeout)
      close(errc::timeout, "no handshake");
    return;
  }
  if (now - last_received_ > cfg_.idle_timeout) {
    close(errc::timeout, "peer idle");
    return;
  }
  if (cfg_.metadata_only && !peer_ext_handshake_ && now - started_ > cfg_.handshake_timeout + cfg_.connect_timeout) {
    close(errc::timeout, "no extension handshake");
    return;
  }
  reject_backoff_ = false;
  expire_metadata_requests(now);
  if (closing()) return;
  expire_requests(now);
  if (closing()) return;
  if (now - last_sent_ > cfg_.keepalive_interval) send(wire::keep_alive{}, now);
  // A PieceManager busy for long is no reason to drop a peer: ask again (an
  // answer to the first want that still comes is used like any other).
  if (want_pending_ && now - want_sent_ > cfg_.want_timeout) want_pending_ = false;
  stats_.snubbed = snubbed_;
  if (peer_pex_id_ != 0 && pex_.take_due(now)) act_.pex_due = true;
  act_.report = true;
  request_work(now);
}

} // namespace actorrent

namespace actorrent {

// -- the fast extension (BEP 6) -------------------------------------------------

void peer_protocol::on_fast_message(const wire::message& msg, time_point now) {
  if (!fast_) {
    close(errc::wire_protocol, std::string(wire::message_name(msg))
                                 + " without the fast extension in both handshakes");
    return;
  }
  if (std::holds_alternative<wire::have_all>(msg)) {
    peer_has_ = bitfield(cfg_.num_pieces, true);
  } else if (std::holds_alternative<wire::have_none>(msg)) {
    peer_has_ = bitfield(cfg_.num_pieces);
  } else if (auto* r = std::get_if<wire::reject_request>(&msg)) {
    on_reject(*r);
    return;
  } else if (auto* a = std::get_if<wire::allowed_fast>(&msg)) {
    // The set is about ten pieces; a peer that offers more gets no more
    // memory for them.
    if (allowed_in_.size() < max_allowed_fast_from_peer
        && std::find(allowed_in_.begin(), allowed_in_.end(), a->piece) == allowed_in_.end())
      allowed_in_.push_back(a->piece);
    return;
  } else if (auto* s = std::get_if<wire::suggest_piece>(&msg)) {
    // A hint for the PieceManager, which keeps a few per peer; per batch of
    // input at most as many go out.
    if (act_.suggests.size() < max_suggestions_per_batch
        && std::find(act_.suggests.begin(), act_.suggests.end(), s->piece) == act_.suggests.end())
      act_.suggests.push_back(s->piece);
    return;
  }
  // have_all / have_none: the same path as a bitfield.
  on_remote_has(now);
  if (!closing()) act_.bitfield = peer_has_.bytes();
}

void peer_protocol::on_reject(const wire::reject_request& m) {
  const block_ref b{m.piece, m.begin, m.length};
  auto it = std::find_if(outstanding_.begin(), outstanding_.end(),
                         [&](const auto& r) { return r.block == b; });
  // A reject of a request we cancelled, or gave back after a timeout, is
  // the expected answer: nothing is left to do.
  if (it == outstanding_.end()) return;
  outstanding_.erase(it);
  act_.drop.push_back(b);  // back to the pool at once, for any peer
  if (peer_choking_) {
    // Rejected while choked: if it was an allowed-fast piece, the peer does
    // not honour it after all; asking again would only be rejected again.
    std::erase(allowed_in_, b.piece);
  } else {
    // Rejected while unchoked (its queue is full): asking again at once
    // could be rejected at once, so wait for the next tick.
    reject_backoff_ = true;
  }
}

} // namespace actorrent
