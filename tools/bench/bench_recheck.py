#!/usr/bin/python3
"""Start-up check benchmark: how fast actorrent hashes data that is already
complete on disk (and in the page cache), against what the machine can hash.

The ceiling is the number of cores times the single-core SHA-1 rate that
`openssl speed -evp sha1` reports for 64 KiB buffers. Each run starts
`actorrent TORRENT -d DIR` on the complete content without resume data (so
every piece is hashed); the client exits once it finds the torrent complete.
Measured per run: the whole process (wall from spawn to exit, user + system
CPU, peak RSS from /usr/bin/time), so the speed shown includes start-up and
exit (about 20 ms here) and is a lower bound of the check's own.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(HERE, "..", "swarm"))
import swarm  # noqa: E402
from bench_common import median, resolve_actorrent  # noqa: E402
from swarm import MiB, log  # noqa: E402


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mib", type=int, default=512, help="torrent size (default 512)")
    ap.add_argument("--piece-kib", type=int, default=256, help="piece length (default 256)")
    ap.add_argument("--runs", type=int, default=3, help="checks (default 3)")
    ap.add_argument("--actorrent", help="actorrent binary (default: $ACTORRENT_BIN or build*/tools/)")
    ap.add_argument("--fifo", action="store_true",
                    help="run actorrent under SCHED_FIFO (chrt -f 10; needs root) so that a busy "
                         "machine's scheduler does not decide the figure")
    ap.add_argument("--timeout", type=float, default=120, help="per run, seconds")
    ap.add_argument("--json", help="also write every run's figures to this file")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    args.actorrent = resolve_actorrent(ap, args.actorrent, "(none)")
    return args


def openssl_sha1_rate(fifo: bool) -> float:
    """Single-core SHA-1 bytes/s on 64 KiB buffers, from `openssl speed -mr`."""
    r = subprocess.run((["chrt", "-f", "10"] if fifo else []) + ["openssl", "speed", "-mr", "-seconds", "2", "-bytes", "65536",
                        "-evp", "sha1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60)
    m = re.search(rb"^\+F:\d+:sha1:([0-9.]+)", r.stdout, re.M)
    if not m:
        raise swarm.HarnessError("cannot read `openssl speed` output:\n"
                                 + r.stdout.decode(errors="replace"))
    return float(m.group(1))


def main() -> int:
    args = parse_args()
    swarm.need_tool("mktorrent")
    swarm.need_tool("openssl")
    swarm.need_tool(swarm.TIME_BIN)
    swarm.EXACT_RSS = True  # peak memory of the client itself, not of this interpreter
    if args.fifo:
        swarm.need_tool("chrt")
    cores = os.cpu_count() or 1
    rate = openssl_sha1_rate(args.fifo)
    ceiling = cores * rate / MiB
    log(f"openssl SHA-1: {rate / MiB:.0f} MiB/s per core, x{cores} cores = {ceiling:.0f} MiB/s")
    runs = []
    with swarm.Swarm("bench-recheck", keep=args.keep) as sw:
        content = sw.mkdir("content")
        name = "bench.bin"
        swarm.make_content(content, [(name, args.size_mib * MiB)])
        torrent = sw.path("bench.torrent")
        swarm.make_torrent(os.path.join(content, name), torrent, args.piece_kib * 1024)
        pieces = len(swarm.piece_hashes(torrent))
        # Read once so every run hashes from the page cache.
        swarm.sha256_file(os.path.join(content, name))
        for run in range(args.runs):
            shutil.rmtree(os.path.join(content, ".actorrent"), ignore_errors=True)
            argv = [args.actorrent, torrent, "-d", content, "--bind", "127.0.0.1",
                    "-p", str(swarm.free_port()), "--no-dht"]
            if args.fifo:
                argv = ["chrt", "-f", "10"] + argv
            m = swarm.run_measured(argv, args.timeout, sw.log_dir, f"recheck-{run}")
            ok = (m.returncode == 0 and not m.timed_out and "was already in" in m.stdout
                  and f"checking {pieces} pieces" in m.stdout)
            log(f"run {run + 1}: {swarm.describe(m)} {'ok' if ok else 'FAILED'}")
            if not ok:
                print(swarm.tail(m.stdout + m.stderr, 20))
            runs.append({"ok": ok, "wall": m.wall, "cpu": m.cpu, "rss": m.maxrss_mib})
    good = [r for r in runs if r["ok"]]
    wall = median([r["wall"] for r in good])
    speed = args.size_mib / wall if good else float("nan")
    print()
    print(f"{args.size_mib} MiB in the page cache, {args.piece_kib} KiB pieces, {cores} cores, "
          f"{'SCHED_FIFO, ' if args.fifo else ''}load average {os.getloadavg()[0]:.1f}, "
          f"{args.runs} runs (median of successful runs)")
    print(f"{'':<10} {'ok':>5} {'wall s':>7} {'MiB/s':>8} {'CPU s':>6} {'max RSS MiB':>12}"
          f"   per run wall s")
    walls = " ".join(f"{r['wall']:.3f}{'' if r['ok'] else '!'}" for r in runs)
    print(f"{'actorrent':<10} {len(good):>2}/{len(runs):<2} {wall:>7.3f} {speed:>8.0f} "
          f"{median([r['cpu'] for r in good]):>6.2f} {median([r['rss'] for r in good]):>12.1f}"
          f"   {walls}")
    print(f"ceiling: {cores} x {rate / MiB:.0f} MiB/s (openssl speed -evp sha1, 64 KiB) = "
          f"{ceiling:.0f} MiB/s; actorrent reaches {100 * speed / ceiling:.0f}% "
          f"(whole process, start and exit included)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"size_mib": args.size_mib, "piece_kib": args.piece_kib, "cores": cores,
                       "sha1_rate": rate, "runs": runs}, f, indent=1)
    return 0 if len(good) == len(runs) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except swarm.Skip as e:
        print(f"cannot run: {e}", file=sys.stderr)
        sys.exit(2)
