// Fetching a torrent's info dictionary from peers (BEP 9): which peer asks
// for which 16 KiB piece, the size bound, the assembly, and the SHA-1 check
// against the info-hash, with blame for whoever sent bad metadata.
//
// The first usable size offered is the size of the attempt; peers that
// offer another size wait. Pieces are spread over the peers of that size;
// when the assembled dictionary does not match the info-hash, every piece
// is dropped and the next attempts take all pieces from a single peer, so
// a failure then names its sender exactly. A peer that leaves or rejects
// gives its pieces back.
//
// Not thread-safe; owned by one actor. Bounded: at most max_size bytes,
// max_in_flight requests per peer.
#pragma once

#include "actorrent/error.hpp"
#include "actorrent/sha1_hash.hpp"
#include "metadata_message.hpp"
#include "peer_key.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace actorrent {

class metadata_download {
public:
  metadata_download(sha1_hash info_hash, std::int64_t max_size, std::size_t max_in_flight = 4);

  /// A peer says it has metadata of `size` bytes. An error when the size is
  /// unusable (not positive, or over the bound): refuse the peer.
  error on_offer(peer_key peer, std::int64_t size);

  /// The next piece `peer` should be asked for; nullopt when it has nothing
  /// to do now (its size is not the attempt's, its pipeline is full, or
  /// every piece is asked for).
  std::optional<std::uint32_t> next_request(peer_key peer);

  /// A piece arrived from `peer`. An error means the peer broke the
  /// protocol (a piece not asked of it, a total size other than it
  /// offered, a wrong length): refuse it. Unrequested pieces of a peer
  /// whose request was given up are not an error, just not used.
  error on_piece(peer_key peer, std::uint32_t piece, std::int64_t total_size,
                 std::span<const std::uint8_t> data);

  /// The peer refused the piece (or did not answer in time): it goes back.
  void on_reject(peer_key peer, std::uint32_t piece);

  /// The peer is gone: its requests go back, and when no peer of the
  /// attempt's size is left, the attempt ends so another size may start.
  void on_peer_gone(peer_key peer);

  bool complete() const noexcept;

  struct outcome {
    /// The info dictionary, when its SHA-1 is the info-hash.
    std::optional<std::string> metadata;
    /// Otherwise: the peers that sent its pieces.
    std::vector<peer_key> senders;
  };
  /// Precondition: complete(). Checks the hash; on a mismatch starts over
  /// with single-source attempts.
  outcome finish();

  std::int64_t size() const noexcept { return size_; }
  std::uint32_t pieces_total() const noexcept;
  std::uint32_t pieces_have() const noexcept;
  std::int64_t max_size() const noexcept { return max_size_; }

private:
  struct slot {
    std::optional<peer_key> asked;  // who has the request now
    std::optional<peer_key> from;   // who sent the bytes we hold
    bool have = false;
  };
  void reset();
  std::size_t piece_length(std::uint32_t piece) const noexcept;
  std::size_t in_flight(peer_key peer) const;

  sha1_hash info_hash_;
  std::int64_t max_size_;
  std::size_t max_in_flight_;
  std::map<peer_key, std::int64_t> offers_;
  std::int64_t size_ = 0;  // 0: no attempt running
  std::string buffer_;
  std::vector<slot> slots_;
  bool single_source_ = false;
  std::optional<peer_key> source_;
};

/// A .torrent made of fetched metadata: the info dictionary exactly as
/// received (so its SHA-1 stays the info-hash), with the trackers as
/// announce (the first) and announce-list (one tier each), and the web
/// seeds as url-list (BEP 19), so that they serve this download and any
/// later start from the saved file.
std::string torrent_file_from_metadata(std::string_view info,
                                       const std::vector<std::string>& trackers,
                                       const std::vector<std::string>& web_seeds = {});

} // namespace actorrent
