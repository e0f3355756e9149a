#!/usr/bin/python3
"""actorrent stops with a clear message and the right exit status when it
cannot go on, and loses nothing it had verified:

- a full disk (the file size limit of the process, RLIMIT_FSIZE, makes writes
  fail with EFBIG): exit 1, the message names the file, and the resume data
  claims only pieces that are really on disk; the same command without the
  limit completes, downloading only what was missing;
- no usable peer (one refuses, one accepts and never answers): exit 3 once
  the stall timeout passed, well before the test's own bound;
- a torrent file that is garbage, or missing: exit 1 with the file named;
- a download directory that cannot be created: exit 1;
- a download directory where a directory the torrent uses is a symlink to a
  directory outside (DIR/sub -> OUTSIDE, or deeper, DIR/sub/nested): exit 1
  with the symlink named, and nothing appears in OUTSIDE; where the resume
  directory DIR/.actorrent is such a symlink, the download completes and
  still nothing appears in OUTSIDE.
"""

import os
import resource
import subprocess
import sys
import time

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import MiB, check, log  # noqa: E402


def run(argv, timeout, limit_fsize=None):
    """Runs argv; returns (returncode, stdout, stderr, seconds)."""
    def preexec():
        if limit_fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_fsize, limit_fsize))
    t0 = time.monotonic()
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                       preexec_fn=preexec, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"), \
        time.monotonic() - t0


def disk_full(sw, exe):
    piece = 256 * 1024
    torrent, save, content, ih = sw.make_single(16 * MiB, piece,
                                                announce="http://127.0.0.1:1/announce")
    seeder = sw.start_lt_seeder(torrent, save)
    out = sw.mkdir("out-full")
    argv = [exe, torrent, "-d", out, "-a", f"127.0.0.1:{seeder}", "--bind", "127.0.0.1", "-p", "0",
            "--no-dht"]
    limit = 5 * MiB + 12345  # the file can grow to about 5 MiB, then writes fail
    rc, so, se, secs = run(argv, 60, limit_fsize=limit)
    log(f"full disk: rc={rc} in {secs:.1f}s; stderr: {se.strip()[-300:]}")
    check(rc == 1, f"expected exit 1 on a full disk, got {rc}")
    check(os.path.join(out, "payload.bin") in se, "the error does not name the file")
    check("disk_full" in se or "too large" in se.lower() or "no space" in se.lower(),
          "the error does not say the disk is full")
    swarm.check_resume_truthful(torrent, out, "after the full disk")
    have = sum(swarm.pieces_on_disk(torrent, out))
    num = swarm.read_torrent(torrent).num_pieces

    # Space freed (no limit): the same command completes, fetching only what is missing.
    rc, so, se, secs = run(argv, 90)
    log(f"same command with space again: rc={rc} in {secs:.1f}s; {so.strip().splitlines()[-1:]}")
    check(rc == 0, f"the download did not complete once space was freed: rc={rc}; {se[-300:]}")
    problems = swarm.verify_files(os.path.join(out, "payload.bin"), content)
    check(not problems, "after freeing space: " + "; ".join(problems))
    st = swarm.parse_stats(so)
    check(st is not None, "no stats line after freeing space")
    log(f"{have} of {num} pieces were on disk; the second run downloaded {st['downloaded']} bytes "
        f"({(num - have) * piece} missing)")
    swarm.check_fetched_missing(st, (num - have) * piece, piece, "after freeing space")


def stalled(sw, exe):
    torrent, save, content, ih = sw.make_single(4 * MiB, 256 * 1024,
                                                announce="http://127.0.0.1:1/announce",
                                                name="stall.bin")
    refuse, _ = sw.start_mock("refuse", torrent)
    silent, _ = sw.start_mock("silent", torrent)
    out = sw.mkdir("out-stall")
    rc, so, se, secs = run([exe, torrent, "-d", out, "-a", f"127.0.0.1:{refuse}",
                            "-a", f"127.0.0.1:{silent}", "--stall-timeout", "4",
                            "--bind", "127.0.0.1", "-p", "0", "--no-dht"], 60)
    log(f"no usable peer: rc={rc} in {secs:.1f}s; stderr: {se.strip()[-200:]}")
    check(rc == 3, f"expected exit 3 when no data arrives, got {rc}")
    check("no data for 4 s" in se, "the message does not say why it gave up")
    check(secs < 30, f"giving up took {secs:.1f}s")
    check(so.strip().splitlines()[-1].startswith("stats: downloaded=0"),
          "the last line is not the stats line")


