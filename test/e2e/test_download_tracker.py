#!/usr/bin/python3
"""64 MiB single-file torrent, one libtorrent seeder found through opentracker.

actorrent must download it, exit 0 and leave a byte-identical file."""

import os
import sys

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import MiB, check, check_run_ok, describe, log  # noqa: E402


def main():
    swarm.need_libtorrent()
    swarm.need_tool("opentracker")
    with swarm.Swarm("tracker") as sw:
        tracker_port = swarm.free_port()
        url = f"http://127.0.0.1:{tracker_port}/announce"
        log("making 64 MiB content and a torrent with 256 KiB pieces")
        torrent, save, content, ih = sw.make_single(64 * MiB, 256 * 1024, announce=url)
        sw.start_opentracker([ih], port=tracker_port)
        sw.start_lt_seeder(torrent, save)
        out = sw.mkdir("out")
        log("actorrent downloads, learning the seeder from the tracker only")
        r = sw.run_actorrent(torrent, out, extra_args=["-v"], timeout=120)
        log(describe(r))
        check_run_ok(r)
        problems = swarm.verify_files(os.path.join(out, os.path.basename(content)), content)
        check(not problems, "downloaded data is wrong: " + "; ".join(problems))
        log(f"64 MiB verified by sha256 ({64 / r.wall:.1f} MiB/s)")


if __name__ == "__main__":
    swarm.e2e_main(main)
