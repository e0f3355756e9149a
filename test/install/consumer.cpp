// A program that uses an installed actorrent the way an outside project
// would: public headers only, found and linked through pkg-config
// (test/install/test_install.py builds and runs it).
//
//   consumer TORRENT_FILE
//
// Prints one "key=value ..." line per step and "ok" at the end; exits 1 on
// the first failure.
#include <actorrent/bencode.hpp>
#include <actorrent/metainfo.hpp>
#include <actorrent/session.hpp>
#include <actorrent/sha1_hash.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <cstdint>
#include <iostream>
#include <string>

namespace {

void print(const char* what, const actorrent::metainfo& m) {
  std::cout << what << ": name=" << m.name << " info_hash=" << m.info_hash.hex()
            << " pieces=" << m.piece_count() << " length=" << m.total_length << "\n";
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: consumer TORRENT_FILE\n";
    return 2;
  }

  caf::actor_system_config cfg;
  actorrent::session::configure(cfg);
  caf::actor_system sys{cfg};

  // A one-file torrent built in memory: "hello.txt", 5 bytes, one piece.
  namespace be = actorrent::bencode;
  const std::string content = "hello";
  be::dict info{{"name", "hello.txt"},
                {"length", static_cast<std::int64_t>(content.size())},
                {"piece length", 16384},
                {"pieces", std::string(actorrent::sha1(content).raw())}};
  be::dict top{{"announce", "http://127.0.0.1:6969/announce"}, {"info", info}};
  auto mem = actorrent::parse_metainfo(be::encode(top));
  if (!mem) {
    std::cerr << "parse_metainfo: " << mem.err().to_string() << "\n";
    return 1;
  }
  print("memory", *mem);

  auto file = actorrent::load_metainfo(argv[1]);
  if (!file) {
    std::cerr << "load_metainfo: " << file.err().to_string() << "\n";
    return 1;
  }
  print("file", *file);

  {
    actorrent::session_options opts;
    opts.listen = false;
    actorrent::session ses{sys, opts};
    if (ses.listen_error()) {
      std::cerr << "session: " << ses.listen_error().to_string() << "\n";
      return 1;
    }
    const auto& id = ses.peer_id();
    std::cout << "session: listen_port=" << ses.listen_port() << " peer_id_prefix="
              << std::string(id.begin(), id.begin() + 8) << "\n";
  }
  std::cout << "ok\n";
  return 0;
}
