#include "file_selection.hpp"

#include <algorithm>

namespace actorrent {

std::size_t data_file_count(const metainfo& meta) {
  return static_cast<std::size_t>(
    std::count_if(meta.files.begin(), meta.files.end(), [](const file_entry& f) { return !f.pad; }));
}

std::vector<std::uint8_t> piece_priorities(const metainfo& meta,
                                           const std::vector<std::uint8_t>& file_priorities) {
  const std::uint32_t n = meta.piece_count();
  std::vector<std::uint8_t> out(n, 0);
  std::vector<bool> touched(n, false);
  std::size_t index = 0;  // among data files
  for (const auto& f : meta.files) {
    if (f.pad) continue;
    const std::uint8_t prio = index < file_priorities.size() ? file_priorities[index] : 1;
    ++index;
    if (f.length <= 0 || meta.piece_length <= 0) continue;
    auto first = static_cast<std::uint64_t>(f.offset / meta.piece_length);
    auto last = static_cast<std::uint64_t>((f.offset + f.length - 1) / meta.piece_length);
    for (auto p = first; p <= last && p < n; ++p) {
      out[p] = std::max(out[p], prio);
      touched[p] = true;
    }
  }
  for (std::uint32_t p = 0; p < n; ++p)
    if (!touched[p]) out[p] = 1;
  return out;
}

} // namespace actorrent
