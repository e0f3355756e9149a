#!/usr/bin/python3
"""Multi-file torrent through opentracker from a libtorrent seeder.

The tree has uneven sizes, files smaller than a piece, files straddling
piece boundaries, an empty file and nested directories; every file must come
out identical (the empty one included) and nothing else may appear."""

import os
import sys

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import check, check_run_ok, describe, log  # noqa: E402

PIECE = 64 * 1024   # small pieces so several files share a piece and many files span several


def main():
    swarm.need_libtorrent()
    swarm.need_tool("opentracker")
    with swarm.Swarm("multifile") as sw:
        tracker_port = swarm.free_port()
        url = f"http://127.0.0.1:{tracker_port}/announce"
        torrent, save, root, ih = sw.make_multi(PIECE, announce=url)
        ti = swarm.read_torrent(torrent)
        log(f"torrent '{ti.name}': {len(ti.files)} files, {ti.total_size} bytes, "
            f"{ti.num_pieces} pieces of {PIECE}")
        for rel, size in ti.files:
            log(f"  {size:>9}  {rel}")
        check(any(sz == 0 for _, sz in ti.files), "the torrent lost its empty file (mktorrent?)")
        sw.start_opentracker([ih], port=tracker_port)
        sw.start_lt_seeder(torrent, save)
        out = sw.mkdir("out")
        r = sw.run_actorrent(torrent, out, extra_args=["-v"], timeout=120)
        log(describe(r))
        check_run_ok(r)
        problems = swarm.verify_files(os.path.join(out, ti.name), root)
        check(not problems, "downloaded tree is wrong: " + "; ".join(problems))
        log(f"all {len(ti.files)} files verified")


if __name__ == "__main__":
    swarm.e2e_main(main)
