#!/usr/bin/python3
"""Resuming: a restarted actorrent continues where it stopped.

A 32 MiB torrent (128 pieces of 256 KiB), seeded by two libtorrent seeders on
the same content, given with -a: one limited to 4 MiB/s (so a download can
be caught half-way) and one unlimited (for the restarts).  What is "on disk"
is measured by hashing the output file against the torrent's piece hashes,
the ground truth a recheck must find.

1. kill -9: actorrent downloads from the limited seeder; once 40-90 % of the
   pieces are intact on disk it is killed with SIGKILL.  Restarted on the
   same directory it must exit 0 with a correct file, having downloaded no
   more than what was missing plus MARGIN_PIECES pieces.
2. damaged resume file: a download stopped by SIGTERM half-way (exit 130, a
   resume file DIR/.actorrent/<infohash>.resume left behind) is copied four
   times; in each copy the resume file is left intact, truncated, replaced by
   random bytes, or replaced by the resume file of another torrent with the
   same file name and size whose download completed (it claims every piece).
   Every restart must end with a correct file, downloading no more than what
   was missing plus MARGIN_PIECES.
3. damage on disk: in a completed download two pieces are overwritten in
   the middle; `actorrent seed` must report fewer pieces in its 'checked'
   line, fetch exactly those again from the seeder, and end with a correct
   file (--seed-time 1, then exit 0)."""

import os
import random
import shutil
import signal
import sys
import time

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import MiB, check, check_run_ok, describe, log  # noqa: E402

SIZE = 32 * MiB
PIECE = 256 * 1024
NUM = SIZE // PIECE
LIMIT = 4 * MiB              # bytes/s of the limited seeder: ~8 s for the torrent
PARTIAL_LO, PARTIAL_HI = 0.40, 0.90
MARGIN_PIECES = 16           # pieces in flight at the stop, end-game duplicates


def wait_partial(h, torrent: str, out: str) -> int:
    """Wait until PARTIAL_LO of the pieces are intact on disk; return how many."""
    deadline = time.monotonic() + 60
    while True:
        check(h.running(), f"actorrent exited ({describe(h.result())}) before it could be "
                           f"stopped half-way; stderr tail:\n{swarm.tail(h.stderr())}")
        n = sum(swarm.pieces_on_disk(torrent, out))
        if n >= PARTIAL_LO * NUM:
            check(n < PARTIAL_HI * NUM,
                  f"{n} of {NUM} pieces already on disk: the limited seeder is not limiting")
            return n
        if time.monotonic() > deadline:
            raise swarm.HarnessError(f"only {n} of {NUM} pieces on disk after 60 s")
        time.sleep(0.2)


def restart(sw, torrent, out, peer, content, what: str, have: int, seed_cmd=False,
            extra=()) -> dict:
    """Run actorrent to completion on `out`; check the file and the bytes downloaded."""
    h = sw.start_actorrent(torrent, out, peers=[peer], seed_cmd=seed_cmd,
                           extra_args=list(extra), what=what)
    r = h.finish(90)
    log(f"{what}: {describe(r)}")
    check_run_ok(r, what)
    problems = swarm.verify_files(os.path.join(out, os.path.basename(content)), content)
    check(not problems, f"{what}: file wrong after the restart: " + "; ".join(problems))
    st = swarm.stats_of(r, what)
    checked = swarm.parse_checked(r.stdout + "\n" + r.stderr, NUM)
    log(f"{what}: {have} of {NUM} pieces were intact on disk; 'checked' line: {checked}; {st}")
    if checked is not None:
        check(checked <= have, f"{what}: the start-up check claims {checked} pieces present but "
                               f"only {have} are intact on disk")
    limit = (NUM - have + MARGIN_PIECES) * PIECE
    check(st["downloaded"] <= limit,
          f"{what}: downloaded {st['downloaded']} bytes, but only {(NUM - have) * PIECE} were "
          f"missing (limit with a margin of {MARGIN_PIECES} pieces: {limit})")
    check(st["downloaded"] >= (NUM - have) * PIECE,
          f"{what}: downloaded={st['downloaded']} is less than the {(NUM - have) * PIECE} "
          f"bytes that were missing")
    st["checked"] = checked
    return st


def kill9_scenario(sw, torrent, content, limited, fast):
    out = sw.mkdir("out-kill9")
    h = sw.start_actorrent(torrent, out, peers=[limited], what="first-run")
    wait_partial(h, torrent, out)
    h.kill9()
    check(not h.running(), "actorrent survived SIGKILL")
    have = sum(swarm.pieces_on_disk(torrent, out))
    log(f"killed with SIGKILL: {have} of {NUM} pieces intact on disk")
    restart(sw, torrent, out, fast, content, "after-kill9", have)
    return out


