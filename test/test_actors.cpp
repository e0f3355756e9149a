// The PieceManager and DiskWriter actors under CAF's deterministic scheduler:
// message order and outcomes are exact, with stand-ins only for the peers and
// the torrent (the simulation harness drives the same interfaces).
#include <doctest/doctest.h>

#include "actorrent/session.hpp"
#include "disk_writer_actor.hpp"
#include "interfaces.hpp"
#include "memory_storage.hpp"
#include "piece_manager_actor.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <memory>
#include <unordered_map>

using namespace actorrent;

namespace {

constexpr std::int64_t piece_length = 32 * 1024;
constexpr std::int64_t total_length = 3 * piece_length + 20000;  // last piece: 2 blocks, short
constexpr std::uint32_t num_pieces = 4;

struct peer_record {
  std::vector<block_ref> cancels;
  std::vector<std::uint32_t> haves;
  int wakes = 0;
  std::vector<std::vector<block_ref>> work;  // every answer to want, in order
};

peer_actor::behavior_type mock_peer(peer_actor::pointer, std::shared_ptr<peer_record> rec) {
  return {
    [rec](cancel_atom, block_ref b) { rec->cancels.push_back(b); },
    [rec](have_atom, std::uint32_t piece) { rec->haves.push_back(piece); },
    [rec](wake_atom) { ++rec->wakes; },
    [rec](work_atom, std::vector<block_ref>& blocks) { rec->work.push_back(std::move(blocks)); },
    [](choke_atom) {},
    [](unchoke_atom) {},
    [](stop_atom) {},
  };
}

struct torrent_record {
  int done = 0;
  std::vector<std::string> bans;
  std::vector<std::string> fatal;
};

piece_manager_owner_actor::behavior_type mock_torrent(std::shared_ptr<torrent_record> rec) {
  return {
    [rec](done_atom) { ++rec->done; },
    [rec](fatal_atom, const std::string& why) { rec->fatal.push_back(why); },
    [rec](ban_atom, std::string& host) { rec->bans.push_back(std::move(host)); },
    [](piece_atom, std::uint32_t, bool) {},
  };
}

/// Every peer of these tests comes from its own host: "host-<key>".
std::string host_of(peer_key key) { return "host-" + std::to_string(key); }

caf::actor_system_config& deterministic(caf::actor_system_config& cfg) {
  session::configure(cfg);
  cfg.set("scheduler.policy", caf::atom("testing"));
  cfg.set("logger.file-verbosity", caf::atom("quiet"));
  cfg.set("logger.console", caf::atom("none"));
  return cfg;
}

struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{deterministic(cfg)};
  caf::scheduler::test_coordinator& sched =
    dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  caf::scoped_actor self{sys, true};

  std::vector<std::uint8_t> content;
  std::shared_ptr<memory_storage> store;
  disk_writer_actor disk;
  std::shared_ptr<torrent_record> trec = std::make_shared<torrent_record>();
  piece_manager_owner_actor torrent;
  std::unordered_map<peer_key, std::shared_ptr<peer_record>> records;
  piece_manager_actor pm;

  // While set, the DiskWriter gets no turn: a disk that has fallen behind.
  bool disk_stalled = false;

  explicit fixture(std::size_t max_requesters = 2, std::uint32_t max_in_progress = 0,
                   std::int64_t max_verifying = 4 << 20, std::int64_t max_unwritten = 4 << 20) {
    content.resize(static_cast<std::size_t>(total_length));
    for (std::size_t i = 0; i < content.size(); ++i)
      content[i] = static_cast<std::uint8_t>((i * 131 + i / 977) & 0xff);
    std::vector<sha1_hash> hashes;
    for (std::uint32_t p = 0; p < num_pieces; ++p) {
      auto begin = static_cast<std::size_t>(p * piece_length);
      auto end = std::min(content.size(), begin + static_cast<std::size_t>(piece_length));
      hashes.push_back(sha1(std::span<const std::uint8_t>(content.data() + begin, end - begin)));
    }
    store = std::make_shared<memory_storage>(
      file_layout({layout_file{{"file.bin"}, total_length, false}}, piece_length));
    REQUIRE_FALSE(store->open());
    disk_options dopts;
    dopts.own_thread = false;
    disk = spawn_disk_writer(sys, store, hashes, dopts);
    torrent = sys.spawn(mock_torrent, trec);
    piece_manager_config pmc;
    pmc.num_pieces = num_pieces;
    pmc.piece_length = piece_length;
    pmc.total_length = total_length;
    pmc.picker.seed = 7;
    pmc.picker.endgame_max_requesters = max_requesters;
    pmc.picker.max_pieces_in_progress = max_in_progress;
    pmc.max_verifying_bytes = max_verifying;
    pmc.max_unwritten_bytes = max_unwritten;
    pm = spawn_piece_manager(sys, pmc, disk, torrent);
    sched.run();
  }

