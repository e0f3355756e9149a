#!/usr/bin/python3
"""A disk that fills up during a download, then gets space again.

The download directory is a small tmpfs (6 MiB) and the torrent holds 16 MiB
(64 pieces of 256 KiB) from a libtorrent seeder, so writes start to fail with
ENOSPC part-way through, the way a real disk fills up (the file itself is
sized sparsely at once, so the failure comes at a data write).

1. actorrent must exit 1 with one line naming the file and saying the disk is
   full; a resume file, if one could be written, claims only pieces intact on
   disk.
2. The tmpfs is then grown to 64 MiB (space freed) and the same command run
   again: it must exit 0 with the right file, having downloaded what was
   missing on disk and no verified piece again (at most one piece more, the
   margin for counting).

Needs root to mount the tmpfs: exits 77 (SKIP) where mounting is not allowed.
"""

import os
import subprocess
import sys

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import MiB, check, check_run_ok, describe, log  # noqa: E402

SIZE = 16 * MiB
PIECE = 256 * 1024
NUM = SIZE // PIECE


def mount_tmpfs(path: str, size: str) -> None:
    if os.geteuid() != 0:
        raise swarm.Skip("mounting a tmpfs needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755",
                        "actorrent-test", path], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=20)
    if r.returncode != 0:
        raise swarm.Skip(f"mount -t tmpfs is not permitted here: "
                         f"{r.stdout.decode(errors='replace').strip()}")


def remount(path: str, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", path], check=True, timeout=20)


def umount(path: str) -> None:
    r = subprocess.run(["umount", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=20)
    if r.returncode != 0:
        # Something still holds it open: detach it so the temp dir can go.
        subprocess.run(["umount", "-l", path], timeout=20)


def main():
    swarm.need_libtorrent()
    with swarm.Swarm("diskfull") as sw:
        torrent, save, content, ih = sw.make_single(SIZE, PIECE,
                                                    announce="http://127.0.0.1:1/announce")
        seeder = sw.start_lt_seeder(torrent, save)
        out = sw.mkdir("small-disk")
        mount_tmpfs(out, "6m")
        try:
            h = sw.start_actorrent(torrent, out, peers=[seeder], what="disk-fills")
            r = h.finish(90)
            log(f"full disk: {describe(r)}; stderr tail:\n{swarm.tail(r.stderr, 5)}")
            check(not r.timed_out, "actorrent did not stop when the disk was full")
            check(r.returncode == 1, f"expected exit 1 on a full disk, got {r.returncode}")
            path = os.path.join(out, "payload.bin")
            lines = [ln for ln in r.stderr.splitlines() if path in ln]
            check(lines, f"no error line names {path}")
            check(any("No space left on device" in ln and "disk_full" in ln for ln in lines),
                  "the error naming the file does not say the disk is full")
            swarm.check_resume_truthful(torrent, out, "after the full disk")
            have = sum(swarm.pieces_on_disk(torrent, out))
            log(f"{have} of {NUM} pieces intact on the full disk")
            check(0 < have < NUM, f"{have} of {NUM} pieces on disk: the disk did not fill part-way")

            remount(out, "64m")
            log("tmpfs grown to 64 MiB; the same command again")
            h = sw.start_actorrent(torrent, out, peers=[seeder], what="space-freed")
            r = h.finish(90)
            log(f"after freeing space: {describe(r)}")
            check_run_ok(r, "the download after freeing space")
            problems = swarm.verify_files(path, content)
            check(not problems, "after freeing space: " + "; ".join(problems))
            st = swarm.stats_of(r, "after freeing space")
            log(f"second run downloaded {st['downloaded']} bytes; "
                f"{(NUM - have) * PIECE} were missing ({NUM - have} pieces)")
            swarm.check_fetched_missing(st, (NUM - have) * PIECE, PIECE, "after freeing space")
        finally:
            for h in sw.handles:      # nothing of ours may keep the mount busy
                if h.running():
                    h.kill9()
                    h.wait(10)
            umount(out)


if __name__ == "__main__":
    swarm.e2e_main(main)
