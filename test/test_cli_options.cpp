#include <doctest/doctest.h>

#include "cli_options.hpp"

#include <string>
#include <vector>

using namespace actorrent;

namespace {

result<cli::options> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "actorrent");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return cli::parse(static_cast<int>(argv.size()), argv.data());
}

std::string refusal(std::vector<std::string> args) {
  auto o = parse(std::move(args));
  REQUIRE_FALSE(o.has_value());
  return o.err().message;
}

} // namespace

TEST_CASE("sizes in bytes or with K and M") {
  CHECK(cli::parse_size("16384") == 16384);
  CHECK(cli::parse_size("256K") == 256 * 1024);
  CHECK(cli::parse_size("256kib") == 256 * 1024);
  CHECK(cli::parse_size("1M") == 1 << 20);
  CHECK(cli::parse_size("4MiB") == 4 << 20);
  CHECK_FALSE(cli::parse_size("").has_value());
  CHECK_FALSE(cli::parse_size("K").has_value());
  CHECK_FALSE(cli::parse_size("1G").has_value());
  CHECK_FALSE(cli::parse_size("-1").has_value());
  CHECK_FALSE(cli::parse_size("1.5M").has_value());
  CHECK_FALSE(cli::parse_size("99999999999999999999").has_value());
}

TEST_CASE("create: its options, tiers from commas, piece sizes checked") {
  auto o = parse({"create", "dir", "-o", "x.torrent", "-t", "http://a/1,http://b/1", "-t",
                  "http://c/1", "-w", "http://w/1", "--piece-size", "512K", "--private",
                  "--comment", "hi", "--source", "SRC", "--date", "--threads", "3"});
  REQUIRE(o.has_value());
  CHECK(o->cmd == cli::command::create);
  CHECK(o->torrent == "dir");
  CHECK(o->output == "x.torrent");
  REQUIRE(o->trackers.size() == 2);
  CHECK(o->trackers[0] == std::vector<std::string>{"http://a/1", "http://b/1"});
  CHECK(o->trackers[1] == std::vector<std::string>{"http://c/1"});
  CHECK(o->web_seeds == std::vector<std::string>{"http://w/1"});
  CHECK(o->piece_size == 512 * 1024);
  CHECK(o->is_private);
  CHECK(o->comment == "hi");
  CHECK(o->source == "SRC");
  CHECK(o->date);
  CHECK(o->threads == 3);
  CHECK(o->threads_given);

  auto plain = parse({"create", "file.bin"});
  REQUIRE(plain.has_value());
  CHECK(plain->piece_size == 0);
  CHECK(plain->output.empty());
  CHECK_FALSE(plain->date);

  for (const char* bad : {"1000", "8K", "128M", "48K", "0", "lots"})
    CHECK(refusal({"create", "d", "--piece-size", bad}).find("power of two from 16K to 64M") !=
          std::string::npos);
  CHECK(parse({"create", "d", "--piece-size", "16K"})->piece_size == 16384);
  CHECK(parse({"create", "d", "--piece-size", "64M"})->piece_size == 64 << 20);
  CHECK(refusal({"create", "d", "-t", "http://a/1,"}).find("empty URL") != std::string::npos);
  CHECK(refusal({"create"}).find("needs a file or directory") != std::string::npos);
}

TEST_CASE("create's options and the download's options do not mix") {
  CHECK(refusal({"x.torrent", "-o", "y"}) == "-o only applies to create");
  CHECK(refusal({"show", "x.torrent", "--private"}) == "--private only applies to create");
  CHECK(refusal({"create", "d", "--seed"}) == "--seed does not apply to create");
  CHECK(refusal({"create", "d", "-d", "out"}) == "-d does not apply to create");
  auto dl = parse({"x.torrent", "-d", "out", "-p", "0", "--seed"});
  REQUIRE(dl.has_value());
  CHECK(dl->cmd == cli::command::download);
  CHECK(dl->dir == "out");
  CHECK(dl->seed);
}