  ~fixture() {
    self->send_exit(pm, caf::exit_reason::user_shutdown);
    self->send_exit(disk, caf::exit_reason::user_shutdown);
    self->send_exit(torrent, caf::exit_reason::user_shutdown);
    sched.run();
  }

  void run() {
    if (!disk_stalled) {
      sched.run();
      return;
    }
    auto* writer = dynamic_cast<caf::resumable*>(caf::actor_cast<caf::abstract_actor*>(disk));
    sched.run_jobs_filtered([writer](caf::resumable* job) { return job != writer; });
  }

  template <class T, class... Ts>
  T ask(Ts&&... xs) {
    auto handle = self->request(pm, caf::infinite, std::forward<Ts>(xs)...);
    sched.run();
    T out{};
    handle.receive([&](T& x) { out = std::move(x); },
                   [&](caf::error& err) { FAIL("request failed: " << caf::to_string(err)); });
    return out;
  }

  peer_actor add_peer(peer_key key, std::shared_ptr<peer_record> rec, bool has_all = true,
                      std::string host = {}) {
    auto p = sys.spawn(mock_peer, rec);
    records[key] = rec;
    auto ours = ask<std::vector<std::uint8_t>>(join_atom_v, key,
                                               host.empty() ? host_of(key) : host, p);
    CHECK(ours.empty());
    bitfield has(num_pieces, has_all);
    CHECK(ask<bool>(bitfield_atom_v, key, has.bytes()) == has_all);
    return p;
  }

  std::vector<std::uint8_t> payload(const block_ref& b) const {
    auto at = content.begin() + static_cast<std::ptrdiff_t>(b.piece * piece_length + b.begin);
    return {at, at + b.length};
  }

  /// Asks for work as a peer does; returns the PieceManager's answer.
  std::vector<block_ref> want(peer_key key, std::uint32_t max) {
    auto& rec = records.at(key);
    auto before = rec->work.size();
    self->send(pm, want_atom_v, key, max);
    run();
    REQUIRE(rec->work.size() == before + 1);
    return rec->work.back();
  }

  void deliver(peer_key key, const block_ref& b, const std::vector<std::uint8_t>& data) {
    self->send(pm, block_atom_v, key, b, block_buffer::copy_of(data));
    run();
  }
};

bool contains(const std::vector<block_ref>& v, const block_ref& b) {
  return std::find(v.begin(), v.end(), b) != v.end();
}

} // namespace

