#include "scenario.hpp"

#include "bitfield.hpp"
#include "file_indexes.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <iterator>
#include <cmath>
#include <random>

namespace actorrent::sim {

namespace {

error bad(std::string what) { return error{errc::invalid_argument, std::move(what)}; }

template <class T>
bool parse_number(const std::string& text, T& out) {
  if constexpr (std::is_floating_point_v<T>) {
    char* end = nullptr;
    out = static_cast<T>(std::strtod(text.c_str(), &end));
    return end != text.c_str() && *end == '\0' && std::isfinite(static_cast<double>(out));
  } else {
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && p == text.data() + text.size();
  }
}

bool fraction(double x) { return x >= 0 && x <= 1; }

/// A scenario file: one flat JSON object whose keys are the flags without
/// their dashes ("slow_rate" or "slow-rate") and whose values are numbers,
/// strings or booleans (true only for "quiet"). Returns the equivalent flags.
result<std::vector<std::string>> read_scenario_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return bad("cannot read scenario file " + path);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  if (text.size() > (64 << 10)) return bad(path + ": a scenario file is a few lines, not " +
                                           std::to_string(text.size()) + " bytes");
  std::vector<std::string> args;
  std::size_t i = 0;
  auto skip = [&] {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  };
  auto fail = [&](const std::string& what) {
    return bad(path + ": " + what + " at byte " + std::to_string(i));
  };
  auto string_at = [&](std::string& out) -> bool {
    if (i >= text.size() || text[i] != '"') return false;
    auto end = text.find('"', i + 1);
    if (end == std::string::npos || text.find('\\', i + 1) < end) return false;
    out = text.substr(i + 1, end - i - 1);
    i = end + 1;
    return true;
  };
  skip();
  if (i >= text.size() || text[i++] != '{') return fail("expected '{'");
  skip();
  if (i < text.size() && text[i] == '}') return args;
  for (;;) {
    skip();
    std::string key, value;
    if (!string_at(key)) return fail("expected a key in quotes");
    std::replace(key.begin(), key.end(), '_', '-');
    skip();
    if (i >= text.size() || text[i++] != ':') return fail("expected ':'");
    skip();
    if (i < text.size() && text[i] == '"') {
      if (!string_at(value)) return fail("unterminated string");
    } else {
      auto start = i;
      while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '.'
                                 || text[i] == '-' || text[i] == '+'))
        ++i;
      value = text.substr(start, i - start);
      if (value.empty()) return fail("expected a number, a string or true/false");
    }
    if (value == "true" || value == "false") {
      if (key != "quiet") return fail("only \"quiet\" takes true/false");
      if (value == "true") args.push_back("--quiet");
    } else {
      args.push_back("--" + key);
      args.push_back(value);
    }
    skip();
    if (i < text.size() && text[i] == ',') {
      ++i;
      continue;
    }
    if (i < text.size() && text[i] == '}') break;
    return fail("expected ',' or '}'");
  }
  return args;
}

} // namespace

std::string usage() {
  return "usage: actorrent-sim [--scenario FILE.json] --peers N [--pieces P] [--piece-size BYTES]\n"
         "         [--seeds FRACTION]\n"
         "         [--share FRACTION] [--corrupt FRACTION] [--slow FRACTION] [--silent FRACTION]\n"
         "         [--leave FRACTION] [--late FRACTION] [--rate BYTES/S] [--slow-rate BYTES/S]\n"
         "         [--latency MS] [--strategy rarest|sequential|random]\n"
         "         [--files N] [--only LIST]\n"
         "         [--transport actors|wire|processes] [--workers N] [--max-connections N]\n"
         "         [--endgame-threshold F] [--max-sim-time S] [--seed K] [--json FILE]\n"
         "         [--plot FILE.svg] [--quiet]\n"
         "One real engine (PieceManager, picker, choker, end-game, bans, the peer protocol)\n"
         "against a swarm of mock peers on simulated time; the same --seed gives the same\n"
         "result. --transport wire puts each mock peer behind a real TCP socket on an\n"
         "address of its own in 127.0.0.0/8 (real time); --transport processes hosts the\n"
         "mock peers in --workers processes, reached through CAF's remote actors on\n"
         "127.0.0.1 (real time). --files splits the torrent into N files of about the\n"
         "same size (their edges inside pieces), --only picks files as actorrent --only\n"
         "does (1,3-5).\n";
}

