#!/usr/bin/python3
"""A swarm of actorrent only: one seeder and three leechers.

A 48 MiB torrent announced to a local opentracker.  `actorrent seed` serves
it; three actorrent leechers start together, each listening on its own
127.0.0.1 port with --seed --seed-time 8, so they learn each other from the
tracker (and from incoming connections) and keep serving each other for a
while after completing.  Every leecher must exit 0 by itself with a
byte-identical file, report downloaded >= the torrent size, and together
they must have uploaded to each other: at least one leecher uploaded a
whole piece's worth or more."""

import os
import signal
import sys

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import MiB, check, check_run_ok, describe, log  # noqa: E402

SIZE = 48 * MiB
PIECE = 256 * 1024
LEECHERS = 3
SEED_TIME = 8
TIMEOUT = 150        # per leecher, from the common start


def main():
    swarm.need_tool("opentracker")
    with swarm.Swarm("swarm-actorrent") as sw:
        tracker_port = swarm.free_port()
        url = f"http://127.0.0.1:{tracker_port}/announce"
        torrent, save, content, ih = sw.make_single(SIZE, PIECE, announce=url)
        name = os.path.basename(content)
        sw.start_opentracker([ih], port=tracker_port)
        seed_port = sw.start_actorrent_seeder(torrent, save)
        seeder = sw.actorrent_at(seed_port)
        sw.wait_tracker_lists(url, ih, [seed_port])

        log(f"{LEECHERS} actorrent leechers start together (--seed --seed-time {SEED_TIME})")
        leechers = []
        for i in range(LEECHERS):
            out = sw.mkdir(f"out{i}")
            h = sw.start_actorrent(torrent, out, extra_args=["--seed", "--seed-time", str(SEED_TIME)],
                                   what=f"leecher{i}")
            leechers.append((h, out))

        results = []
        for i, (h, out) in enumerate(leechers):
            r = h.finish(TIMEOUT)
            log(f"leecher {i} (:{h.port}): {describe(r)}")
            results.append(r)
        stats = []
        for i, ((h, out), r) in enumerate(zip(leechers, results)):
            check_run_ok(r, f"leecher {i}")
            check(r.wall >= SEED_TIME,
                  f"leecher {i} exited after {r.wall:.1f} s, before its --seed-time {SEED_TIME}")
            problems = swarm.verify_files(os.path.join(out, name), content)
            check(not problems, f"leecher {i} has wrong data: " + "; ".join(problems))
            st = swarm.stats_of(r, f"leecher {i}")
            log(f"leecher {i} stats: {st}")
            check(st["downloaded"] >= SIZE,
                  f"leecher {i} started empty and completed but reports downloaded="
                  f"{st['downloaded']} < {SIZE}")
            stats.append(st)

        check(seeder.running(), "the seeder exited on its own")
        s = seeder.stop(signal.SIGTERM, grace=15)
        check(not s.timed_out and s.returncode == 0,
              f"seeder stopped by SIGTERM: {describe(s)}, expected exit 0")
        sst = swarm.stats_of(s, "seeder")
        up = sum(x["uploaded"] for x in stats)
        down = sum(x["downloaded"] for x in stats)
        log(f"seeder uploaded {sst['uploaded'] / MiB:.1f} MiB; leechers uploaded "
            f"{up / MiB:.1f} MiB to each other; leechers downloaded {down / MiB:.1f} MiB; "
            f"sent - received = {(sst['uploaded'] + up - down) / MiB:+.1f} MiB")
        check(up > 0, "the leechers uploaded nothing to each other (sum of uploaded= is 0)")
        best = max(x["uploaded"] for x in stats)
        check(best >= PIECE,
              f"no leecher uploaded a whole piece's worth to the others (best: {best} bytes)")


if __name__ == "__main__":
    swarm.e2e_main(main)
