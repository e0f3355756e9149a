#!/usr/bin/python3
"""Whole pieces of a download reach the disk past the page cache.

A libtorrent seeder, given with -a, serves 8 MiB and 1000 bytes in 256 KiB
pieces. Every whole piece is written with O_DIRECT, so once actorrent exits
the file's pages are not cached, but for the last, short piece (written
buffered: its length is not a multiple of 4096). Looked at with fincore
before anything reads the file; then the content is checked."""

import os
import subprocess
import sys

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import MiB, check, check_run_ok, describe, log  # noqa: E402


def takes_direct_io(directory):
    probe = os.path.join(directory, "probe")
    try:
        fd = os.open(probe, os.O_CREAT | os.O_WRONLY | os.O_DIRECT, 0o600)
    except OSError as e:
        log(f"{directory}: O_DIRECT refused ({e})")
        return False
    os.close(fd)
    os.unlink(probe)
    return True


def cached_bytes(path):
    out = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES", path],
                         capture_output=True, text=True, timeout=10, check=True)
    return int(out.stdout.strip())


def main():
    swarm.need_libtorrent()
    with swarm.Swarm("page-cache") as sw:
        torrent, save, content, _ = sw.make_single(8 * MiB + 1000, 256 * 1024)
        seeder = sw.start_lt_seeder(torrent, save)
        out = sw.mkdir("out")
        if not takes_direct_io(out):
            raise swarm.Skip("the file system refuses O_DIRECT: every write is buffered")
        r = sw.run_actorrent(torrent, out, peers=[seeder], timeout=120)
        log(describe(r))
        check_run_ok(r)
        path = os.path.join(out, os.path.basename(content))
        cached = cached_bytes(path)
        log(f"{cached} bytes of {os.path.getsize(path)} in the page cache")
        page = os.sysconf("SC_PAGE_SIZE")
        check(cached <= page, f"{cached} bytes of the download are cached; only the last "
                              f"piece's page ({page} bytes) should be")
        problems = swarm.verify_files(path, content)
        check(not problems, "downloaded data is wrong: " + "; ".join(problems))
        log("8 MiB verified by sha256")


if __name__ == "__main__":
    swarm.e2e_main(main)
