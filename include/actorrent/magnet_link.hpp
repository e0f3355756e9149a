// A magnet link (BEP 9): the info-hash of a torrent whose metainfo is
// fetched from peers, with a display name, trackers, peer addresses and web
// seeds.
//
//   magnet:?xt=urn:btih:<40 hex or 32 base32>&dn=NAME&tr=URL&x.pe=HOST:PORT&ws=URL
//
// Links come from users and web pages, so parsing is bounded and every
// rejection says which parameter is wrong.
#pragma once

#include "actorrent/error.hpp"
#include "actorrent/sha1_hash.hpp"

#include <cstddef>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace actorrent {

struct magnet_link {
  sha1_hash info_hash;
  /// dn: the name to show until the metainfo says otherwise (may be empty).
  std::string name;
  /// tr, in the order given, duplicates removed.
  std::vector<std::string> trackers;
  /// x.pe as "host:port" ("[v6]:port"), checked, in the order given,
  /// duplicates removed.
  std::vector<std::string> peers;
  /// ws: web seeds (BEP 19 url-list entries, as libtorrent and WebTorrent
  /// read them), http:// or https:// only, in the order given, duplicates
  /// removed. Used beside the metainfo's own once the metadata is known.
  std::vector<std::string> web_seeds;
};

/// Bounds on what parse_magnet accepts.
struct magnet_limits {
  std::size_t max_length = 64 * 1024;  ///< the whole link
  std::size_t max_trackers = 64;
  std::size_t max_peers = 256;
  std::size_t max_web_seeds = 32;
  std::size_t max_web_seed_length = 2048;  ///< one ws URL, decoded
};

/// True when `text` starts like a magnet link ("magnet:", any case), so a
/// caller can tell a link from a file name before parsing.
bool looks_like_magnet(std::string_view text) noexcept;

/// Parses a magnet link. Exactly one BitTorrent v1 info-hash (xt=urn:btih:)
/// is required; other xt kinds and unknown parameters are ignored. Values
/// are percent-decoded ('+' is a space). Errors are errc::invalid_argument
/// and name the offending parameter.
result<magnet_link> parse_magnet(std::string_view uri, const magnet_limits& lim = {});

/// Prints info-hash, name, trackers, peers and web seeds, one item per line
/// (`actorrent show MAGNET`).
void print_magnet(std::ostream& out, const magnet_link& m);

} // namespace actorrent
