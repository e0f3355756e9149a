#!/usr/bin/python3
"""`actorrent show` on a mktorrent-made multi-file torrent prints the name, the
info hash (as transmission-show computes it), every file and the tracker;
on a missing file, on garbage and on a truncated torrent it exits 1 with a
message on stderr. On a magnet link it prints the info hash, name, trackers
and peers the link names; a malformed link exits 1."""

import os
import random
import urllib.parse
import sys

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import check, log  # noqa: E402


def show(sw, path):
    exe = swarm.find_actorrent()
    log(f"run: {exe} show {path}")
    return swarm.run_measured([exe, "show", path], 30, sw.log_dir,
                              "show-" + os.path.basename(path))


def expect_error(sw, path, what):
    r = show(sw, path)
    check(not r.timed_out, f"show on {what} hung")
    check(r.returncode == 1, f"show on {what} exited {r.returncode}, expected 1 "
                             f"(stderr: {r.stderr.strip()[:300]!r})")
    check(r.stderr.strip(), f"show on {what} printed nothing on stderr")
    log(f"{what}: exit 1, stderr: {r.stderr.strip().splitlines()[0][:120]}")


def main():
    swarm.need_tool("mktorrent")
    swarm.need_tool("transmission-show")
    with swarm.Swarm("show") as sw:
        url = "http://127.0.0.1:6969/announce"
        torrent, _, _, ih = sw.make_multi(32 * 1024, announce=url, root="show-me")
        ti = swarm.read_torrent(torrent)
        expected_hash = swarm.transmission_show_hash(torrent)
        check(expected_hash == ih, f"harness hash {ih} differs from transmission-show {expected_hash}")
        r = show(sw, torrent)
        print(r.stdout)
        check(not r.timed_out and r.returncode == 0,
              f"show exited {r.returncode}: {r.stderr.strip()[:300]}")
        out = r.stdout
        check(ti.name in out, f"name {ti.name!r} not printed")
        check(expected_hash in out.lower(), f"info hash {expected_hash} not printed")
        for rel, _ in ti.files:
            check(rel in out, f"file {rel!r} not printed")
        check(url in out, f"tracker {url} not printed")
        log(f"name, hash {expected_hash}, {len(ti.files)} files and the tracker are printed")

        expect_error(sw, sw.path("does-not-exist.torrent"), "a missing file")
        garbage = sw.path("garbage.torrent")
        with open(garbage, "wb") as f:
            f.write(random.Random(7).randbytes(4096))
        expect_error(sw, garbage, "random bytes")
        truncated = sw.path("truncated.torrent")
        with open(torrent, "rb") as f:
            data = f.read()
        with open(truncated, "wb") as f:
            f.write(data[:len(data) // 2])
        expect_error(sw, truncated, "a truncated torrent")

        # A magnet link: what it says, percent-decoded; a bad one is refused.
        link = (f"magnet:?xt=urn:btih:{expected_hash.upper()}&dn=show%20me+now"
                f"&tr={urllib.parse.quote(url, safe='')}&tr=udp%3A%2F%2F127.0.0.1%3A6969"
                "&x.pe=127.0.0.1:6881&x.pe=%5B%3A%3A1%5D%3A7000")
        r = show(sw, link)
        print(r.stdout)
        check(not r.timed_out and r.returncode == 0,
              f"show on a magnet link exited {r.returncode}: {r.stderr.strip()[:300]}")
        for want in (expected_hash, "show me now", url, "udp://127.0.0.1:6969",
                     "127.0.0.1:6881", "[::1]:7000"):
            check(want in r.stdout, f"show on a magnet link did not print {want!r}")
        log("a magnet link's hash, name, trackers and peers are printed")
        expect_error(sw, f"magnet:?xt=urn:btih:{expected_hash[:-1]}", "a magnet link with a short hash")


if __name__ == "__main__":
    swarm.e2e_main(main)