result<scenario> parse_scenario(const std::vector<std::string>& given) {
  // A scenario file's settings stand where the flag stands: flags after it win.
  std::vector<std::string> args;
  for (std::size_t i = 0; i < given.size(); ++i) {
    if (given[i] != "--scenario") {
      args.push_back(given[i]);
      continue;
    }
    if (i + 1 >= given.size()) return bad("--scenario needs a file");
    auto from_file = read_scenario_file(given[++i]);
    if (!from_file) return from_file.err();
    if (std::find(from_file->begin(), from_file->end(), "--scenario") != from_file->end())
      return bad(given[i] + ": a scenario file cannot name another");
    args.insert(args.end(), from_file->begin(), from_file->end());
  }
  scenario s;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--quiet") {
      s.quiet = true;
      continue;
    }
    if (i + 1 >= args.size()) return bad(a + " needs a value");
    const std::string& v = args[++i];
    bool ok = true;
    if (a == "--peers") ok = parse_number(v, s.peers) && s.peers > 0 && s.peers <= 64000;
    else if (a == "--pieces") ok = parse_number(v, s.pieces) && s.pieces > 0 && s.pieces <= 100000;
    else if (a == "--piece-size")
      ok = parse_number(v, s.piece_size) && s.piece_size >= 16384 && s.piece_size <= (16 << 20);
    else if (a == "--seeds") ok = parse_number(v, s.seeds) && fraction(s.seeds);
    else if (a == "--share") ok = parse_number(v, s.share) && fraction(s.share);
    else if (a == "--corrupt") ok = parse_number(v, s.corrupt) && fraction(s.corrupt);
    else if (a == "--slow") ok = parse_number(v, s.slow) && fraction(s.slow);
    else if (a == "--silent") ok = parse_number(v, s.silent) && fraction(s.silent);
    else if (a == "--leave") ok = parse_number(v, s.leave) && fraction(s.leave);
    else if (a == "--late") ok = parse_number(v, s.late) && fraction(s.late);
    else if (a == "--rate") ok = parse_number(v, s.rate) && s.rate >= 1024;
    else if (a == "--slow-rate") ok = parse_number(v, s.slow_rate) && s.slow_rate >= 1;
    else if (a == "--latency") ok = parse_number(v, s.latency_ms) && s.latency_ms <= 10000;
    else if (a == "--strategy")
      ok = (s.strategy = v, v == "rarest" || v == "sequential" || v == "random");
    else if (a == "--files") ok = parse_number(v, s.files) && s.files >= 1 && s.files <= 10000;
    else if (a == "--only") ok = (s.only = v, !v.empty());
    else if (a == "--transport") {
      if (v == "actors") s.transport = transport_kind::actors;
      else if (v == "wire") s.transport = transport_kind::wire;
      else if (v == "processes") s.transport = transport_kind::processes;
      else ok = false;
    } else if (a == "--workers") ok = parse_number(v, s.workers) && s.workers >= 1 && s.workers <= 16;
    else if (a == "--max-connections") ok = parse_number(v, s.max_connections);
    else if (a == "--endgame-threshold")
      ok = parse_number(v, s.endgame_threshold) && fraction(s.endgame_threshold);
    else if (a == "--max-sim-time") ok = parse_number(v, s.max_sim_time_s) && s.max_sim_time_s > 0;
    else if (a == "--seed") ok = parse_number(v, s.seed);
    else if (a == "--json") s.json = v;
    else if (a == "--plot") s.plot = v;
    else return bad("unknown option " + a);
    if (!ok) return bad("bad value for " + a + ": " + v);
  }
  if (s.corrupt + s.slow + s.silent > 1) return bad("--corrupt, --slow and --silent add up to more than 1");
  if (s.files > s.pieces) return bad("--files is more than --pieces");
  if (!s.only.empty())
    if (auto chosen = cli::parse_file_indexes(s.only, s.files); !chosen)
      return bad("--only: " + chosen.err().message);
  return s;
}