TEST_CASE("end-game duplicates are cancelled at every other requester, and the download completes") {
  fixture f;
  auto ra = std::make_shared<peer_record>();
  auto rb = std::make_shared<peer_record>();
  auto a = f.add_peer(1, ra);
  auto b = f.add_peer(2, rb);

  auto for_a = f.want(1, 100);
  REQUIRE(for_a.size() == 8);  // every block: nothing is left unrequested
  auto progress = f.ask<torrent_progress>(status_atom_v);
  CHECK(progress.endgame);

  auto for_b = f.want(2, 100);
  REQUIRE(for_b.size() == 8);  // duplicates of blocks in flight at A

  // A delivers the first block: B, which was asked for it too, gets a cancel;
  // A, the sender, does not.
  f.deliver(1, for_a[0], f.payload(for_a[0]));
  REQUIRE(rb->cancels.size() == 1);
  CHECK(rb->cancels[0] == for_a[0]);
  CHECK(ra->cancels.empty());

  // B delivers the same block late: dropped, counted as waste.
  f.deliver(2, for_a[0], f.payload(for_a[0]));
  progress = f.ask<torrent_progress>(status_atom_v);
  CHECK(progress.wasted == for_a[0].length);

  for (std::size_t i = 1; i < for_a.size(); ++i) f.deliver(1, for_a[i], f.payload(for_a[i]));
  CHECK(rb->cancels.size() == 8);
  CHECK(f.trec->done == 1);
  CHECK(f.trec->bans.empty());
  CHECK(ra->haves.size() == num_pieces);
  CHECK(rb->haves.size() == num_pieces);

  // Every byte reached the storage, in place.
  std::vector<std::uint8_t> written(static_cast<std::size_t>(total_length));
  for (std::uint32_t p = 0; p < num_pieces; ++p) {
    auto size = f.store->layout().piece_size(p);
    REQUIRE_FALSE(f.store->read(p, 0, std::span<std::uint8_t>(
                                        written.data() + p * piece_length,
                                        static_cast<std::size_t>(size))));
  }
  CHECK(written == f.content);
  progress = f.ask<torrent_progress>(status_atom_v);
  CHECK(progress.pieces_have == num_pieces);
  CHECK(progress.bytes_have == total_length);
}

TEST_CASE("a peer that alone sends a bad piece is banned and the piece is fetched again") {
  fixture f;
  auto ra = std::make_shared<peer_record>();
  f.add_peer(1, ra);
  auto blocks = f.want(1, 2);
  REQUIRE(blocks.size() == 2);
  REQUIRE(blocks[0].piece == blocks[1].piece);
  auto piece = blocks[0].piece;
  for (auto& b : blocks) {
    auto data = f.payload(b);
    data[5] ^= 0xff;
    f.deliver(1, b, data);
  }
  CHECK(f.trec->bans == std::vector<std::string>{host_of(1)});
  auto progress = f.ask<torrent_progress>(status_atom_v);
  CHECK(progress.hash_failures == 1);
  CHECK(progress.pieces_have == 0);
  CHECK(ra->haves.empty());
  // Nothing of the bad piece reached the storage.
  std::vector<std::uint8_t> on_disk(static_cast<std::size_t>(piece_length));
  REQUIRE_FALSE(f.store->read(piece, 0, on_disk));
  CHECK(std::all_of(on_disk.begin(), on_disk.end(), [](auto x) { return x == 0; }));

  // Another peer is offered the piece again.
  auto rb = std::make_shared<peer_record>();
  f.add_peer(2, rb);
  auto again = f.want(2, 100);
  CHECK(contains(again, blocks[0]));
  CHECK(contains(again, blocks[1]));
}

TEST_CASE("the requests of a departed peer go to the next peer that asks") {
  fixture f(1);
  auto ra = std::make_shared<peer_record>();
  auto rb = std::make_shared<peer_record>();
  f.add_peer(1, ra);
  f.add_peer(2, rb);
  auto for_a = f.want(1, 100);
  REQUIRE(for_a.size() == 8);
  // With one requester per block, B finds nothing and waits.
  auto for_b = f.want(2, 100);
  CHECK(for_b.empty());
  CHECK(rb->wakes == 0);

  f.self->send(f.pm, leave_atom_v, peer_key{1});
  f.sched.run();
  CHECK(rb->wakes == 1);  // the idle peer is told that work is back
  for_b = f.want(2, 100);
  CHECK(for_b.size() == 8);
  for (auto& b : for_a) CHECK(contains(for_b, b));
}

TEST_CASE("dropped requests wake idle peers and are handed out again") {
  fixture f(1);
  auto ra = std::make_shared<peer_record>();
  auto rb = std::make_shared<peer_record>();
  f.add_peer(1, ra);
  f.add_peer(2, rb);
  auto for_a = f.want(1, 100);
  CHECK(f.want(2, 100).empty());
  std::vector<block_ref> dropped{for_a[2], for_a[3]};
  f.self->send(f.pm, drop_atom_v, peer_key{1}, dropped);
  f.sched.run();
  CHECK(rb->wakes == 1);
  CHECK(ra->wakes == 0);
  auto for_b = f.want(2, 100);
  REQUIRE(for_b.size() == 2);
  CHECK(contains(for_b, for_a[2]));
  CHECK(contains(for_b, for_a[3]));
}

