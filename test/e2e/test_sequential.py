#!/usr/bin/python3
"""`--sequential` against a libtorrent seeder: pieces are verified in index
order (a piece may only overtake its predecessors by the few pieces in
flight at once), read from the `piece N verified` lines of -vv. Rarest
first on a single seeder, where every piece is equally rare, takes them in
a random order instead; the same check on such a run shows the contrast."""

import os
import re
import sys

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import check, check_run_ok, describe, log  # noqa: E402

PIECE = 32 * 1024
SIZE = 4 * 1024 * 1024  # 128 pieces
WINDOW = 16             # how far a piece may complete ahead of the lowest missing one


def verified_order(stderr):
    return [int(m.group(1)) for m in re.finditer(r"piece (\d+) verified", stderr)]


def out_of_order(order):
    """Pieces verified more than WINDOW ahead of the lowest one still missing."""
    done, lowest, bad = set(), 0, []
    for p in order:
        if p > lowest + WINDOW:
            bad.append(p)
        done.add(p)
        while lowest in done:
            lowest += 1
    return bad


def main():
    swarm.need_libtorrent()
    with swarm.Swarm("sequential") as sw:
        torrent, save, _, _ = sw.make_single(SIZE, piece_length=PIECE)
        ti = swarm.read_torrent(torrent)
        port = sw.start_lt_seeder(torrent, save)

        out = sw.mkdir("out-seq")
        r = sw.run_actorrent(torrent, out, peers=[port], extra_args=["--sequential", "-vv"],
                             timeout=60)
        log(describe(r))
        check_run_ok(r)
        order = verified_order(r.stderr)
        check(sorted(order) == list(range(ti.num_pieces)),
              f"{len(order)} 'piece N verified' lines for {ti.num_pieces} pieces")
        bad = out_of_order(order)
        check(not bad, f"--sequential verified pieces far ahead of a missing one: {bad[:10]} "
                       f"(order starts {order[:20]})")
        log(f"--sequential: {ti.num_pieces} pieces in order (starts {order[:12]})")

        # The contrast, so the check above is known to tell the orders apart.
        out2 = sw.mkdir("out-rarest")
        r2 = sw.run_actorrent(torrent, out2, peers=[port], extra_args=["-vv"], timeout=60)
        check_run_ok(r2)
        order2 = verified_order(r2.stderr)
        check(out_of_order(order2), f"rarest first came out in order too: {order2[:20]}")
        log(f"rarest first: {len(out_of_order(order2))} pieces far ahead (starts {order2[:12]})")


if __name__ == "__main__":
    swarm.e2e_main(main)
