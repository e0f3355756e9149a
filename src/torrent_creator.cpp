#include "actorrent/create_torrent.hpp"

#include "content_listing.hpp"
#include "metainfo_rules.hpp"
#include "parallel_hasher.hpp"
#include "printable.hpp"

#include "actorrent/bencode.hpp"

#include <bit>

#ifndef ACTORRENT_VERSION
#error "ACTORRENT_VERSION must be defined by the build"
#endif

namespace actorrent {

namespace {

constexpr std::int64_t min_piece_size = std::int64_t{16} << 10;
constexpr std::int64_t min_default_piece_size = std::int64_t{32} << 10;
constexpr std::int64_t max_default_piece_size = std::int64_t{16} << 20;
// Pieces in the largest content each default size is chosen for: the
// metainfo stays small (1600 hashes are 32 KB) while pieces stay small
// enough to verify and share early.
constexpr std::int64_t pieces_per_torrent = 1600;
// Room left in a .torrent for everything besides the piece hashes.
constexpr std::int64_t room_for_the_rest = std::int64_t{1} << 20;

constexpr const char* created_by = "actorrent " ACTORRENT_VERSION;

std::optional<error> check_urls(const std::vector<std::string>& urls, const char* what) {
  for (const auto& u : urls)
    if (u.empty()) return error{errc::invalid_argument, std::string("an empty ") + what + " URL"};
  return std::nullopt;
}

bencode::value build_info(const content_listing& c, std::int64_t piece_size,
                          const std::vector<sha1_hash>& hashes, const create_options& o) {
  std::string pieces;
  pieces.reserve(hashes.size() * 20);
  for (const auto& h : hashes) pieces.append(h.raw());
  bencode::dict info;
  info.emplace_back("name", c.name);
  info.emplace_back("piece length", piece_size);
  info.emplace_back("pieces", std::move(pieces));
  if (c.multi_file) {
    bencode::list files;
    files.reserve(c.files.size());
    for (const auto& f : c.files) {
      bencode::list path(f.path.begin(), f.path.end());
      files.emplace_back(bencode::dict{{"length", f.length}, {"path", std::move(path)}});
    }
    info.emplace_back("files", std::move(files));
  } else {
    info.emplace_back("length", c.total_length);
  }
  if (o.is_private) info.emplace_back("private", 1);
  if (!o.source.empty()) info.emplace_back("source", o.source);
  return info;
}

} // namespace

std::int64_t default_piece_size(std::int64_t total_bytes) {
  std::int64_t size = min_default_piece_size;
  while (size < max_default_piece_size && total_bytes > size * pieces_per_torrent) size *= 2;
  return size;
}

result<std::string> create_torrent(const create_options& o) {
  if (o.piece_size != 0 &&
      (o.piece_size < min_piece_size || o.piece_size > max_piece_length ||
       !std::has_single_bit(static_cast<std::uint64_t>(o.piece_size))))
    return error{errc::invalid_argument,
                 "piece size " + std::to_string(o.piece_size) +
                     " is not a power of two from 16 KiB (16384) to 64 MiB (67108864)"};
  for (const auto& tier : o.trackers)
    if (auto err = check_urls(tier, "tracker")) return *err;
  if (auto err = check_urls(o.web_seeds, "web seed")) return *err;

  auto listing = list_content(o.content);
  if (!listing) return listing.err();
  const content_listing& c = *listing;
  if (c.total_length == 0)
  {
    std::string msg(1, '"');
    msg += printable(o.content.string());
    msg += "\": ";
    msg += no_data_message;
    return error{errc::metainfo_invalid, std::move(msg)};
  }

  const std::int64_t piece_size = o.piece_size != 0 ? o.piece_size : default_piece_size(c.total_length);
  const std::int64_t pieces = (c.total_length + piece_size - 1) / piece_size;
  if (pieces * 20 > static_cast<std::int64_t>(max_torrent_file) - room_for_the_rest)
    return error{errc::metainfo_invalid,
                 std::to_string(pieces) + " pieces of " + std::to_string(piece_size) +
                     " bytes would make a .torrent over 64 MiB, more than clients read: "
                     "choose a larger piece size"};

  std::function<void(std::uint32_t)> report;
  if (o.on_progress)
    report = [&](std::uint32_t done) {
      o.on_progress(create_progress{done, static_cast<std::uint32_t>(pieces), c.total_length});
    };
  auto hashes = hash_pieces(c.files, piece_size, o.threads, report);
  if (!hashes) return hashes.err();

  bencode::dict top;
  std::vector<std::string> urls;
  for (const auto& tier : o.trackers)
    for (const auto& u : tier) urls.push_back(u);
  if (!urls.empty()) top.emplace_back("announce", urls.front());
  // A single URL needs no list (as mktorrent writes it).
  if (urls.size() > 1) {
    bencode::list tiers;
    for (const auto& tier : o.trackers)
      if (!tier.empty()) tiers.emplace_back(bencode::list(tier.begin(), tier.end()));
    top.emplace_back("announce-list", std::move(tiers));
  }
  if (!o.comment.empty()) top.emplace_back("comment", o.comment);
  top.emplace_back("created by", created_by);
  if (o.creation_date) top.emplace_back("creation date", *o.creation_date);
  top.emplace_back("info", build_info(c, piece_size, *hashes, o));
  if (o.web_seeds.size() == 1)
    top.emplace_back("url-list", o.web_seeds.front());
  else if (!o.web_seeds.empty())
    top.emplace_back("url-list", bencode::list(o.web_seeds.begin(), o.web_seeds.end()));

  std::string bytes = bencode::encode(bencode::value(std::move(top)));
  if (bytes.size() > max_torrent_file)
    return error{errc::metainfo_invalid, "the .torrent would be " + std::to_string(bytes.size()) +
                                             " bytes, over the 64 MiB clients read: too many "
                                             "files or pieces (choose a larger piece size)"};
  return bytes;
}

} // namespace actorrent