TEST_CASE("a peer without the pieces we lack is not interesting and gets no work") {
  fixture f;
  auto ra = std::make_shared<peer_record>();
  f.add_peer(1, ra, false);
  CHECK(f.want(1, 100).empty());
  CHECK(f.ask<bool>(have_atom_v, peer_key{1}, std::uint32_t{3}));
  auto blocks = f.want(1, 100);
  REQUIRE(blocks.size() == 2);
  for (auto& b : blocks) CHECK(b.piece == 3);
  CHECK(blocks[0].length + blocks[1].length == 20000);
}

TEST_CASE("a host that sends a bad piece and leaves before the hash check is still banned") {
  fixture f;
  auto ra = std::make_shared<peer_record>();
  f.add_peer(1, ra, true, "10.0.0.66");
  auto blocks = f.want(1, 2);
  REQUIRE(blocks.size() == 2);
  REQUIRE(blocks[0].piece == blocks[1].piece);
  // The blocks reach the PieceManager, then the peer is gone: its leave is
  // handled before the DiskWriter's verdict on the piece arrives.
  for (auto& b : blocks) {
    auto data = f.payload(b);
    data[7] ^= 0x55;
    f.self->send(f.pm, block_atom_v, peer_key{1}, b, block_buffer::copy_of(data));
  }
  f.self->send(f.pm, leave_atom_v, peer_key{1});
  f.sched.run();
  CHECK(f.trec->bans == std::vector<std::string>{"10.0.0.66"});
  CHECK(f.ask<torrent_progress>(status_atom_v).hash_failures == 1);
}

TEST_CASE("a liar sharing pieces with an honest host: only the liar is banned, on every connection") {
  fixture f;
  // One lying host with two connections (two ports), and an honest host.
  auto r1 = std::make_shared<peer_record>();
  auto r2 = std::make_shared<peer_record>();
  auto r3 = std::make_shared<peer_record>();
  f.add_peer(1, r1, true, "10.0.0.66");
  f.add_peer(2, r2, true, "10.0.0.66");
  f.add_peer(3, r3, true, "10.0.0.1");
  // One piece fails three times, each time half from a connection of the
  // liar and half from the honest host. Which of the two lied is not known
  // yet: nobody is banned (a strike count would have banned the honest host
  // with the liar, as it had no passes either).
  std::uint32_t piece = 0;
  for (peer_key liar : {peer_key{1}, peer_key{2}, peer_key{1}}) {
    auto a = f.want(liar, 1);
    REQUIRE(a.size() == 1);
    piece = a[0].piece;
    auto data = f.payload(a[0]);
    data[0] ^= 1;
    f.deliver(liar, a[0], std::move(data));
    auto rest = f.want(3, 1);
    REQUIRE(rest.size() == 1);
    REQUIRE(rest[0].piece == piece);  // partial pieces first
    f.deliver(3, rest[0], f.payload(rest[0]));
    CHECK(f.trec->bans.empty());
  }
  CHECK(f.ask<torrent_progress>(status_atom_v).hash_failures == 3);
  // The honest host fetches the piece alone; it passes, and the blocks of
  // the failures are judged against it: the liar's differ, the honest ones
  // do not.
  auto again = f.want(3, 100);
  for (auto& b : again)
    if (b.piece == piece) f.deliver(3, b, f.payload(b));
  CHECK(f.ask<torrent_progress>(status_atom_v).pieces_have >= 1);
  CHECK(f.trec->bans == std::vector<std::string>{"10.0.0.66"});
}