sha1_hash swarm_info_hash(const scenario& s) {
  return sha1("actorrent-sim swarm " + std::to_string(s.seed) + " " + std::to_string(s.pieces) + " "
              + std::to_string(s.piece_size));
}

std::vector<planned_peer> plan_swarm(const scenario& s, const content_spec& content,
                                     const sha1_hash& info_hash) {
  std::mt19937_64 rng(s.seed);
  std::uniform_real_distribution<double> unit(0, 1);
  auto count = [&](double f) { return static_cast<std::uint32_t>(std::llround(f * s.peers)); };
  // Roles by position in a shuffled order, so the counts are exact.
  std::vector<std::uint32_t> order(s.peers);
  for (std::uint32_t i = 0; i < s.peers; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<std::string> role(s.peers, "partial");
  std::uint32_t k = 0;
  for (std::uint32_t n = count(s.corrupt); n > 0 && k < s.peers; --n) role[order[k++]] = "corrupt";
  for (std::uint32_t n = count(s.slow); n > 0 && k < s.peers; --n) role[order[k++]] = "slow";
  for (std::uint32_t n = count(s.silent); n > 0 && k < s.peers; --n) role[order[k++]] = "silent";
  // Seeds among the rest; liars and laggards have everything too, so they
  // are asked.
  std::vector<bool> seed(s.peers, false);
  for (std::uint32_t n = count(s.seeds); n > 0 && k < s.peers; --n) seed[order[k++]] = true;
  for (std::uint32_t i = 0; i < s.peers; ++i)
    if (role[i] != "partial") seed[i] = true;

  std::vector<planned_peer> out;
  out.reserve(s.peers);
  for (std::uint32_t i = 0; i < s.peers; ++i) {
    planned_peer p;
    p.profile.id = i;
    p.profile.content = content;
    p.profile.info_hash = info_hash;
    p.profile.rate = role[i] == "slow" ? s.slow_rate : s.rate;
    p.profile.latency_ms = s.latency_ms;
    p.profile.corrupt = role[i] == "corrupt";
    p.profile.silent = role[i] == "silent";
    bitfield has(content.num_pieces, seed[i]);
    if (!seed[i])
      for (std::uint32_t piece = 0; piece < content.num_pieces; ++piece)
        if (unit(rng) < s.share) has.set(piece);
    p.profile.has = has.bytes();
    p.role = seed[i] && role[i] == "partial" ? "seed" : role[i];
    // An address of its own in 127.0.0.0/8 (bans are per host); the wire
    // transport listens on it, the others only use it as a name.
    p.host = "127.1." + std::to_string((i / 250) % 256) + "." + std::to_string(i % 250 + 1);
    out.push_back(std::move(p));
  }
  // Leaving and late peers: drawn after the roles, from the same stream.
  std::vector<std::uint32_t> again(order);
  std::shuffle(again.begin(), again.end(), rng);
  for (std::uint32_t n = count(s.leave), j = 0; n > 0 && j < s.peers; --n, ++j)
    out[again[j]].profile.leave_after_ms =
      1 + static_cast<std::uint32_t>(unit(rng) * s.leave_within_s * 1000.0);
  std::shuffle(again.begin(), again.end(), rng);
  for (std::uint32_t n = count(s.late), j = 0; n > 0 && j < s.peers; --n, ++j)
    out[again[j]].arrives_after_ms =
      1 + static_cast<std::uint32_t>(unit(rng) * s.late_within_s * 1000.0);
  return out;
}

} // namespace actorrent::sim
