#!/usr/bin/python3
"""aria2c with --bt-require-crypto=true downloads from `actorrent seed
--encryption require`.

A 4 MiB torrent announced to a local opentracker; the only seeder is
actorrent requiring encryption, so every byte aria2c gets crossed an
encrypted connection (aria2c's own handshake, its BitTorrent handshake
sent inside or after the encryption handshake).  The file must be
byte-identical and the seeder must have agreed on RC4."""

import os
import signal
import sys

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import MiB, check, check_run_ok, describe, log  # noqa: E402

SIZE = 4 * MiB


def main():
    swarm.need_tool("opentracker")
    swarm.need_tool("aria2c")
    with swarm.Swarm("mse-aria2") as sw:
        tracker_port = swarm.free_port()
        url = f"http://127.0.0.1:{tracker_port}/announce"
        torrent, save, content, ih = sw.make_single(SIZE, 256 * 1024, announce=url)
        sw.start_opentracker([ih], port=tracker_port)
        port = sw.start_actorrent_seeder(torrent, save, timeout=30,
                                         extra_args=["-vv", "--encryption", "require"])
        seeder = sw.actorrent_at(port)
        sw.wait_tracker_lists(url, ih, [port])

        out = sw.mkdir("out")
        r = sw.run_aria2c(torrent, out, timeout=30, extra_args=["--bt-require-crypto=true"])
        log("aria2c: " + describe(r))
        check_run_ok(r, "aria2c requiring encryption")
        problems = swarm.verify_files(os.path.join(out, os.path.basename(content)), content)
        check(not problems, "aria2c's file is wrong: " + "; ".join(problems))
        text = seeder.stdout() + seeder.stderr()
        check(": RC4" in text, "the seeder agreed on no RC4 connection:\n" + swarm.tail(text))

        s = seeder.stop(signal.SIGTERM, grace=15)
        check(s.returncode == 0, f"seeder stopped by SIGTERM exited {s.returncode}, expected 0")
        st = swarm.stats_of(s, "seeder")
        check(st["uploaded"] >= SIZE,
              f"the seeder was aria2c's only source but reports uploaded={st['uploaded']}")


if __name__ == "__main__":
    swarm.e2e_main(main)
