#!/usr/bin/python3
"""libtorrent downloads from `actorrent seed --encryption require`.

A 4 MiB torrent whose tracker is a dead port, seeded by actorrent with
--encryption require.  A libtorrent downloader that forces encryption (RC4
only) is given the seeder with --peer and completes byte-identical.  A
libtorrent downloader with encryption disabled gets nothing within its
timeout, and the seeder's log says it refused the plaintext handshake."""

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
    swarm.need_libtorrent()
    with swarm.Swarm("mse-require") as sw:
        dead = swarm.free_port()
        torrent, save, content, ih = sw.make_single(
            SIZE, 256 * 1024, announce=f"http://127.0.0.1:{dead}/announce")
        name = os.path.basename(content)
        port = sw.start_actorrent_seeder(torrent, save, timeout=30,
                                         extra_args=["-vv", "--encryption", "require"])
        seeder = sw.actorrent_at(port)

        out = sw.mkdir("out-forced")
        r = sw.run_lt_download(torrent, out, peers=[port], timeout=20, encryption="forced")
        log("libtorrent (forced): " + describe(r))
        check_run_ok(r, "libtorrent forcing encryption")
        problems = swarm.verify_files(os.path.join(out, name), content)
        check(not problems, "the encrypted upload is wrong: " + "; ".join(problems))

        out = sw.mkdir("out-disabled")
        r = sw.run_lt_download(torrent, out, peers=[port], timeout=4, encryption="disabled")
        log("libtorrent (disabled): " + describe(r))
        check(r.returncode != 0, "libtorrent without encryption downloaded from "
                                 "actorrent --encryption require")
        check("TIMEOUT progress=0.000" in r.stderr,
              "libtorrent without encryption got data:\n" + swarm.tail(r.stdout + r.stderr))
        text = seeder.stdout() + seeder.stderr()
        check(": RC4" in text, "the seeder agreed on no RC4 connection:\n" + swarm.tail(text))
        check("plaintext handshake refused: encryption is required" in text,
              "the seeder did not say it refused a plaintext handshake:\n" + swarm.tail(text))
        check(seeder.running(), "the seeder exited on its own")

        s = seeder.stop(signal.SIGTERM, grace=15)
        check(s.returncode == 0, f"seeder stopped by SIGTERM exited {s.returncode}, expected 0")
        st = swarm.stats_of(s, "seeder")
        check(SIZE <= st["uploaded"] < 2 * SIZE,
              f"the seeder served one download but reports uploaded={st['uploaded']}")


if __name__ == "__main__":
    swarm.e2e_main(main)
