// What a simulation shows: a short summary for people, one JSON object for
// programs (deterministic: the same seed gives the same bytes, apart from
// the wall-clock field), and an SVG of the run over time.
#pragma once

#include "scenario.hpp"
#include "sim_run.hpp"

#include <ostream>
#include <vector>

namespace actorrent::sim {

void write_summary(std::ostream& out, const scenario& s, const std::vector<planned_peer>& swarm,
                   const run_result& r);

void write_json(std::ostream& out, const scenario& s, const std::vector<planned_peer>& swarm,
                const run_result& r);

/// Progress, minimum piece availability and duplicate bytes over time.
void write_svg(std::ostream& out, const scenario& s, const run_result& r);

} // namespace actorrent::sim