def resume_file_scenario(sw, torrent, content, ih, limited, fast, other_resume):
    base = sw.mkdir("out-stopped")
    h = sw.start_actorrent(torrent, base, peers=[limited], what="to-stop")
    wait_partial(h, torrent, base)
    r = h.stop(signal.SIGTERM, grace=15)
    log(f"stopped by SIGTERM half-way: {describe(r)}")
    check(not r.timed_out, "actorrent did not exit within 15 s of SIGTERM")
    check(r.returncode == 130, f"interrupted before completion must exit 130, got {r.returncode}")
    swarm.stats_of(r, "stopped download")
    have = sum(swarm.pieces_on_disk(torrent, base))
    resume = os.path.join(base, ".actorrent", ih + ".resume")
    check(os.path.isfile(resume), f"no resume file {resume} after a graceful stop")
    data = open(resume, "rb").read()
    log(f"{have} of {NUM} pieces intact on disk; resume file of {len(data)} bytes")

    variants = {
        "intact": data,
        "truncated": data[:len(data) // 2],
        "garbage": random.Random(7).randbytes(max(len(data), 64)),
        "other-torrent": other_resume,
    }
    for name, blob in variants.items():
        d = sw.path(f"out-resume-{name}")
        shutil.copytree(base, d)      # copy2: sizes and mtimes stay as they were
        path = os.path.join(d, ".actorrent", ih + ".resume")
        with open(path, "wb") as f:
            f.write(blob)
        restart(sw, torrent, d, fast, content, f"resume-{name}", have)


def damage_scenario(sw, torrent, content, fast, out):
    path = os.path.join(out, os.path.basename(content))
    st0 = os.stat(path)
    damaged = [5, NUM // 2]
    with open(path, "r+b") as f:
        for p in damaged:
            f.seek(p * PIECE + PIECE // 2)
            f.write(b"\xa5" * 64)
    # Edited "later": a size+mtime resume check must see the change even when
    # the edit falls within the same second as the last write.
    os.utime(path, ns=(st0.st_atime_ns, max(time.time_ns(), st0.st_mtime_ns + 5 * 10**9)))
    ok = swarm.pieces_on_disk(torrent, out)
    check([i for i, good in enumerate(ok) if not good] == damaged, "the damage did not land")
    log(f"overwrote 64 bytes in pieces {damaged}; `actorrent seed` restarts on it")
    st = restart(sw, torrent, out, fast, content, "seed-after-damage", NUM - len(damaged),
                 seed_cmd=True, extra=["--seed-time", "1"])
    check(st["checked"] is not None, "`actorrent seed` printed no 'checked' line")
    check(st["checked"] == NUM - len(damaged),
          f"'checked' reports {st['checked']} pieces present; {NUM - len(damaged)} are intact")


def main():
    swarm.need_libtorrent()
    with swarm.Swarm("resume") as sw:
        dead = f"http://127.0.0.1:{swarm.free_port()}/announce"
        torrent, save, content, ih = sw.make_single(SIZE, PIECE, announce=dead)
        limited = sw.start_lt_seeder(torrent, save, upload_limit=LIMIT)
        fast = sw.start_lt_seeder(torrent, save)

        # Another torrent with the same file name and size, downloaded completely:
        # its resume file claims every piece of a file shaped like ours.
        other_dir = sw.mkdir("content-other")
        swarm.make_content(other_dir, [(os.path.basename(content), SIZE)], seed=99)
        other_torrent = sw.path("other.torrent")
        other_ih = swarm.make_torrent(os.path.join(other_dir, os.path.basename(content)),
                                      other_torrent, PIECE, announce=dead)
        other_seed = sw.start_lt_seeder(other_torrent, other_dir)
        other_out = sw.mkdir("out-other")
        r = sw.start_actorrent(other_torrent, other_out, peers=[other_seed],
                               what="other-torrent").finish(90)
        check_run_ok(r, "download of the other torrent")
        other_resume_path = os.path.join(other_out, ".actorrent", other_ih + ".resume")
        check(os.path.isfile(other_resume_path),
              f"no resume file {other_resume_path} after a completed download")
        other_resume = open(other_resume_path, "rb").read()

        out = kill9_scenario(sw, torrent, content, limited, fast)
        resume_file_scenario(sw, torrent, content, ih, limited, fast, other_resume)
        damage_scenario(sw, torrent, content, fast, out)


if __name__ == "__main__":
    swarm.e2e_main(main)
