// Feeds arbitrary bytes to the .torrent parser and checks the invariants a
// successful parse promises to the rest of the client. Beyond those: parsing
// the same bytes again gives the same torrent, and so does parsing the
// canonical re-encoding of what was read (keys sorted, trailing bytes gone);
// its info-hash is the same exactly when the info dictionary was canonical.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>

#include "actorrent/bencode.hpp"
#include "actorrent/metainfo.hpp"
#include "fuzz_check.hpp"

namespace {

using actorrent::metainfo;

bool safe_component(const std::string& c) {
  return !c.empty() && c != "." && c != ".." && c.find('/') == std::string::npos &&
         c.find('\\') == std::string::npos && c.find('\0') == std::string::npos;
}

bool same_files(const metainfo& a, const metainfo& b) {
  if (a.files.size() != b.files.size()) return false;
  for (std::size_t i = 0; i < a.files.size(); ++i)
    if (a.files[i].path != b.files[i].path || a.files[i].length != b.files[i].length ||
        a.files[i].offset != b.files[i].offset || a.files[i].pad != b.files[i].pad)
      return false;
  return true;
}

bool same_torrent(const metainfo& a, const metainfo& b) {
  return a.name == b.name && a.piece_length == b.piece_length &&
         a.piece_hashes == b.piece_hashes && a.total_length == b.total_length &&
         a.multi_file == b.multi_file && a.is_private == b.is_private && same_files(a, b) &&
         a.trackers() == b.trackers() && a.url_list == b.url_list;
}

void check_stable(std::string_view in, const actorrent::metainfo& m) {
  using namespace actorrent;
  auto again = parse_metainfo(in);
  FUZZ_CHECK(again.has_value() && same_torrent(*again, m) && again->info_hash == m.info_hash &&
          again->raw_info == m.raw_info && again->warnings == m.warnings);

  bencode::limits lenient;
  lenient.strict = false;
  std::size_t used = 0;
  auto top = bencode::decode_prefix(in, used, lenient);
  FUZZ_CHECK(top.has_value());
  auto canonical = parse_metainfo(bencode::encode(*top));
  FUZZ_CHECK(canonical.has_value() && same_torrent(*canonical, m));
  auto info = bencode::decode(m.raw_info, lenient);
  FUZZ_CHECK(info.has_value());
  FUZZ_CHECK((canonical->info_hash == m.info_hash) == (bencode::encode(*info) == m.raw_info));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace actorrent;
  std::string_view in(reinterpret_cast<const char*>(data), size);

  // Whatever the strict decoder accepts re-encodes to the same bytes, and
  // reading the same bytes as a prefix takes all of them.
  if (auto v = bencode::decode(in); v.has_value()) {
    FUZZ_CHECK(bencode::encode(*v) == in);
    std::size_t used = 0;
    auto p = bencode::decode_prefix(in, used);
    FUZZ_CHECK(p.has_value() && *p == *v && used == in.size());
  }

  auto r = parse_metainfo(in);
  if (!r.has_value()) {
    FUZZ_CHECK(r.err().code != errc::none);
    FUZZ_CHECK(!r.err().message.empty());
    return 0;
  }
  const metainfo& m = *r;
  FUZZ_CHECK(!m.files.empty());
  FUZZ_CHECK(safe_component(m.name));
  FUZZ_CHECK(m.piece_length > 0);
  FUZZ_CHECK(m.info_hash == sha1(m.raw_info));
  FUZZ_CHECK(in.find(m.raw_info) != std::string_view::npos);
  std::int64_t offset = 0;
  for (const auto& f : m.files) {
    FUZZ_CHECK(f.offset == offset);
    FUZZ_CHECK(f.length >= 0);
    FUZZ_CHECK(!f.path.empty());
    for (const auto& c : f.path) FUZZ_CHECK(safe_component(c));
    offset += f.length;
  }
  FUZZ_CHECK(offset == m.total_length);
  FUZZ_CHECK(m.total_length > 0);
  // No two files share a path, and no file is another's directory.
  std::unordered_set<std::string> paths, dirs;
  for (const auto& f : m.files) {
    if (f.pad) continue;
    FUZZ_CHECK(paths.insert(f.path_string()).second);
    std::string dir;
    for (std::size_t i = 0; i + 1 < f.path.size(); ++i) {
      dir += (i != 0 ? "/" : "") + f.path[i];
      dirs.insert(dir);
    }
  }
  for (const auto& d : dirs) FUZZ_CHECK(paths.count(d) == 0);
  check_stable(in, m);
  std::int64_t sum = 0;
  for (std::uint32_t i = 0; i < m.piece_count(); ++i) {
    std::int64_t s = m.piece_size(i);
    FUZZ_CHECK(s > 0 && s <= m.piece_length);
    sum += s;
  }
  FUZZ_CHECK(sum == m.total_length);
  (void)m.trackers();
  return 0;
}
