#include <doctest/doctest.h>

#include "cli_options.hpp"

#include <string>
#include <vector>

namespace {

actorrent::result<actorrent::cli::options> parse_args(std::vector<std::string> args) {
  args.insert(args.begin(), "actorrent");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return actorrent::cli::parse(static_cast<int>(argv.size()), argv.data());
}

} // namespace

TEST_CASE("--status-port, --status-bind and --status-token") {
  auto none = parse_args({"x.torrent"});
  REQUIRE(none);
  CHECK(none->status_port == -1);
  CHECK(none->status_bind == "127.0.0.1");
  auto o = parse_args({"x.torrent", "--status-port", "0", "--status-bind", "::1", "--status-token", "abc"});
  REQUIRE(o);
  CHECK(o->status_port == 0);
  CHECK(o->status_bind == "::1");
  CHECK(o->status_token == "abc");
  CHECK(parse_args({"x.torrent", "--status-port", "8080"})->status_port == 8080);
  CHECK_FALSE(parse_args({"x.torrent", "--status-port", "65536"}));
  CHECK_FALSE(parse_args({"x.torrent", "--status-port", "-1"}));
  CHECK_FALSE(parse_args({"x.torrent", "--status-port"}));
  CHECK_FALSE(parse_args({"x.torrent", "--status-token", "has space"}));
  CHECK_FALSE(parse_args({"x.torrent", "--status-token", ""}));
  CHECK(std::string(actorrent::cli::usage()).find("--status-port PORT") != std::string::npos);
}
