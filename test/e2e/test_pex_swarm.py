#!/usr/bin/python3
"""Peers from peers (BEP 11): actorrent leechers that only learn of each
other by PEX.

A 2 MiB torrent without a tracker.  `actorrent seed` serves it with its
upload limited to 512 KiB/s, so the seeder alone needs 4 s or more per copy;
three actorrent leechers start together, each given only the seeder's
address (`-a`), and keep seeding for a few seconds after they complete; a
fourth with `--max-peers 1` must keep to its one connection (the seeder)
although PEX names the others to it and it to them.
Nobody tells a leecher of another but the seeder's PEX, so the leechers can
only exchange data if PEX works: every leecher must complete with the right
bytes, and together they must have uploaded at least a whole piece's worth
to each other.  The same swarm with a private torrent (BEP 27), run
alongside, must not: no PEX is sent or followed, and the leechers upload
nothing to each other."""

import os
import signal
import sys

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import MiB, check, check_run_ok, describe, log  # noqa: E402

SIZE = 2 * MiB
PIECE = 256 * 1024
LEECHERS = 3
SEED_UP = "512K"
SEED_TIME = 2
TIMEOUT = 90        # per leecher, from the common start


def start_swarm(sw, private: bool) -> tuple:
    """Seeder plus three leechers that know only the seeder, started."""
    what = "private" if private else "public"
    content = sw.mkdir(f"content-{what}")
    swarm.make_content(content, [("payload.bin", SIZE)], seed=7 if private else 3)
    torrent = sw.path(f"{what}.torrent")
    swarm.make_torrent(os.path.join(content, "payload.bin"), torrent, PIECE, None, private=private)
    seed_port = sw.start_actorrent_seeder(torrent, content, extra_args=["--max-up", SEED_UP, "-v"])
    log(f"{what}: {LEECHERS} leechers, each told only of the seeder")
    leechers = []
    for i in range(LEECHERS):
        out = sw.mkdir(f"out-{what}{i}")
        h = sw.start_actorrent(torrent, out, peers=[seed_port],
                               extra_args=["--seed", "--seed-time", str(SEED_TIME), "-v"],
                               what=f"{what}-leecher{i}")
        leechers.append((h, out))
    limited = None
    if not private:
        # Peers learned by PEX count against the connection limit like any
        # others: with room for one connection (the seeder) this leecher
        # neither dials nor accepts the others, so it uploads nothing.
        out = sw.mkdir("out-limited")
        h = sw.start_actorrent(torrent, out, peers=[seed_port], extra_args=["--max-peers", "1", "-v"],
                               what="public-limited")
        limited = (h, out)
    return what, content, sw.actorrent_at(seed_port), leechers, limited


def finish_swarm(started) -> tuple:
    """Waits for the leechers, checks their data, stops the seeder; returns
    the leechers' stats and runs, and the seeder's stats."""
    what, content, seeder, leechers, limited = started
    stats = []
    for i, (h, out) in enumerate(leechers):
        r = h.finish(TIMEOUT)
        log(f"{what} leecher {i} (:{h.port}): {describe(r)}")
        check_run_ok(r, f"{what} leecher {i}")
        problems = swarm.verify_files(os.path.join(out, "payload.bin"), os.path.join(content, "payload.bin"))
        check(not problems, f"{what} leecher {i} has wrong data: " + "; ".join(problems))
        st = swarm.stats_of(r, f"{what} leecher {i}")
        log(f"{what} leecher {i} stats: {st}")
        stats.append((st, r))
    if limited:
        h, out = limited
        r = h.finish(TIMEOUT)
        log(f"leecher with --max-peers 1 (:{h.port}): {describe(r)}")
        check_run_ok(r, "leecher with --max-peers 1")
        problems = swarm.verify_files(os.path.join(out, "payload.bin"), os.path.join(content, "payload.bin"))
        check(not problems, "leecher with --max-peers 1 has wrong data: " + "; ".join(problems))
        st = swarm.stats_of(r, "leecher with --max-peers 1")
        check(st["uploaded"] == 0, f"the leecher with --max-peers 1 uploaded {st['uploaded']} bytes: "
              "it took a connection beyond its limit")
    s = seeder.stop(signal.SIGTERM, grace=15)
    check(not s.timed_out and s.returncode == 0, f"{what} seeder stopped by SIGTERM: {describe(s)}")
    sst = swarm.stats_of(s, f"{what} seeder")
    log(f"{what} seeder uploaded {sst['uploaded'] / MiB:.1f} MiB")
    return stats, sst


def main():
    with swarm.Swarm("pex-swarm") as sw:
        # Both swarms at once: they share nothing but the machine.
        public = start_swarm(sw, private=False)
        private = start_swarm(sw, private=True)

        stats, _ = finish_swarm(public)
        up = sum(st["uploaded"] for st, _ in stats)
        best = max(st["uploaded"] for st, _ in stats)
        log(f"leechers uploaded {up / MiB:.1f} MiB to each other (best {best / MiB:.2f} MiB)")
        check(best >= PIECE,
              f"no leecher uploaded a whole piece's worth to the others (best: {best} bytes): "
              "they did not learn of each other by PEX")
        learned = sum(1 for _, r in stats if "pex from" in r.stderr + r.stdout)
        check(learned > 0, "no leecher logged a PEX message ('pex from')")

        pstats, psst = finish_swarm(private)
        pup = sum(st["uploaded"] for st, _ in pstats)
        check(pup == 0, f"private torrent: the leechers uploaded {pup} bytes to each other, "
              "so they found each other although only the seeder was given")
        for i, (st, r) in enumerate(pstats):
            check("pex from" not in r.stderr + r.stdout,
                  f"private torrent: leecher {i} followed a PEX message")
        check(psst["uploaded"] >= LEECHERS * SIZE,
              f"private torrent: the seeder uploaded {psst['uploaded']} < {LEECHERS * SIZE} bytes")


if __name__ == "__main__":
    swarm.e2e_main(main)
