#!/usr/bin/python3
"""--max-down and --max-up hold the transfer within 10% of the limit.

A libtorrent seeder with no limit of its own sends 16 MiB to actorrent run
with --max-down 2M: the download must take 8 s give or take 10%, where an
unlimited one takes a fraction of a second. Then actorrent seeds the same
data with --max-up 2M to a libtorrent downloader, which must need as long.
Last, two torrents of 6 MiB in one process with --torrent-max-down 1M: each
is held to 1 MiB/s of its own, so together they take 6 s, not 12 (one
shared budget) and not a fraction of a second (no limit)."""

import os
import re
import sys

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import MiB, check, check_run_ok, describe, log  # noqa: E402

SIZE = 16 * MiB
LIMIT = 2 * MiB
EACH_SIZE = 6 * MiB
EACH_LIMIT = 1 * MiB


def check_rate(what: str, seconds: float, size: int = SIZE, limit: int = LIMIT) -> None:
    rate = size / seconds
    log(f"{what}: {size / MiB:.0f} MiB in {seconds:.2f} s = {rate / MiB:.2f} MiB/s "
        f"(limit {limit / MiB:.0f} MiB/s, ratio {rate / limit:.3f})")
    check(rate <= 1.10 * limit, f"{what}: {rate / MiB:.2f} MiB/s is over the limit by more than 10%")
    check(rate >= 0.90 * limit, f"{what}: {rate / MiB:.2f} MiB/s is under the limit by more than 10%")


def main():
    swarm.need_libtorrent()
    with swarm.Swarm("rate_limits") as sw:
        dead = swarm.free_port()
        torrent, save, content, _ = sw.make_single(
            SIZE, 256 * 1024, announce=f"http://127.0.0.1:{dead}/announce")

        seeder = sw.start_lt_seeder(torrent, save)
        out = sw.mkdir("down")
        r = sw.run_actorrent(torrent, out, peers=[seeder],
                             extra_args=["--max-down", "2M"], timeout=60)
        log(describe(r))
        check_run_ok(r)
        check(not swarm.verify_files(os.path.join(out, os.path.basename(content)), content),
              "downloaded data is wrong")
        check_rate("download with --max-down 2M", r.wall)

        # The downloaded copy is the seed for the upload half.
        port = sw.start_actorrent_seeder(torrent, out, extra_args=["--max-up", "2M"])
        got = sw.mkdir("up")
        r = sw.run_lt_download(torrent, got, peers=[port], timeout=60)
        log(describe(r))
        check(r.returncode == 0, f"libtorrent download failed: {swarm.tail(r.stdout)}")
        m = re.search(r"DONE (\d+) bytes in ([0-9.]+) s", r.stdout)
        check(m is not None, "libtorrent printed no DONE line")
        check(int(m.group(1)) == SIZE, f"libtorrent got {m.group(1)} bytes")
        check(not swarm.verify_files(os.path.join(got, os.path.basename(content)), content),
              "uploaded data is wrong")
        check_rate("upload with --max-up 2M", float(m.group(2)))

        # Each torrent's own limit: two torrents, one seeder each, in parallel.
        each = sw.mkdir("each-content")
        torrents, seeders = [], []
        for k, name in enumerate(("each-a.bin", "each-b.bin")):
            swarm.make_content(each, [(name, EACH_SIZE)], seed=10 + k)
            t = sw.path(name + ".torrent")
            swarm.make_torrent(os.path.join(each, name), t, 256 * 1024,
                               f"http://127.0.0.1:{dead}/announce")
            torrents.append(t)
            seeders.append(sw.start_lt_seeder(t, each))
        out = sw.mkdir("each")
        r = sw.run_actorrent(torrents[0], out, peers=seeders,
                             extra_args=[torrents[1], "--torrent-max-down", "1M"], timeout=60)
        log(describe(r))
        check_run_ok(r)
        for name in ("each-a.bin", "each-b.bin"):
            check(not swarm.verify_files(os.path.join(out, name), os.path.join(each, name)),
                  f"{name}: downloaded data is wrong")
        check(r.stdout.count("complete:") == 2, "not both torrents completed:\n" + swarm.tail(r.stdout))
        check_rate("each of two torrents with --torrent-max-down 1M", r.wall, EACH_SIZE, EACH_LIMIT)


if __name__ == "__main__":
    swarm.e2e_main(main)
