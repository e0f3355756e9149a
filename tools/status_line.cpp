#include "status_line.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace actorrent::cli {

std::string format_bytes(double bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  // Switch units where rounding would print "1024": 1023.97 KiB is "1.0 MiB".
  while (u < 4 && bytes >= (u == 0 ? 1023.5 : 1023.95)) {
    bytes /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

namespace {

// "[#########---------------------] ", the share done of 30 places.
std::string progress_bar(double fraction) {
  constexpr int width = 30;
  const auto filled = static_cast<std::size_t>(std::clamp(fraction, 0.0, 1.0) * width);
  std::string out = "[";
  out.append(filled, '#');
  out.append(width - filled, '-');
  return out + "] ";
}

} // namespace

std::string format_hashing(const create_progress& p, double seconds, bool bar) {
  const double fraction =
      p.pieces_total == 0 ? 1.0 : static_cast<double>(p.pieces_done) / p.pieces_total;
  // Bytes hashed, from whole pieces: the last piece may be short, so never
  // more than the total.
  const double bytes = std::min(static_cast<double>(p.bytes_total),
                                fraction * static_cast<double>(p.bytes_total));
  std::string line = "hashing ";
  if (bar) line += progress_bar(fraction);
  char buf[160];
  std::snprintf(buf, sizeof buf, "%5.1f%% (%u of %u pieces, %s/s)", fraction * 100.0,
                p.pieces_done, p.pieces_total,
                format_bytes(seconds > 0 ? bytes / seconds : 0).c_str());
  return line + buf;
}

std::string format_duration(double seconds) {
  char buf[32];
  if (!(seconds >= 0)) seconds = 0;  // also NaN
  if (seconds < 9.995)
    std::snprintf(buf, sizeof buf, "%.2f s", seconds);
  else if (seconds < 59.95)
    std::snprintf(buf, sizeof buf, "%.1f s", seconds);
  else {
    auto s = static_cast<long long>(std::llround(seconds));
    if (s < 3600)
      std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
    else
      std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, (s % 3600) / 60);
  }
  return buf;
}

std::string format_checking(const checking_progress& c, bool bar) {
  char line[128];
  double done = c.to_check > 0 ? 100.0 * c.checked / c.to_check : 100.0;
  std::snprintf(line, sizeof line, "%5.1f%% (%u of %u pieces, %u present)", done, c.checked,
                c.to_check, c.present);
  return "checking " + (bar ? progress_bar(done / 100.0) : std::string()) + line;
}

std::string format_status(const torrent_status& st) {
  const auto& p = st.progress;
  if (st.state == torrent_state::downloading_metadata) {
    char line[160];
    std::snprintf(line, sizeof line, "fetching metadata: %u of %u pieces, peers %u/%u",
                  p.pieces_have, p.pieces_total, st.peers_connected, st.peers_known);
    return line;
  }
  if (st.checking)
    return format_checking(checking_progress{st.info_hash, st.checked_pieces, st.to_check,
                                             p.pieces_have});
  // With a file selection, of what it wants.
  const bool selected = p.total_wanted > 0 && p.total_wanted < p.bytes_total;
  const std::int64_t total = selected ? p.total_wanted : p.bytes_total;
  const std::int64_t have = selected ? p.total_wanted_done : p.bytes_have;
  double pct = total > 0 ? 100.0 * static_cast<double>(have) / static_cast<double>(total) : 100.0;
  char eta[32] = "-";
  if (st.download_rate > 1 && total > have) {
    auto secs = static_cast<long>(
      std::ceil(static_cast<double>(total - have) / st.download_rate));
    if (secs >= 3600)
      std::snprintf(eta, sizeof eta, "%ldh%02ldm", secs / 3600, (secs % 3600) / 60);
    else if (secs >= 60)
      std::snprintf(eta, sizeof eta, "%ldm%02lds", secs / 60, secs % 60);
    else
      std::snprintf(eta, sizeof eta, "%lds", secs);
  } else if (total == have) {
    std::snprintf(eta, sizeof eta, "0s");
  }
  char line[256];
  std::snprintf(line, sizeof line, "%5.1f%%%s %s/s down %s/s up, peers %u/%u, ETA %s%s", pct,
                selected ? (" of " + format_bytes(static_cast<double>(total))).c_str() : "",
                format_bytes(st.download_rate).c_str(), format_bytes(st.upload_rate).c_str(),
                st.peers_connected, st.peers_known, eta, p.endgame ? " (end-game)" : "");
  return line;
}

} // namespace actorrent::cli
