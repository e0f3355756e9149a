#include "actorrent/metainfo.hpp"
#include "actorrent/status.hpp"

#include "printable.hpp"

#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>

namespace actorrent {

namespace {


std::string human(std::int64_t bytes) {
  static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  std::size_t u = 0;
  while (v >= 1024.0 && u + 1 < std::size(units)) {
    v /= 1024.0;
    ++u;
  }
  char buf[48];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(bytes));
  else
    std::snprintf(buf, sizeof buf, "%.2f %s", v, units[u]);
  return buf;
}

std::string utc(std::int64_t t) {
  auto tt = static_cast<std::time_t>(t);
  std::tm tm{};
  if (gmtime_r(&tt, &tm) == nullptr) return std::to_string(t);
  char buf[64];
  if (std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) return std::to_string(t);
  return buf;
}

} // namespace

void print_metainfo(std::ostream& out, const metainfo& m) {
  out << "Name:         " << printable(m.name) << '\n';
  out << "Info hash:    " << m.info_hash.hex() << '\n';
  out << "Total size:   " << m.total_length << " bytes (" << human(m.total_length) << ")\n";
  out << "Pieces:       " << m.piece_count() << " x " << m.piece_length << " bytes ("
      << human(m.piece_length) << ")\n";
  out << "Private:      " << (m.is_private ? "yes" : "no") << '\n';
  if (m.creation_date) out << "Created on:   " << utc(*m.creation_date) << '\n';
  if (!m.comment.empty()) out << "Comment:      " << printable(m.comment) << '\n';
  if (!m.created_by.empty()) out << "Created by:   " << printable(m.created_by) << '\n';

  if (m.multi_file) {
    std::size_t real = 0;
    for (const auto& f : m.files) real += f.pad ? 0 : 1;
    out << "Files:        " << real;
    if (real != m.files.size()) out << " (+" << (m.files.size() - real) << " padding)";
    out << '\n';
    // Numbered from 1, padding not counted: the numbers --only and --skip take.
    const int width = static_cast<int>(std::to_string(real).size());
    std::size_t index = 0;
    for (const auto& f : m.files)
      if (!f.pad) {
        char number[32];
        std::snprintf(number, sizeof number, "%*zu", width, ++index);
        out << "  " << number << "  " << printable(m.name) << '/' << printable(f.path_string())
            << "  (" << f.length << " bytes, " << human(f.length) << ")\n";
      }
  } else {
    out << "File:         " << printable(m.name) << "  (" << m.total_length << " bytes)\n";
  }

  if (!m.announce_list.empty()) {
    out << "Trackers:\n";
    for (std::size_t t = 0; t < m.announce_list.size(); ++t)
      for (const auto& url : m.announce_list[t])
        out << "  tier " << (t + 1) << ": " << printable(url) << '\n';
  } else if (!m.announce.empty()) {
    out << "Trackers:\n  tier 1: " << printable(m.announce) << '\n';
  } else {
    out << "Trackers:     none\n";
  }
  if (!m.url_list.empty()) {
    out << "Web seeds:\n";
    for (const auto& url : m.url_list) out << "  " << printable(url) << '\n';
  }
  if (!m.warnings.empty()) {
    out << "Notes:\n";
    for (const auto& w : m.warnings) out << "  " << w << '\n';
  }
}

const char* to_string(torrent_state s) noexcept {
  switch (s) {
    case torrent_state::checking: return "checking";
    case torrent_state::downloading: return "downloading";
    case torrent_state::seeding: return "seeding";
    case torrent_state::paused: return "paused";
    case torrent_state::stopped: return "stopped";
    case torrent_state::downloading_metadata: return "downloading metadata";
  }
  return "unknown";
}

} // namespace actorrent
