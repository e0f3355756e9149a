// actorrent-dht-sim: a simulated DHT of many nodes (see dht_swarm.hpp).
//   actorrent-dht-sim [--nodes N] [--seed S] [--lookups L]
//                     [--silent F] [--garbage F] [--self-only F] [--json FILE]
// Exits 0 when every lookup found the peer it looked for, 3 otherwise.
#include "dht_swarm.hpp"

#include <charconv>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>

using namespace actorrent::sim;

namespace {

const char* usage =
    "usage: actorrent-dht-sim [--nodes N] [--seed S] [--lookups L] [--silent F] [--garbage F]\n"
    "                         [--self-only F] [--json FILE]\n";

bool parse_size(std::string_view s, std::size_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

bool parse_fraction(const std::string& s, double& out) {
  try {
    std::size_t used = 0;
    out = std::stod(s, &used);
    return used == s.size() && out >= 0 && out <= 1;
  } catch (const std::exception&) {
    return false;
  }
}

} // namespace

int main(int argc, char** argv) {
  dht_swarm_config cfg;
  std::string json;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << usage;
      return 0;
    }
    if (i + 1 >= argc) {
      std::cerr << "actorrent-dht-sim: " << a << " needs a value\n" << usage;
      return 2;
    }
    std::string v = argv[++i];
    std::size_t n = 0;
    bool ok = true;
    if (a == "--nodes") ok = parse_size(v, cfg.nodes) && cfg.nodes >= 2 && cfg.nodes <= 100000;
    else if (a == "--seed") ok = parse_size(v, n), cfg.seed = n;
    else if (a == "--lookups") ok = parse_size(v, cfg.lookups) && cfg.lookups <= 10000;
    else if (a == "--silent") ok = parse_fraction(v, cfg.silent);
    else if (a == "--garbage") ok = parse_fraction(v, cfg.garbage);
    else if (a == "--self-only") ok = parse_fraction(v, cfg.self_only);
    else if (a == "--json") json = v;
    else ok = false;
    if (!ok) {
      std::cerr << "actorrent-dht-sim: bad option " << a << " " << v << "\n" << usage;
      return 2;
    }
  }
  if (cfg.silent + cfg.garbage + cfg.self_only > 0.9) {
    std::cerr << "actorrent-dht-sim: at most 90% of the nodes can be hostile\n";
    return 2;
  }
  auto report = run_dht_swarm(cfg);
  write_dht_summary(std::cout, cfg, report);
  if (!json.empty()) {
    std::ofstream out(json);
    write_dht_json(out, cfg, report);
    if (!out) {
      std::cerr << "actorrent-dht-sim: cannot write " << json << "\n";
      return 1;
    }
  }
  return report.found() == report.finds.size() ? 0 : 3;
}