def bad_input(sw, exe):
    garbage = sw.path("garbage.torrent")
    with open(garbage, "wb") as f:
        f.write(b"d8:announce5:hello4:infoi3ee")
    out = sw.mkdir("out-bad")
    rc, so, se, _ = run([exe, garbage, "-d", out, "--no-dht"], 20)
    log(f"garbage torrent: rc={rc}; stderr: {se.strip()}")
    check(rc == 1 and "garbage.torrent" in se, "a broken torrent file is not reported as such")
    missing = sw.path("does-not-exist.torrent")
    rc, so, se, _ = run([exe, missing, "-d", out, "--no-dht"], 20)
    log(f"missing torrent: rc={rc}; stderr: {se.strip()}")
    check(rc == 1 and "does-not-exist.torrent" in se, "a missing torrent file is not reported")
    # The download directory lies below a regular file: it cannot exist.
    torrent, _, _, _ = sw.make_single(1 * MiB, 256 * 1024, name="small.bin")
    blocker = sw.path("a-file")
    open(blocker, "w").close()
    rc, so, se, _ = run([exe, torrent, "-d", os.path.join(blocker, "sub"), "--bind", "127.0.0.1",
                         "-p", "0", "--no-dht"], 20)
    log(f"unusable directory: rc={rc}; stderr: {se.strip()}")
    check(rc == 1 and "a-file" in se, "an unusable download directory is not reported")


def symlink_escape(sw, exe):
    torrent, save, root, ih = sw.make_multi(root="sub", announce="http://127.0.0.1:1/announce")
    seeder = sw.start_lt_seeder(torrent, save)
    outside = sw.mkdir("outside")

    def download(out):
        return run([exe, torrent, "-d", out, "-a", f"127.0.0.1:{seeder}", "--bind", "127.0.0.1",
                    "-p", "0", "--no-dht"], 90)

    def nothing_outside(what):
        found = [os.path.join(d, f) for d, _, fs in os.walk(outside) for f in fs + _]
        check(not found, f"{what}: written outside the download directory: {found[:5]}")

    for link in ["sub", os.path.join("sub", "nested")]:
        out = sw.mkdir("out-link-" + link.replace(os.sep, "-"))
        os.makedirs(os.path.dirname(os.path.join(out, link)), exist_ok=True)
        os.symlink(outside, os.path.join(out, link))
        rc, so, se, _ = download(out)
        log(f"DIR/{link} -> {outside}: rc={rc}; stderr: {se.strip()[-300:]}")
        check(rc == 1, f"DIR/{link} a symlink: expected exit 1, got {rc}")
        check(os.path.join(out, link) in se and "symlink" in se,
              f"DIR/{link} a symlink: the error does not name the symlink")
        nothing_outside(f"DIR/{link} a symlink")

    out = sw.mkdir("out-link-resume")
    os.symlink(outside, os.path.join(out, ".actorrent"))
    rc, so, se, _ = download(out)
    log(f"DIR/.actorrent -> {outside}: rc={rc}; stderr: {se.strip()[-300:]}")
    check(rc == 0, f"DIR/.actorrent a symlink: the download should complete, got exit {rc}")
    problems = swarm.verify_files(os.path.join(out, "sub"), root)
    check(not problems, "DIR/.actorrent a symlink: " + "; ".join(problems))
    nothing_outside("DIR/.actorrent a symlink")


def main():
    swarm.need_libtorrent()
    exe = swarm.find_actorrent()
    with swarm.Swarm("failures") as sw:
        bad_input(sw, exe)
        symlink_escape(sw, exe)
        stalled(sw, exe)
        disk_full(sw, exe)


if __name__ == "__main__":
    swarm.e2e_main(main)