TEST_CASE("pieces in progress are bounded: new pieces wait until one is verified") {
  fixture f(2, 2);
  auto ra = std::make_shared<peer_record>();
  auto rb = std::make_shared<peer_record>();
  f.add_peer(1, ra);
  f.add_peer(2, rb);
  // Four pieces of two blocks; at most two open at once.
  auto for_a = f.want(1, 100);
  CHECK(for_a.size() == 4);
  auto for_b = f.want(2, 100);
  CHECK(for_b.empty());  // nothing but the two open pieces, both in flight at A
  CHECK_FALSE(f.ask<torrent_progress>(status_atom_v).endgame);
  CHECK(rb->wakes == 0);
  // A completes one piece: once verified, a place is free and B is told.
  std::uint32_t first = for_a[0].piece;
  for (auto& b : for_a)
    if (b.piece == first) f.deliver(1, b, f.payload(b));
  CHECK(f.ask<torrent_progress>(status_atom_v).pieces_have == 1);
  CHECK(rb->wakes == 1);
  auto again = f.want(2, 100);
  CHECK(again.size() == 2);
  for (auto& b : again) CHECK(b.piece != first);
}

TEST_CASE("a disk write error in the middle of a piece leaves no claim and no count behind") {
  // Less than one piece may wait for the disk: a piece whose bytes were
  // never taken off the count would stop all work.
  fixture f(2, 0, piece_length - 1);
  auto ra = std::make_shared<peer_record>();
  f.add_peer(1, ra);
  // The first block of the piece is written, then the disk is full.
  f.store->fail_writes_after(16 * 1024, errc::disk_full);
  auto blocks = f.want(1, 2);
  REQUIRE(blocks.size() == 2);
  for (auto& b : blocks) f.deliver(1, b, f.payload(b));
  REQUIRE(f.trec->fatal.size() == 1);
  CHECK(f.trec->fatal[0].find("disk_full") != std::string::npos);
  auto progress = f.ask<torrent_progress>(status_atom_v);
  CHECK(progress.pieces_have == 0);
  CHECK(progress.hash_failures == 0);  // nobody's fault
  CHECK(ra->haves.empty());
  // Nothing is claimed in the resume data, and the piece is wanted again.
  f.store->clear_faults();
  auto again = f.want(1, 100);
  CHECK(contains(again, blocks[0]));
  CHECK(contains(again, blocks[1]));
  CHECK(again.size() == 8);
}

TEST_CASE("fast extension: a peer that chokes us gets blocks of its allowed-fast pieces only") {
  fixture f;
  auto ra = std::make_shared<peer_record>();
  f.add_peer(1, ra);
  f.self->send(f.pm, want_atom_v, peer_key{1}, std::uint32_t{100}, std::vector<std::uint32_t>{2, 9});
  f.sched.run();
  REQUIRE(ra->work.size() == 1);
  REQUIRE(ra->work[0].size() == 2);  // piece 2 has two blocks; 9 is no piece
  for (auto& b : ra->work[0]) CHECK(b.piece == 2);
}

TEST_CASE("fast extension: a suggested piece is picked first, until we have it") {
  std::uint32_t usual = 0;
  {
    fixture f;
    f.add_peer(1, std::make_shared<peer_record>());
    auto first = f.want(1, 1);
    REQUIRE(first.size() == 1);
    usual = first[0].piece;
  }
  fixture f;
  auto ra = std::make_shared<peer_record>();
  f.add_peer(1, ra);
  const std::uint32_t hint = (usual + 1) % num_pieces;
  f.self->send(f.pm, suggest_atom_v, peer_key{1}, hint);
  f.sched.run();
  auto first = f.want(1, 100);
  REQUIRE(first.size() == 8);
  CHECK(first[0].piece == hint);
  CHECK(first[1].piece == hint);
}

TEST_CASE("fast extension: a rejected request (drop) is handed to the next peer at once") {
  fixture f(1);
  auto ra = std::make_shared<peer_record>();
  auto rb = std::make_shared<peer_record>();
  f.add_peer(1, ra);
  f.add_peer(2, rb);
  auto for_a = f.want(1, 100);
  REQUIRE(for_a.size() == 8);
  CHECK(f.want(2, 100).empty());
  f.self->send(f.pm, drop_atom_v, peer_key{1}, std::vector<block_ref>{for_a[5]});
  f.sched.run();
  CHECK(rb->wakes == 1);
  auto for_b = f.want(2, 100);
  REQUIRE(for_b.size() == 1);
  CHECK(for_b[0] == for_a[5]);
}

