#!/usr/bin/python3
"""Start-up check benchmark: how fast actorrent hashes data that is already
complete on disk (and in the page cache), against what the machine can hash.

The ceiling is the number of cores times the single-core SHA-1 rate that
`openssl speed -evp sha1` reports for 64 KiB buffers. Each run starts
`actorrent TORRENT -d DIR` on the complete content without resume data (so
every piece is hashed); the client exits once it finds the torrent complete.
Measured per run: the check itself (from the client's "checking N pieces"
line to its "checked:" line, each timestamped as it is read), the whole
process (wall, user + system CPU, peak RSS through os.wait4).
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

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
    ap.add_argument("--timeout", type=float, default=120, help="per run, seconds")
    ap.add_argument("--json", help="also write every run's figures to this file")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    args.actorrent = resolve_actorrent(ap, args.actorrent, "(none)")
    return args


def openssl_sha1_rate() -> float:
    """Single-core SHA-1 bytes/s on 64 KiB buffers, from `openssl speed -mr`."""
    r = subprocess.run(["openssl", "speed", "-mr", "-seconds", "2", "-bytes", "65536",
                        "-evp", "sha1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60)
    m = re.search(rb"^\+F:\d+:sha1:([0-9.]+)", r.stdout, re.M)
    if not m:
        raise swarm.HarnessError("cannot read `openssl speed` output:\n"
                                 + r.stdout.decode(errors="replace"))
    return float(m.group(1))


def timed_check(argv, timeout: float, rss_file: str) -> dict:
    """Runs argv, timestamping its stdout lines; returns the figures."""
    # Peak RSS from /usr/bin/time: a child forked from this interpreter would
    # report the interpreter's own high-water mark.
    argv = [swarm.TIME_BIN, "-f", "%M", "-o", rss_file] + list(argv)
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    marks = {}
    lines = []

    def read():
        for raw in proc.stdout:
            now = time.monotonic()
            line = raw.decode(errors="replace")
            lines.append(line)
            if line.startswith("checking ") and "start" not in marks:
                marks["start"] = now
            elif line.startswith("checked:"):
                marks["end"] = now
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    box = []
    waiter = threading.Thread(target=lambda: box.append(os.wait4(proc.pid, 0)), daemon=True)
    waiter.start()
    waiter.join(timeout)
    if waiter.is_alive():
        proc.send_signal(signal.SIGKILL)
        waiter.join(5)
    wall = time.monotonic() - t0
    reader.join(5)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if not box:
        return {"ok": False, "wall": wall, "cpu": 0.0, "rss": 0.0, "check": float("nan"),
                "out": "".join(lines) + err}
    _, status, ru = box[0]
    proc.returncode = os.waitstatus_to_exitcode(status)
    ok = proc.returncode == 0 and "start" in marks and "end" in marks
    try:
        with open(rss_file) as f:
            rss = int(f.read().split()[-1]) / 1024.0
    except (OSError, ValueError, IndexError):
        rss = float("nan")
    return {"ok": ok, "wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "rss": rss,
            "check": marks["end"] - marks["start"] if ok else float("nan"),
            "out": "".join(lines) + err}


def main() -> int:
    args = parse_args()
    swarm.need_tool("mktorrent")
    swarm.need_tool("openssl")
    swarm.need_tool(swarm.TIME_BIN)
    cores = os.cpu_count() or 1
    rate = openssl_sha1_rate()
    ceiling = cores * rate / MiB
    log(f"openssl SHA-1: {rate / MiB:.0f} MiB/s per core, x{cores} cores = {ceiling:.0f} MiB/s")
    runs = []
    with swarm.Swarm("bench-recheck", keep=args.keep) as sw:
        content = sw.mkdir("content")
        name = "bench.bin"
        swarm.make_content(content, [(name, args.size_mib * MiB)])
        torrent = sw.path("bench.torrent")
        swarm.make_torrent(os.path.join(content, name), torrent, args.piece_kib * 1024)
        # Read once so every run hashes from the page cache.
        swarm.sha256_file(os.path.join(content, name))
        for run in range(args.runs):
            shutil.rmtree(os.path.join(content, ".actorrent"), ignore_errors=True)
            argv = [args.actorrent, torrent, "-d", content, "--bind", "127.0.0.1",
                    "-p", str(swarm.free_port())]
            r = timed_check(argv, args.timeout, sw.path(f"maxrss-{run}"))
            ok = r["ok"] and "was already in" in r["out"]
            r["ok"] = ok
            log(f"run {run + 1}: check {r['check']:.3f}s, process wall {r['wall']:.3f}s "
                f"cpu {r['cpu']:.2f}s rss {r['rss']:.1f}MiB {'ok' if ok else 'FAILED'}")
            if not ok:
                print(swarm.tail(r["out"], 20))
            del r["out"]
            runs.append(r)
    good = [r for r in runs if r["ok"]]
    check = median([r["check"] for r in good])
    speed = args.size_mib / check if good else float("nan")
    print()
    print(f"{args.size_mib} MiB in the page cache, {args.piece_kib} KiB pieces, {cores} cores, "
          f"{args.runs} runs (median of successful runs)")
    print(f"{'':<10} {'ok':>5} {'check s':>8} {'MiB/s':>8} {'wall s':>7} {'CPU s':>6} "
          f"{'max RSS MiB':>12}")
    print(f"{'actorrent':<10} {len(good):>2}/{len(runs):<2} {check:>8.3f} {speed:>8.0f} "
          f"{median([r['wall'] for r in good]):>7.3f} {median([r['cpu'] for r in good]):>6.2f} "
          f"{median([r['rss'] for r in good]):>12.1f}")
    print(f"ceiling: {cores} x {rate / MiB:.0f} MiB/s (openssl speed -evp sha1, 64 KiB) = "
          f"{ceiling:.0f} MiB/s; actorrent reaches {100 * speed / ceiling:.0f}%")
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
