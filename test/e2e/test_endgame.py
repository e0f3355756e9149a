#!/usr/bin/python3
"""End game: a fast libtorrent seeder plus a seeder that serves one block per
BLOCK_DELAY seconds, both given with -a.

Without end-game requests the last blocks queued at the slow peer would hold
the download for a long time.  actorrent must finish far sooner than the slow
peer could serve even a share of the torrent, and the slow peer must have
received at least one CANCEL (the duplicate request was satisfied elsewhere)."""

import os
import sys

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import BLOCK, MiB, check, check_run_ok, describe, log  # noqa: E402

SIZE = 8 * MiB
BLOCK_DELAY = 1.0
FAST_RATE = 8 * MiB   # bytes/s
WALL_LIMIT = 30.0     # the slow peer alone would need SIZE / BLOCK * BLOCK_DELAY = 512 s


def main():
    swarm.need_libtorrent()
    with swarm.Swarm("endgame") as sw:
        dead = swarm.free_port()
        torrent, save, content, _ = sw.make_single(
            SIZE, 256 * 1024, announce=f"http://127.0.0.1:{dead}/announce")
        slow, slow_log = sw.start_mock("slow", torrent, content,
                                       extra=["--block-delay", str(BLOCK_DELAY)])
        # Rate-limited so the download lasts about a second: long enough for
        # the slow peer to be connected and asked, however quick the client is.
        fast = sw.start_lt_seeder(torrent, save, upload_limit=FAST_RATE)
        slow_alone = SIZE // BLOCK * BLOCK_DELAY
        log(f"slow peer :{slow} ({BLOCK_DELAY} s per block, {slow_alone:.0f} s for the "
            f"whole torrent alone), fast peer :{fast} ({FAST_RATE // MiB} MiB/s)")
        out = sw.mkdir("out")
        r = sw.run_actorrent(torrent, out, peers=[slow, fast], extra_args=["-v"], timeout=120)
        log(describe(r))
        check_run_ok(r)
        problems = swarm.verify_files(os.path.join(out, os.path.basename(content)), content)
        check(not problems, "downloaded data is wrong: " + "; ".join(problems))
        recs = swarm.read_jsonl(slow_log)
        requests = [x for x in recs if x["event"] == "request"]
        cancels = [x for x in recs if x["event"] == "cancel"]
        served = [x for x in recs if x["event"] == "sent_piece"]
        log(f"slow peer: {len(requests)} requests, {len(served)} blocks served, "
            f"{len(cancels)} cancels")
        check(r.wall < WALL_LIMIT,
              f"took {r.wall:.1f} s; with end-game it should take well under {WALL_LIMIT:.0f} s")
        check(requests, "actorrent never requested a block from the slow peer, "
                        "so end-game was not exercised")
        check(cancels, "the slow peer never received a CANCEL: no end-game cancels on the wire")
        asked = {(x["piece"], x["begin"], x["length"]) for x in requests}
        stray = [c for c in cancels if (c["piece"], c["begin"], c["length"]) not in asked]
        check(not stray, f"CANCEL for blocks never requested from this peer: {stray[:3]}")
        log(f"first cancel: piece {cancels[0]['piece']} begin {cancels[0]['begin']} "
            f"length {cancels[0]['length']}")


if __name__ == "__main__":
    swarm.e2e_main(main)
