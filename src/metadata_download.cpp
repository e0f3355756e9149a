#include "metadata_download.hpp"

#include <algorithm>
#include <cstring>

namespace actorrent {

metadata_download::metadata_download(sha1_hash info_hash, std::int64_t max_size,
                                     std::size_t max_in_flight)
  : info_hash_(info_hash), max_size_(max_size), max_in_flight_(std::max<std::size_t>(1, max_in_flight)) {}

error metadata_download::on_offer(peer_key peer, std::int64_t size) {
  if (size <= 0)
    return error{errc::wire_protocol, "metadata size " + std::to_string(size)};
  if (size > max_size_)
    return error{errc::wire_limit, "metadata of " + std::to_string(size)
                                     + " bytes, more than the limit of " + std::to_string(max_size_)};
  offers_[peer] = size;
  if (size_ == 0) {
    size_ = size;
    buffer_.assign(static_cast<std::size_t>(size), '\0');
    slots_.assign((static_cast<std::size_t>(size) + metadata_piece_size - 1) / metadata_piece_size, slot{});
  }
  return {};
}

std::uint32_t metadata_download::pieces_total() const noexcept {
  return static_cast<std::uint32_t>(slots_.size());
}

std::uint32_t metadata_download::pieces_have() const noexcept {
  return static_cast<std::uint32_t>(std::count_if(slots_.begin(), slots_.end(),
                                                  [](const slot& s) { return s.have; }));
}

std::size_t metadata_download::piece_length(std::uint32_t piece) const noexcept {
  auto begin = std::size_t{piece} * metadata_piece_size;
  return std::min(metadata_piece_size, static_cast<std::size_t>(size_) - begin);
}

std::size_t metadata_download::in_flight(peer_key peer) const {
  return static_cast<std::size_t>(std::count_if(slots_.begin(), slots_.end(), [peer](const slot& s) {
    return !s.have && s.asked == peer;
  }));
}

std::optional<std::uint32_t> metadata_download::next_request(peer_key peer) {
  auto it = offers_.find(peer);
  if (size_ == 0 || it == offers_.end() || it->second != size_) return std::nullopt;
  if (single_source_) {
    if (!source_) source_ = peer;
    if (*source_ != peer) return std::nullopt;
  }
  if (in_flight(peer) >= max_in_flight_) return std::nullopt;
  for (std::uint32_t i = 0; i < slots_.size(); ++i) {
    auto& s = slots_[i];
    if (s.have || s.asked) continue;
    s.asked = peer;
    return i;
  }
  return std::nullopt;
}

error metadata_download::on_piece(peer_key peer, std::uint32_t piece, std::int64_t total_size,
                                  std::span<const std::uint8_t> data) {
  auto it = offers_.find(peer);
  if (it == offers_.end())
    return error{errc::wire_protocol, "metadata piece from a peer that offered none"};
  if (total_size != it->second)
    return error{errc::wire_protocol, "metadata piece says the total is "
                                        + std::to_string(total_size) + " bytes, the peer offered "
                                        + std::to_string(it->second)};
  if (it->second != size_ || piece >= slots_.size() || slots_[piece].asked != peer
      || slots_[piece].have)
    return {};  // asked before a reset, or given up on: not used
  if (data.size() != piece_length(piece))
    return error{errc::wire_protocol, "metadata piece " + std::to_string(piece) + " has "
                                        + std::to_string(data.size()) + " bytes, expected "
                                        + std::to_string(piece_length(piece))};
  auto& s = slots_[piece];
  std::memcpy(buffer_.data() + std::size_t{piece} * metadata_piece_size, data.data(), data.size());
  s.have = true;
  s.from = peer;
  return {};
}

void metadata_download::on_reject(peer_key peer, std::uint32_t piece) {
  if (piece < slots_.size() && !slots_[piece].have && slots_[piece].asked == peer)
    slots_[piece].asked.reset();
}

void metadata_download::on_peer_gone(peer_key peer) {
  offers_.erase(peer);
  for (auto& s : slots_)
    if (!s.have && s.asked == peer) s.asked.reset();
  if (source_ == peer) {
    // A single source must send everything: what it sent cannot be mixed
    // with another's.
    source_.reset();
    for (auto& s : slots_) s = slot{};
  }
  if (size_ != 0 && std::none_of(offers_.begin(), offers_.end(),
                                 [this](const auto& o) { return o.second == size_; })) {
    reset();
    // Another size may start: the first remaining offer's.
    if (!offers_.empty()) {
      auto [first_peer, first_size] = *offers_.begin();
      (void)on_offer(first_peer, first_size);
    }
  }
}

bool metadata_download::complete() const noexcept {
  return size_ != 0 && std::all_of(slots_.begin(), slots_.end(), [](const slot& s) { return s.have; });
}

metadata_download::outcome metadata_download::finish() {
  outcome out;
  if (sha1(buffer_) == info_hash_) {
    out.metadata = std::move(buffer_);
    reset();
    return out;
  }
  for (const auto& s : slots_)
    if (s.from && std::find(out.senders.begin(), out.senders.end(), *s.from) == out.senders.end())
      out.senders.push_back(*s.from);
  // Blame must be exact from now on.
  single_source_ = true;
  source_.reset();
  auto size = size_;
  reset();
  // The senders are about to be refused; the others may go on with this size.
  for (auto p : out.senders) offers_.erase(p);
  std::optional<std::int64_t> next;
  for (const auto& [p, s] : offers_)
    if (s == size) next = s;
  if (!next && !offers_.empty()) next = offers_.begin()->second;
  if (next) {
    size_ = *next;
    buffer_.assign(static_cast<std::size_t>(size_), '\0');
    slots_.assign((static_cast<std::size_t>(size_) + metadata_piece_size - 1) / metadata_piece_size, slot{});
  }
  return out;
}

void metadata_download::reset() {
  size_ = 0;
  buffer_.clear();
  slots_.clear();
  source_.reset();
}

std::string torrent_file_from_metadata(std::string_view info,
                                       const std::vector<std::string>& trackers,
                                       const std::vector<std::string>& web_seeds) {
  std::string out = "d";
  auto str = [&out](std::string_view v) {
    out += std::to_string(v.size());
    out += ':';
    out += v;
  };
  // Keys in sorted order: announce, announce-list, info, url-list.
  if (!trackers.empty()) {
    out += "8:announce";
    str(trackers.front());
    out += "13:announce-listl";
    for (const auto& t : trackers) {
      out += 'l';
      str(t);
      out += 'e';
    }
    out += 'e';
  }
  out += "4:info";
  out += info;
  if (!web_seeds.empty()) {
    out += "8:url-listl";
    for (const auto& w : web_seeds) str(w);
    out += 'e';
  }
  out += "e";
  return out;
}

} // namespace actorrent
