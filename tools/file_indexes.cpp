#include "file_indexes.hpp"

#include <algorithm>
#include <charconv>
#include <string>

namespace actorrent::cli {

namespace {

error bad(std::string_view item, const std::string& why) {
  return error{errc::invalid_argument,
               "file number \"" + std::string(item.substr(0, 32)) + "\": " + why};
}

result<std::size_t> index_of(std::string_view item, std::string_view text, std::size_t file_count) {
  std::size_t n = 0;
  auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, n);
  if (text.empty() || ec != std::errc{} || ptr != end) return bad(item, "not a number");
  if (n == 0) return bad(item, "files are numbered from 1");
  if (n > file_count)
    return bad(item, "the torrent has " + std::to_string(file_count) +
                       (file_count == 1 ? " file" : " files"));
  return n - 1;
}

} // namespace

result<std::vector<bool>> parse_file_indexes(std::string_view text, std::size_t file_count) {
  if (text.size() > max_file_index_text)
    return error{errc::invalid_argument, "file number list longer than " +
                                             std::to_string(max_file_index_text) + " characters"};
  std::vector<bool> chosen(file_count, false);
  std::size_t start = 0;
  while (true) {
    const auto comma = text.find(',', start);
    const auto item = text.substr(start, comma == std::string_view::npos ? std::string_view::npos
                                                                         : comma - start);
    if (item.empty()) return bad(item, "empty item");
    const auto dash = item.find('-');
    auto first = index_of(item, item.substr(0, dash), file_count);
    if (!first) return first.err();
    std::size_t last = *first;
    if (dash != std::string_view::npos) {
      auto l = index_of(item, item.substr(dash + 1), file_count);
      if (!l) return l.err();
      if (*l < *first) return bad(item, "the range runs backwards");
      last = *l;
    }
    std::fill(chosen.begin() + static_cast<std::ptrdiff_t>(*first),
              chosen.begin() + static_cast<std::ptrdiff_t>(last) + 1, true);
    if (comma == std::string_view::npos) return chosen;
    start = comma + 1;
  }
}

result<std::vector<std::uint8_t>> select_files(const metainfo& meta, std::string_view only,
                                               std::string_view skip) {
  const auto n = static_cast<std::size_t>(std::count_if(
    meta.files.begin(), meta.files.end(), [](const file_entry& f) { return !f.pad; }));
  std::vector<std::uint8_t> prio(n, only.empty() ? 1 : 0);
  if (!only.empty()) {
    auto chosen = parse_file_indexes(only, n);
    if (!chosen) return error{errc::invalid_argument, "--only: " + chosen.err().message};
    for (std::size_t i = 0; i < n; ++i)
      if ((*chosen)[i]) prio[i] = 1;
  }
  if (!skip.empty()) {
    auto chosen = parse_file_indexes(skip, n);
    if (!chosen) return error{errc::invalid_argument, "--skip: " + chosen.err().message};
    for (std::size_t i = 0; i < n; ++i)
      if ((*chosen)[i]) prio[i] = 0;
  }
  return prio;
}

} // namespace actorrent::cli
