#!/usr/bin/python3
"""The tracker in the torrent is unreachable; the seeder is given with -a.

actorrent must run on the given peer alone and complete the 64 MiB file."""

import os
import sys

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import MiB, check, check_run_ok, describe, log  # noqa: E402


def main():
    swarm.need_libtorrent()
    with swarm.Swarm("direct") as sw:
        dead = swarm.free_port()      # nothing ever listens here
        torrent, save, content, _ = sw.make_single(
            64 * MiB, 256 * 1024, announce=f"http://127.0.0.1:{dead}/announce")
        check(not swarm.port_accepts(dead), f"port {dead} unexpectedly accepts connections")
        seeder = sw.start_lt_seeder(torrent, save)
        out = sw.mkdir("out")
        log(f"tracker port {dead} is closed; peer given: 127.0.0.1:{seeder}")
        r = sw.run_actorrent(torrent, out, peers=[seeder], extra_args=["-v"], timeout=120)
        log(describe(r))
        check_run_ok(r)
        problems = swarm.verify_files(os.path.join(out, os.path.basename(content)), content)
        check(not problems, "downloaded data is wrong: " + "; ".join(problems))
        log("64 MiB verified by sha256")


if __name__ == "__main__":
    swarm.e2e_main(main)