TEST_CASE("--status-port, --status-bind and --status-token") {
  auto none = parse({"x.torrent"});
  REQUIRE(none);
  CHECK(none->status_port == -1);
  CHECK(none->status_bind == "127.0.0.1");
  auto o = parse({"x.torrent", "--status-port", "0", "--status-bind", "::1", "--status-token", "abc"});
  REQUIRE(o);
  CHECK(o->status_port == 0);
  CHECK(o->status_bind == "::1");
  CHECK(o->status_token == "abc");
  CHECK(parse({"x.torrent", "--status-port", "8080"})->status_port == 8080);
  CHECK_FALSE(parse({"x.torrent", "--status-port", "65536"}));
  CHECK_FALSE(parse({"x.torrent", "--status-port", "-1"}));
  CHECK_FALSE(parse({"x.torrent", "--status-port"}));
  CHECK_FALSE(parse({"x.torrent", "--status-token", "has space"}));
  CHECK_FALSE(parse({"x.torrent", "--status-token", ""}));
  CHECK(std::string(actorrent::cli::usage()).find("--status-port PORT") != std::string::npos);
}

TEST_CASE("rates in bytes per second, K, M and G as powers of 1024") {
  CHECK(*cli::parse_rate("65536") == 65536u);
  CHECK(*cli::parse_rate("500K") == 500u * 1024);
  CHECK(*cli::parse_rate("2m") == 2u << 20);
  CHECK(*cli::parse_rate("1G") == 1u << 30);
  CHECK(*cli::parse_rate("0") == 0u);
  for (const char* bad : {"", "K", "-1", "1.5M", "2T", "99999999999999999999"})
    CHECK_FALSE(cli::parse_rate(bad).has_value());
  auto o = parse({"x.torrent", "--max-down", "2M", "--max-up", "300K"});
  REQUIRE(o.has_value());
  CHECK(o->max_down == 2u << 20);
  CHECK(o->max_up == 300u * 1024);
  CHECK(o->torrent_max_down == 0);
  CHECK_FALSE(parse({"create", "d", "--max-down", "1M"}).has_value());
  auto each = parse({"a.torrent", "b.torrent", "--torrent-max-down", "1M", "--torrent-max-up", "64K"});
  REQUIRE(each.has_value());
  CHECK(each->torrent_max_down == 1u << 20);
  CHECK(each->torrent_max_up == 64u * 1024);
  CHECK(each->max_down == 0);
  CHECK_FALSE(parse({"x.torrent", "--torrent-max-up", "fast"}).has_value());
}

TEST_CASE("--encryption prefer|require|off") {
  CHECK(parse({"x.torrent"})->encryption == encryption_policy::prefer);
  CHECK(parse({"x.torrent", "--encryption", "require"})->encryption == encryption_policy::require);
  CHECK(parse({"x.torrent", "--encryption", "off"})->encryption == encryption_policy::off);
  CHECK(parse({"seed", "x.torrent", "--encryption", "prefer"})->encryption == encryption_policy::prefer);
  CHECK_FALSE(parse({"x.torrent", "--encryption", "on"}));
  CHECK_FALSE(parse({"x.torrent", "--encryption"}));
}

TEST_CASE("DHT options: on by default, --no-dht, port, bootstrap nodes, state file") {
  auto d = parse({"x.torrent"});
  REQUIRE(d.has_value());
  CHECK(d->dht);
  CHECK(d->dht_port == -1);
  CHECK(d->dht_bootstrap.empty());
  CHECK(d->dht_state.empty());
  CHECK_FALSE(parse({"x.torrent", "--no-dht"})->dht);
  auto o = parse({"x.torrent", "--dht-port", "0", "--dht-bootstrap", "127.0.0.2:6881", "--dht-bootstrap",
                  "router.example:6881", "--dht-state", "s.dat"});
  REQUIRE(o.has_value());
  CHECK(o->dht_port == 0);
  CHECK(o->dht_bootstrap == std::vector<std::string>{"127.0.0.2:6881", "router.example:6881"});
  CHECK(o->dht_state == "s.dat");
  CHECK(refusal({"x.torrent", "--dht-port", "70000"}).find("--dht-port") != std::string::npos);
  CHECK(refusal({"x.torrent", "--dht-bootstrap", "nohost"}).find("--dht-bootstrap") != std::string::npos);
  CHECK(refusal({"x.torrent", "--dht-bootstrap", "h:0"}).find("--dht-bootstrap") != std::string::npos);
}
