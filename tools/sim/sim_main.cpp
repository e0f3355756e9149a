// actorrent-sim: the real engine against a swarm of mock peers.
#include "report.hpp"
#include "scenario.hpp"
#include "sim_run.hpp"

#include <fstream>
#include <iostream>
#include <string>
#include <vector>

using namespace actorrent;
using namespace actorrent::sim;

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "--worker") return run_worker();
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::cout << usage();
    return 0;
  }
  auto s = parse_scenario(args);
  if (!s) {
    std::cerr << "actorrent-sim: " << s.err().message << "\n\n" << usage();
    return 2;
  }
  content_spec content;
  content.seed = s->seed;
  content.num_pieces = s->pieces;
  content.piece_length = s->piece_size;
  // A short last piece, as real torrents mostly have.
  content.total_length = std::int64_t{s->pieces} * s->piece_size - s->piece_size / 3;
  auto swarm = plan_swarm(*s, content, swarm_info_hash(*s));

  run_result r = s->transport == transport_kind::actors ? run_with_actors(*s, swarm, content)
                 : s->transport == transport_kind::wire ? run_with_wire(*s, swarm, content)
                                                        : run_with_processes(*s, swarm, content, argv[0]);
  if (!s->quiet) write_summary(std::cout, *s, swarm, r);
  if (!s->json.empty()) {
    std::ofstream out(s->json);
    write_json(out, *s, swarm, r);
    if (!out) {
      std::cerr << "actorrent-sim: cannot write " << s->json << "\n";
      return 1;
    }
  }
  if (!s->plot.empty()) {
    std::ofstream out(s->plot);
    write_svg(out, *s, r);
    if (!out) {
      std::cerr << "actorrent-sim: cannot write " << s->plot << "\n";
      return 1;
    }
  }
  return r.completed ? 0 : 3;
}
