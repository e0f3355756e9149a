// Feeds arbitrary bytes to the .torrent parser and checks the invariants a
// successful parse promises to the rest of the client.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <unordered_set>

#include "actorrent/bencode.hpp"
#include "actorrent/metainfo.hpp"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

bool safe_component(const std::string& c) {
  return !c.empty() && c != "." && c != ".." && c.find('/') == std::string::npos &&
         c.find('\\') == std::string::npos && c.find('\0') == std::string::npos;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace actorrent;
  std::string_view in(reinterpret_cast<const char*>(data), size);

  // Whatever the strict decoder accepts re-encodes to the same bytes, and
  // reading the same bytes as a prefix takes all of them.
  if (auto v = bencode::decode(in); v.has_value()) {
    require(bencode::encode(*v) == in);
    std::size_t used = 0;
    auto p = bencode::decode_prefix(in, used);
    require(p.has_value() && *p == *v && used == in.size());
  }

  auto r = parse_metainfo(in);
  if (!r.has_value()) {
    require(r.err().code != errc::none);
    require(!r.err().message.empty());
    return 0;
  }
  const metainfo& m = *r;
  require(!m.files.empty());
  require(safe_component(m.name));
  require(m.piece_length > 0);
  require(m.info_hash == sha1(m.raw_info));
  require(in.find(m.raw_info) != std::string_view::npos);
  std::int64_t offset = 0;
  for (const auto& f : m.files) {
    require(f.offset == offset);
    require(f.length >= 0);
    require(!f.path.empty());
    for (const auto& c : f.path) require(safe_component(c));
    offset += f.length;
  }
  require(offset == m.total_length);
  require(m.total_length > 0);
  // No two files share a path, and no file is another's directory.
  std::unordered_set<std::string> paths, dirs;
  for (const auto& f : m.files) {
    if (f.pad) continue;
    require(paths.insert(f.path_string()).second);
    std::string dir;
    for (std::size_t i = 0; i + 1 < f.path.size(); ++i) {
      dir += (i != 0 ? "/" : "") + f.path[i];
      dirs.insert(dir);
    }
  }
  for (const auto& d : dirs) require(paths.count(d) == 0);
  std::int64_t sum = 0;
  for (std::uint32_t i = 0; i < m.piece_count(); ++i) {
    std::int64_t s = m.piece_size(i);
    require(s > 0 && s <= m.piece_length);
    sum += s;
  }
  require(sum == m.total_length);
  (void)m.trackers();
  return 0;
}