TEST_CASE("a disk that falls behind stops the requests: what is held or asked for stays within the limit") {
  // At most two pieces' worth of blocks may be received or requested and not
  // yet written (the smallest limit there is).
  constexpr std::int64_t limit = 2 * piece_length;
  fixture f(2, 0, 4 << 20, limit);
  auto ra = std::make_shared<peer_record>();
  f.add_peer(1, ra);
  std::int64_t handed_out = 0;
  auto written = [&] {
    std::int64_t n = 0;
    for (auto p : ra->haves) n += f.store->layout().piece_size(p);
    return n;
  };
  for (int round = 0; round < 8 && f.trec->done == 0; ++round) {
    // The peer asks for far more than the limit and delivers all it gets at
    // once, while the DiskWriter does nothing.
    f.disk_stalled = true;
    auto wakes = ra->wakes;
    for (int ask = 0; ask < 16; ++ask) {
      auto work = f.want(1, 100);
      if (work.empty()) break;
      for (auto& b : work) handed_out += b.length;
      CHECK(handed_out - written() <= limit);
      for (auto& b : work) f.deliver(1, b, f.payload(b));
    }
    CHECK(handed_out > written());  // the disk is the one behind
    CHECK(ra->wakes == wakes);
    // The disk catches up: the pieces are written and the idle peer is told.
    f.disk_stalled = false;
    f.sched.run();
    CHECK(handed_out == written());
    if (f.trec->done == 0) CHECK(ra->wakes == wakes + 1);
  }
  CHECK(f.trec->done == 1);
  CHECK(handed_out == total_length);
  std::vector<std::uint8_t> stored(static_cast<std::size_t>(total_length));
  for (std::uint32_t p = 0; p < num_pieces; ++p)
    REQUIRE_FALSE(f.store->read(p, 0, std::span<std::uint8_t>(
                                       stored.data() + p * piece_length,
                                       static_cast<std::size_t>(f.store->layout().piece_size(p)))));
  CHECK(stored == f.content);
}

TEST_CASE("a full write backlog stops new pieces, never the started ones: no download is left stuck") {
  // Two pieces (four blocks) may be held or asked for.
  fixture f(2, 0, 4 << 20, 2 * piece_length);
  auto join_with = [&](peer_key key, std::initializer_list<std::uint32_t> pieces) {
    auto rec = std::make_shared<peer_record>();
    f.add_peer(key, rec, false);
    for (auto p : pieces) f.ask<bool>(have_atom_v, key, p);
    return rec;
  };
  join_with(1, {0, 1});
  auto for_1 = f.want(1, 3);  // one piece whole, the first block of the other
  REQUIRE(for_1.size() == 3);
  auto blocks_of = [&](std::uint32_t piece) {
    return std::count_if(for_1.begin(), for_1.end(), [&](auto& b) { return b.piece == piece; });
  };
  const std::uint32_t whole = blocks_of(0) == 2 ? 0 : 1;
  REQUIRE(blocks_of(whole) == 2);
  join_with(2, {2});
  auto for_2 = f.want(2, 100);  // the room left: one block
  REQUIRE(for_2.size() == 1);
  // Peer 1 sends two of its three blocks and leaves: the third goes back.
  block_ref kept;
  for (auto& b : for_1) {
    if (b.piece == whole && b.begin != 0) {
      kept = b;
      continue;
    }
    f.deliver(1, b, f.payload(b));
  }
  f.self->send(f.pm, leave_atom_v, peer_key{1});
  f.run();
  join_with(3, {3});
  auto for_3 = f.want(3, 100);  // the block given back makes room for one of piece 3
  REQUIRE(for_3.size() == 1);
  f.deliver(2, for_2[0], f.payload(for_2[0]));
  f.deliver(3, for_3[0], f.payload(for_3[0]));
  // Four pieces started, none complete, and the backlog full: a peer that has
  // everything still gets the blocks that finish them.
  auto r4 = join_with(4, {0, 1, 2, 3});
  auto for_4 = f.want(4, 100);
  CHECK(contains(for_4, kept));
  CHECK(for_4.size() == 4);
  for (auto& b : for_4) f.deliver(4, b, f.payload(b));
  f.sched.run();
  CHECK(f.trec->done == 1);
}
