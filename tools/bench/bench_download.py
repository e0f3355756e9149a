#!/usr/bin/python3
"""Download benchmark: actorrent against aria2c and libtorrent.

For each combination of the given sizes, seeder counts and piece lengths, one
single-file torrent is seeded on 127.0.0.1 by libtorrent seeders
(high_performance_seed) found through opentracker.  Each downloader fetches
it N times into a fresh directory, runs alternating between downloaders so
that drift of the machine affects all alike.  For every run the downloader
process is measured with os.wait4: wall time, user+system CPU, peak RSS.
Every download is checked by sha256 (outside the timed part).

Run with /usr/bin/python3 (the interpreter that has python3-libtorrent).
"""

import argparse
import os
import shutil
import sys
import json

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(HERE, "..", "swarm"))
import swarm  # noqa: E402
from bench_common import choose_clients, median, resolve_actorrent  # noqa: E402
from swarm import MiB, log  # noqa: E402

DOWNLOADERS = ("aria2c", "actorrent", "libtorrent")


def int_list(text):
    """'64,512' -> [64, 512]"""
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mib", type=int_list, default=[512],
                    help="torrent size(s), comma-separated (default 512)")
    ap.add_argument("--piece-kib", type=int_list, default=[256],
                    help="piece length(s), comma-separated (default 256)")
    ap.add_argument("--runs", type=int, default=3, help="runs per downloader (default 3)")
    ap.add_argument("--seeders", type=int_list, default=[2],
                    help="libtorrent seeder count(s), comma-separated (default 2)")
    ap.add_argument("--only", help="comma-separated subset of: " + ", ".join(DOWNLOADERS)
                    + " (run in that order)")
    ap.add_argument("--with-libtorrent", action="store_true",
                    help="also run a python libtorrent downloader for reference")
    ap.add_argument("--compare", action="store_true",
                    help="all three, alternating actorrent, libtorrent, aria2c (same as "
                         "--only actorrent,libtorrent,aria2c)")
    ap.add_argument("--actorrent", help="actorrent binary (default: $ACTORRENT_BIN or build*/tools/)")
    ap.add_argument("--direct", action="store_true",
                    help="give actorrent the seeders with -a as well as the tracker")
    ap.add_argument("--timeout", type=float, default=300, help="per download, seconds")
    ap.add_argument("--json", help="also write every run's figures to this file")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    if args.compare and not args.only:
        args.only = "actorrent,libtorrent,aria2c"
    args.chosen = choose_clients(ap, args, DOWNLOADERS, ["aria2c", "actorrent"] + (["libtorrent"] if args.with_libtorrent else []))
    if "actorrent" in args.chosen:
        args.actorrent = resolve_actorrent(ap, args.actorrent, "aria2c")
    return args


def main() -> int:
    args = parse_args()
    swarm.need_libtorrent()
    swarm.need_tool("opentracker")
    swarm.need_tool("mktorrent")
    swarm.EXACT_RSS = True  # peak memory of the client itself, not of this interpreter
    if "aria2c" in args.chosen:
        swarm.need_tool("aria2c")
    failed = 0
    report = []
    for size_mib in args.size_mib:
        for seeders in args.seeders:
            for piece_kib in args.piece_kib:
                f, entry = run_config(args, size_mib, seeders, piece_kib)
                failed += f
                report.append(entry)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    return 1 if failed else 0


def run_config(args, size_mib, seeders_n, piece_kib):
    """Downloads of one torrent (size, seeders, piece length): prints the table,
    returns (failed runs, figures)."""
    size = size_mib * MiB
    results = {d: [] for d in args.chosen}
    with swarm.Swarm("bench", keep=args.keep) as sw:
        tracker_port = swarm.free_port()
        url = f"http://127.0.0.1:{tracker_port}/announce"
        log(f"making {size_mib} MiB of content and a torrent ({piece_kib} KiB pieces)")
        content_dir = sw.mkdir("content")
        name = "bench.bin"
        digest = swarm.make_content(content_dir, [(name, size)])[name]
        torrent = sw.path("bench.torrent")
        ih = swarm.make_torrent(os.path.join(content_dir, name), torrent,
                                piece_kib * 1024, announce=url)
        sw.start_opentracker([ih], port=tracker_port)
        seeders = [sw.start_lt_seeder(torrent, content_dir, timeout=300)
                   for _ in range(seeders_n)]
        for run in range(args.runs):
            for d in args.chosen:
                out = sw.mkdir(f"out-{d}-{run}")
                if d == "aria2c":
                    r = sw.run_aria2c(torrent, out, timeout=args.timeout)
                elif d == "actorrent":
                    r = sw.run_actorrent(torrent, out, peers=seeders if args.direct else (),
                                         timeout=args.timeout, binary=args.actorrent)
                else:
                    r = sw.run_lt_download(torrent, out, timeout=args.timeout)
                got = os.path.join(out, name)
                ok = (r.returncode == 0 and not r.timed_out and os.path.isfile(got)
                      and swarm.sha256_file(got) == digest)
                log(f"{d} run {run + 1}: {swarm.describe(r)} {'ok' if ok else 'FAILED'}")
                if not ok:
                    print(swarm.tail(r.stderr, 20))
                results[d].append({"wall": r.wall, "cpu": r.cpu, "rss": r.maxrss_mib, "ok": ok,
                                   "rc": r.returncode})
                shutil.rmtree(out, ignore_errors=True)

    print()
    print(f"{size_mib} MiB, {piece_kib} KiB pieces, {seeders_n} libtorrent seeders "
          f"via opentracker, 127.0.0.1, {args.runs} runs each (median of successful runs)")
    print(f"{'downloader':<12} {'ok':>5} {'wall s':>8} {'MiB/s':>8} {'CPU s':>7} {'max RSS MiB':>12}"
          f"   per run wall s")
    med = {}
    for d in args.chosen:
        good = [x for x in results[d] if x["ok"]]
        m = {k: median([x[k] for x in good]) for k in ("wall", "cpu", "rss")}
        med[d] = m
        rate = size_mib / m["wall"] if good else float("nan")
        walls = " ".join(f"{x['wall']:.2f}{'' if x['ok'] else '!'}" for x in results[d])
        print(f"{d:<12} {len(good):>2}/{len(results[d]):<2} {m['wall']:>8.2f} {rate:>8.1f} "
              f"{m['cpu']:>7.2f} {m['rss']:>12.1f}   {walls}")
    for other in ("libtorrent", "aria2c"):
        if "actorrent" in med and other in med:
            a, b = med["actorrent"], med[other]

            def ratio(k):
                return a[k] / b[k] if b[k] > 0 else float("nan")
            print(f"{'actorrent/' + other:<21} wall x{ratio('wall'):.2f}  "
                  f"CPU x{ratio('cpu'):.2f}  RSS x{ratio('rss'):.2f}")
    print()
    failed = sum(1 for d in args.chosen for x in results[d] if not x["ok"])
    return failed, {"size_mib": size_mib, "piece_kib": piece_kib, "seeders": seeders_n,
                    "runs": results, "median": med}


if __name__ == "__main__":
    try:
        sys.exit(main())
    except swarm.Skip as e:
        print(f"cannot run: {e}", file=sys.stderr)
        sys.exit(2)
