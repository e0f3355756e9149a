#!/usr/bin/python3
"""How far the simulation harness scales: actorrent-sim with many mock peers
(10,000 by default, actor transport), timed as a whole process.

Prints wall time, CPU seconds and peak memory of actorrent-sim (measured by
/usr/bin/time, so the interpreter's memory is not counted), the simulated time
the download took and the duplicate-byte ratio, median of --runs runs.
Everything runs in one process on simulated time; no network is used."""

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile


def find_sim(path):
    if path:
        return path
    if os.environ.get("ACTORRENT_SIM"):
        return os.environ["ACTORRENT_SIM"]
    here = os.path.dirname(os.path.abspath(__file__))
    found = sorted(glob.glob(os.path.join(here, "..", "..", "build*", "tools", "sim", "actorrent-sim")))
    if not found:
        sys.exit("actorrent-sim not found: build it, or pass --sim PATH")
    return found[0]


def one_run(sim, args, tmp, i):
    out = os.path.join(tmp, f"run{i}.json")
    timing = os.path.join(tmp, f"time{i}.txt")
    argv = ["/usr/bin/time", "-f", "%e %U %S %M", "-o", timing, sim, *args, "--json", out, "--quiet"]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        sys.exit(f"actorrent-sim failed ({p.returncode}):\n{p.stderr}")
    wall, user, system, rss_kib = open(timing).read().split()[-4:]
    with open(out) as f:
        d = json.load(f)
    return {"wall": float(wall), "cpu": float(user) + float(system), "rss_mib": int(rss_kib) / 1024,
            "sim_time": d["sim_time_s"], "dup": d["duplicate_bytes"] / d["torrent_bytes"],
            "completed": d["completed"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sim", help="actorrent-sim binary (default: $ACTORRENT_SIM, else build*/)")
    ap.add_argument("--peers", type=int, default=10000)
    ap.add_argument("--pieces", type=int, default=1000)
    ap.add_argument("--piece-size", type=int, default=65536)
    ap.add_argument("--rate", type=int, default=20480, help="bytes/s per mock peer")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    sim = find_sim(args.sim)
    sim_args = ["--peers", str(args.peers), "--pieces", str(args.pieces), "--piece-size",
                str(args.piece_size), "--rate", str(args.rate), "--seed", str(args.seed)]
    print(f"actorrent-sim {' '.join(sim_args)} (actor transport), {args.runs} runs")
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-sim-") as tmp:
        for i in range(args.runs):
            r = one_run(sim, sim_args, tmp, i)
            runs.append(r)
            print(f"  run {i + 1}: wall {r['wall']:.2f} s, CPU {r['cpu']:.2f} s, peak RSS "
                  f"{r['rss_mib']:.0f} MiB, simulated {r['sim_time']:.1f} s, duplicates "
                  f"{r['dup']:.3%}, completed {r['completed']}")
    med = {k: statistics.median(r[k] for r in runs) for k in ("wall", "cpu", "rss_mib", "sim_time", "dup")}
    print(f"median: wall {med['wall']:.2f} s, CPU {med['cpu']:.2f} s, peak RSS {med['rss_mib']:.0f} MiB, "
          f"simulated {med['sim_time']:.1f} s, duplicates {med['dup']:.3%} "
          f"({med['sim_time'] / med['wall']:.1f}x faster than real time)")
    return 0 if all(r["completed"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
