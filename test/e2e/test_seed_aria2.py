#!/usr/bin/python3
"""actorrent seeds, aria2c downloads.

A 32 MiB single-file torrent whose announce URL is a local opentracker.
`actorrent seed` checks the content (every piece present), listens on
127.0.0.1 and announces; aria2c learns the seeder from the tracker only and
must end with a byte-identical file.  The seeder, stopped by SIGTERM after
having completed, exits 0 and reports having uploaded at least the whole
torrent (it was aria2c's only source) and downloaded nothing."""

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
    swarm.need_tool("opentracker")
    swarm.need_tool("aria2c")
    with swarm.Swarm("seed-aria2") as sw:
        tracker_port = swarm.free_port()
        url = f"http://127.0.0.1:{tracker_port}/announce"
        torrent, save, content, ih = sw.make_single(SIZE, 256 * 1024, announce=url)
        ti = swarm.read_torrent(torrent)
        sw.start_opentracker([ih], port=tracker_port)
        port = sw.start_actorrent_seeder(torrent, save)
        seeder = sw.actorrent_at(port)
        have = swarm.parse_checked(seeder.stdout() + "\n" + seeder.stderr(), ti.num_pieces)
        check(have == ti.num_pieces,
              f"the seeder's 'checked' line says {have} pieces present, expected all "
              f"{ti.num_pieces}")
        sw.wait_tracker_lists(url, ih, [port])
        log("opentracker lists the actorrent seeder; aria2c downloads through the tracker")
        out = sw.mkdir("out")
        r = sw.run_aria2c(torrent, out, timeout=120)
        log("aria2c: " + describe(r))
        check(seeder.running(), "the seeder exited while aria2c was downloading")
        check_run_ok(r, "aria2c")
        problems = swarm.verify_files(os.path.join(out, os.path.basename(content)), content)
        check(not problems, "aria2c's file is wrong: " + "; ".join(problems))
        log(f"aria2c got {SIZE // MiB} MiB from actorrent ({SIZE / MiB / r.wall:.1f} MiB/s "
            f"including aria2c's start-up)")

        s = seeder.stop(signal.SIGTERM, grace=15)
        log("seeder: " + describe(s))
        check(not s.timed_out, "the seeder did not exit within 15 s of SIGTERM")
        check(s.returncode == 0,
              f"a seeder stopped by SIGTERM after completion must exit 0, got {s.returncode}; "
              f"stderr tail:\n{swarm.tail(s.stderr)}")
        st = swarm.stats_of(s, "seeder")
        log(f"seeder stats: {st}")
        check(st["uploaded"] >= SIZE,
              f"the seeder was aria2c's only source but reports uploaded={st['uploaded']} "
              f"< {SIZE}")
        check(st["downloaded"] == 0,
              f"the seeder had everything but reports downloaded={st['downloaded']}")


if __name__ == "__main__":
    swarm.e2e_main(main)
