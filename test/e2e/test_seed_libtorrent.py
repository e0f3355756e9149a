#!/usr/bin/python3
"""actorrent seeds, libtorrent downloads.

A 32 MiB single-file torrent announced to a local opentracker, seeded by
`actorrent seed`.  Two libtorrent downloads (tools/swarm/lt_seed.py
--download), one after the other, each into a fresh directory: the first
learns the seeder from the tracker only, the second is given the seeder
with --peer (its torrent's tracker is a dead port, so the connection can
only be that one).  Both must end with byte-identical files; the seeder,
stopped by SIGTERM, exits 0 and reports having uploaded at least twice the
torrent."""

import os
import signal
import sys

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import MiB, check, check_run_ok, describe, log  # noqa: E402

SIZE = 32 * MiB


def main():
    swarm.need_libtorrent()
    swarm.need_tool("opentracker")
    with swarm.Swarm("seed-lt") as sw:
        tracker_port = swarm.free_port()
        url = f"http://127.0.0.1:{tracker_port}/announce"
        torrent, save, content, ih = sw.make_single(SIZE, 256 * 1024, announce=url)
        name = os.path.basename(content)
        # Same info dictionary (same info-hash), announce pointing nowhere.
        dead = swarm.free_port()
        direct_torrent = sw.path("direct.torrent")
        ih2 = swarm.make_torrent(content, direct_torrent, 256 * 1024,
                                 announce=f"http://127.0.0.1:{dead}/announce")
        check(ih2 == ih, "the torrent remade with another announce URL has another info-hash")
        sw.start_opentracker([ih], port=tracker_port)
        port = sw.start_actorrent_seeder(torrent, save)
        seeder = sw.actorrent_at(port)
        sw.wait_tracker_lists(url, ih, [port])

        out = sw.mkdir("out-tracker")
        log("libtorrent downloads, learning the actorrent seeder from opentracker")
        r = sw.run_lt_download(torrent, out, timeout=90)
        log("libtorrent via tracker: " + describe(r))
        check_run_ok(r, "libtorrent (tracker)")
        problems = swarm.verify_files(os.path.join(out, name), content)
        check(not problems, "libtorrent (tracker) file is wrong: " + "; ".join(problems))

        out = sw.mkdir("out-direct")
        log("libtorrent downloads from the seeder given with --peer")
        r = sw.run_lt_download(direct_torrent, out, peers=[port], timeout=90)
        log("libtorrent via --peer: " + describe(r))
        check_run_ok(r, "libtorrent (--peer)")
        problems = swarm.verify_files(os.path.join(out, name), content)
        check(not problems, "libtorrent (--peer) file is wrong: " + "; ".join(problems))
        check(seeder.running(), "the seeder exited on its own")

        s = seeder.stop(signal.SIGTERM, grace=15)
        log("seeder: " + describe(s))
        check(not s.timed_out, "the seeder did not exit within 15 s of SIGTERM")
        check(s.returncode == 0, f"seeder stopped by SIGTERM exited {s.returncode}, expected 0")
        st = swarm.stats_of(s, "seeder")
        log(f"seeder stats: {st}")
        check(st["uploaded"] >= 2 * SIZE,
              f"the seeder served two complete downloads but reports uploaded={st['uploaded']} "
              f"< {2 * SIZE}")


if __name__ == "__main__":
    swarm.e2e_main(main)
