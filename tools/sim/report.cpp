#include "report.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>

namespace actorrent::sim {

namespace {

// Fixed formatting, so equal runs print equal bytes.
std::string num(double x, int decimals = 3) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
  return buf;
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

/// Everything received that was not needed: second copies the PieceManager
/// refused, and blocks that came after their request was cancelled.
std::uint64_t duplicates(const run_result& r) {
  return r.final.progress.duplicate + r.final.discarded;
}

std::size_t banned_count(const run_result& r) {
  std::size_t n = 0;
  for (const auto& v : r.engine_view) n += v.banned ? 1 : 0;
  return n;
}

std::uint64_t cancels(const run_result& r) {
  std::uint64_t n = 0;
  for (const auto& m : r.reports) n += m.cancels;
  return n;
}

} // namespace

void write_summary(std::ostream& out, const scenario& s, const std::vector<planned_peer>& swarm,
                   const run_result& r) {
  const auto& p = r.final.progress;
  std::size_t corrupt = 0;
  for (const auto& x : swarm) corrupt += x.profile.corrupt ? 1 : 0;
  out << (r.completed ? "completed" : "NOT completed (" + r.failure + ")") << " in "
      << num(r.sim_time_s, 1) << " s of simulated time (" << num(r.wall_s, 2) << " s wall), "
      << s.peers << " peers, " << s.pieces << " pieces of " << s.piece_size << " bytes, "
      << s.strategy << "\n"
      << "received " << p.downloaded + r.final.discarded << " bytes, " << duplicates(r) << " duplicate ("
      << num(p.bytes_total > 0 ? 100.0 * static_cast<double>(duplicates(r)) / static_cast<double>(p.bytes_total) : 0, 2)
      << "% of the torrent), " << cancels(r) << " cancels sent, " << p.hash_failures
      << " hash failures, " << banned_count(r) << " peers banned of " << corrupt << " corrupt\n";
}

void write_json(std::ostream& out, const scenario& s, const std::vector<planned_peer>& swarm,
                const run_result& r) {
  const auto& p = r.final.progress;
  std::map<std::string, peer_summary> seen;
  for (const auto& v : r.engine_view) seen[v.host] = v;
  std::size_t corrupt = 0;
  for (const auto& x : swarm) corrupt += x.profile.corrupt ? 1 : 0;
  out << "{\n";
  out << "  \"completed\": " << (r.completed ? "true" : "false") << ",\n";
  out << "  \"failure\": " << quoted(r.failure) << ",\n";
  out << "  \"seed\": " << s.seed << ",\n";
  out << "  \"strategy\": " << quoted(s.strategy) << ",\n";
  out << "  \"transport\": " << quoted(s.transport == transport_kind::actors ? "actors"
                                         : s.transport == transport_kind::wire ? "wire"
                                                                               : "processes") << ",\n";
  out << "  \"sim_time_s\": " << num(r.sim_time_s) << ",\n";
  out << "  \"wall_s\": " << num(r.wall_s) << ",\n";
  out << "  \"peers\": " << s.peers << ",\n";
  out << "  \"pieces\": " << s.pieces << ",\n";
  out << "  \"piece_size\": " << s.piece_size << ",\n";
  out << "  \"torrent_bytes\": " << p.bytes_total << ",\n";
  out << "  \"bytes_received\": " << p.downloaded + r.final.discarded << ",\n";
  out << "  \"duplicate_bytes\": " << duplicates(r) << ",\n";
  out << "  \"wasted_bytes\": " << p.wasted << ",\n";
  out << "  \"cancels_sent\": " << cancels(r) << ",\n";
  out << "  \"hash_failures\": " << p.hash_failures << ",\n";
  out << "  \"peers_banned\": " << banned_count(r) << ",\n";
  out << "  \"corrupt_peers\": " << corrupt << ",\n";
  out << "  \"files\": [";
  for (std::size_t i = 0; i < r.final.files.size(); ++i) {
    const auto& f = r.final.files[i];
    out << (i ? ", " : "") << "{\"size\": " << f.size << ", \"bytes_have\": " << f.bytes_have
        << ", \"priority\": " << int{f.priority} << "}";
  }
  out << "],\n";
  auto series = [&](const char* name, auto value) {
    out << "  \"" << name << "\": [";
    for (std::size_t i = 0; i < r.series.size(); ++i)
      out << (i ? ", " : "") << "[" << num(r.series[i].t, 1) << ", " << value(r.series[i]) << "]";
    out << "],\n";
  };
  series("min_availability", [](const sample& x) { return std::to_string(x.min_availability); });
  series("progress", [](const sample& x) { return num(x.progress, 4); });
  series("duplicate_bytes_over_time", [](const sample& x) { return std::to_string(x.duplicate); });
  out << "  \"per_peer\": [\n";
  for (std::size_t i = 0; i < swarm.size(); ++i) {
    const auto& sp = swarm[i];
    mock_report m = i < r.reports.size() ? r.reports[i] : mock_report{};
    peer_summary e;
    if (auto it = seen.find(sp.host); it != seen.end()) e = it->second;
    out << "    {\"id\": " << sp.profile.id << ", \"host\": " << quoted(sp.host)
        << ", \"role\": " << quoted(sp.role) << ", \"bytes_sent\": " << m.bytes_sent
        << ", \"blocks_sent\": " << m.blocks_sent << ", \"requests\": " << m.requests
        << ", \"cancels\": " << m.cancels << ", \"left\": " << (m.left ? "true" : "false")
        << ", \"contributed\": " << e.downloaded << ", \"banned\": " << (e.banned ? "true" : "false")
        << "}"
        << (i + 1 < swarm.size() ? "," : "") << "\n";
  }
  out << "  ]\n}\n";
}

void write_svg(std::ostream& out, const scenario& s, const run_result& r) {
  const double w = 720, panel = 160, left = 60, gap = 40;
  const double h = 3 * (panel + gap) + 40;
  double tmax = 1;
  std::uint32_t amax = 1;
  std::uint64_t dmax = 1;
  for (const auto& x : r.series) {
    tmax = std::max(tmax, x.t);
    amax = std::max(amax, x.min_availability);
    dmax = std::max(dmax, x.duplicate);
  }
  out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w + left + 20 << "\" height=\""
      << h << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  out << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  out << "<text x=\"" << left << "\" y=\"18\" font-size=\"14\">actorrent-sim: " << s.peers
      << " peers, " << s.pieces << " pieces, " << s.strategy << ", seed " << s.seed << " - "
      << (r.completed ? "completed" : "not completed") << " in " << num(r.sim_time_s, 1)
      << " s</text>\n";
  auto plot = [&](int index, const char* title, const char* colour, double ymax, auto value) {
    double top = 40 + index * (panel + gap);
    out << "<text x=\"" << left << "\" y=\"" << top - 6 << "\">" << title << " (max "
        << num(ymax, ymax < 10 ? 2 : 0) << ")</text>\n";
    out << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << w << "\" height=\"" << panel
        << "\" fill=\"none\" stroke=\"#888\"/>\n";
    out << "<polyline fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"2\" points=\"";
    for (const auto& x : r.series) {
      double px = left + w * x.t / tmax;
      double py = top + panel - panel * value(x) / ymax;
      out << num(px, 1) << "," << num(py, 1) << " ";
    }
    out << "\"/>\n";
    out << "<text x=\"" << left + w - 60 << "\" y=\"" << top + panel + 14 << "\">" << num(tmax, 0)
        << " s</text>\n";
  };
  plot(0, "progress (fraction verified)", "#1f77b4", 1.0, [](const sample& x) { return x.progress; });
  plot(1, "minimum piece availability (copies among connected peers and us)", "#2ca02c",
       static_cast<double>(amax), [](const sample& x) { return static_cast<double>(x.min_availability); });
  plot(2, "duplicate bytes received (end-game waste)", "#d62728", static_cast<double>(dmax),
       [](const sample& x) { return static_cast<double>(x.duplicate); });
  out << "</svg>\n";
}

} // namespace actorrent::sim
