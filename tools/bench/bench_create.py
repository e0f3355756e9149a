#!/usr/bin/python3
"""How fast `actorrent create` hashes, next to mktorrent and transmission-create
on the same file in the same run.

A single file of pseudo-random data (512 MiB by default) is written under /tmp
and read once so it sits in the page cache; then each tool makes a torrent of
it with the same piece size, alternately, --runs times. Each run is one
process measured with os.wait4 (wall time, user + system CPU, peak RSS). The
info-hashes of actorrent and mktorrent must agree (same data, piece size and
tracker). Prints medians, MiB/s, and ratios against mktorrent."""

import argparse
import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(HERE, "..", "swarm"))
import swarm  # noqa: E402
from bench_common import choose_clients, median, resolve_actorrent  # noqa: E402

TOOLS = ["actorrent", "mktorrent", "transmission-create"]
URL = "http://127.0.0.1:1/announce"   # never contacted: it only goes into the file


def argv_for(tool, exe, content, out, piece, threads):
    if tool == "actorrent":
        argv = [exe, "create", content, "-o", out, "-t", URL, "--piece-size", str(piece)]
        return argv + (["--threads", str(threads)] if threads else [])
    if tool == "mktorrent":
        argv = ["mktorrent", "-d", "-l", str(piece.bit_length() - 1), "-a", URL, "-o", out]
        return argv + (["-t", str(threads)] if threads else []) + [content]
    return ["transmission-create", "-s", str(piece // 1024), "-t", URL, "-o", out, content]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--actorrent", help="binary to measure (default: $ACTORRENT_BIN, else build*/)")
    ap.add_argument("--size-mib", type=int, default=512)
    ap.add_argument("--piece-kib", type=int, default=256)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0,
                    help="hashing threads for actorrent and mktorrent (default: each tool's "
                         "own, one per core)")
    ap.add_argument("--fifo", action="store_true",
                    help="run each tool under SCHED_FIFO (chrt -f 10; needs root) so that the "
                         "other work of a busy machine does not decide the wall times")
    ap.add_argument("--only", help=f"subset of {','.join(TOOLS)}")
    ap.add_argument("--json", help="write every run's figures here")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    tools = choose_clients(ap, args, TOOLS, TOOLS)
    exe = resolve_actorrent(ap, args.actorrent, "mktorrent") if "actorrent" in tools else None
    for t in tools:
        if t != "actorrent" and not shutil.which(t):
            ap.error(f"{t} not found (apt-get install {'mktorrent' if t == 'mktorrent' else 'transmission-cli'})")
    piece = args.piece_kib * 1024
    if piece & (piece - 1) or not 16 * 1024 <= piece <= 64 << 20:
        ap.error("--piece-kib must be a power of two from 16 to 65536")

    tmp = tempfile.mkdtemp(prefix="actorrent-bench-create-")
    try:
        swarm.make_content(tmp, [("payload.bin", args.size_mib * swarm.MiB)], seed=11)
        content = os.path.join(tmp, "payload.bin")
        with open(content, "rb") as f:   # into the page cache before the first run
            while f.read(8 * swarm.MiB):
                pass
        runs = {t: [] for t in tools}
        hashes = {}
        failed = False
        for i in range(args.runs):
            for t in tools:
                out = os.path.join(tmp, f"{t}.torrent")
                if os.path.exists(out):
                    os.unlink(out)
                argv = argv_for(t, exe, content, out, piece, args.threads)
                if args.fifo:
                    argv = ["chrt", "-f", "10"] + argv
                r = swarm.run_measured(argv, 600,
                                       os.path.join(tmp, "logs"), f"run{i}-{t}")
                ok = r.returncode == 0 and not r.timed_out and os.path.exists(out)
                if ok:
                    hashes.setdefault(t, set()).add(swarm.info_hash(out))
                else:
                    failed = True
                    print(f"{t} run {i + 1} failed: {swarm.describe(r)}\n{swarm.tail(r.stderr)}")
                runs[t].append({"ok": ok, "wall": r.wall, "cpu": r.cpu, "rss_mib": r.maxrss_mib})
                print(f"run {i + 1} {t:<20} {swarm.describe(r)}", flush=True)
        if "actorrent" in hashes and "mktorrent" in hashes and hashes["actorrent"] != hashes["mktorrent"]:
            print(f"info-hashes differ: actorrent {hashes['actorrent']}, mktorrent {hashes['mktorrent']}")
            failed = True

        print(f"\n{args.size_mib} MiB file in the page cache, {args.piece_kib} KiB pieces, "
              f"{os.cpu_count()} cores, threads: {args.threads or 'each tool default'}, "
              f"{'SCHED_FIFO, ' if args.fifo else ''}load average {os.getloadavg()[0]:.1f}, "
              f"{args.runs} runs each (median of successful runs)")
        print(f"{'tool':<20} {'ok':>4} {'wall s':>8} {'MiB/s':>8} {'CPU s':>7} {'max RSS MiB':>12}"
              f"   per run wall s")
        med = {}
        for t in tools:
            good = [x for x in runs[t] if x["ok"]]
            wall, cpu = median([x["wall"] for x in good]), median([x["cpu"] for x in good])
            rss = max((x["rss_mib"] for x in good), default=float("nan"))
            med[t] = (wall, cpu, rss)
            per = " ".join(f"{x['wall']:.2f}" + ("" if x["ok"] else "!") for x in runs[t])
            print(f"{t:<20} {len(good)}/{len(runs[t])} {wall:8.2f} {args.size_mib / wall:8.1f} "
                  f"{cpu:7.2f} {rss:12.1f}   {per}")
        if "mktorrent" in med:
            mw, mc, _ = med["mktorrent"]
            for t in tools:
                if t != "mktorrent":
                    w, c, _ = med[t]
                    print(f"{t}/mktorrent   wall x{w / mw:.2f}  speed x{mw / w:.2f}  CPU x{c / mc:.2f}")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"size_mib": args.size_mib, "piece_kib": args.piece_kib, "runs": runs},
                          f, indent=1)
        return 1 if failed else 0
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
