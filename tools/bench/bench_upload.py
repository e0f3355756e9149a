#!/usr/bin/python3
"""Upload benchmark: actorrent seeding to aria2c (or libtorrent), next to
libtorrent seeding the same torrent to the same downloader.

One single-file torrent, two seeders on 127.0.0.1 started once and kept for
the whole run: `actorrent seed` and a libtorrent seeder
(lt.high_performance_seed()).  Each has its own opentracker, and aria2c is
given a .torrent naming that seeder's tracker (same info dictionary, so the
same info-hash), so each download has exactly one source.  Runs alternate
between the seeders.  Measured per run: aria2c's wall time (spawn to exit,
including its ~3 s of start-up and one-second ticks) and CPU (os.wait4); the
seeder's CPU seconds as the delta of utime+stime in /proc/PID/stat around
the download, and its peak RSS (VmHWM in /proc/PID/status) after it.  Every
download is checked by sha256 (not timed).

Run with /usr/bin/python3 (the interpreter that has python3-libtorrent).
"""

import argparse
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(HERE, "..", "swarm"))
import swarm  # noqa: E402
from bench_common import choose_clients, median, resolve_actorrent  # noqa: E402
from swarm import MiB, log  # noqa: E402

SEEDERS = ("actorrent", "libtorrent")


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mib", type=int, default=512, help="torrent size (default 512)")
    ap.add_argument("--piece-kib", type=int, default=256, help="piece length (default 256)")
    ap.add_argument("--runs", type=int, default=3, help="downloads per seeder (default 3)")
    ap.add_argument("--only", help="comma-separated subset of: " + ", ".join(SEEDERS))
    ap.add_argument("--downloader", choices=("aria2c", "libtorrent"), default="aria2c",
                    help="the client that downloads from each seeder (default aria2c)")
    ap.add_argument("--actorrent", help="actorrent binary (default: $ACTORRENT_BIN or build*/tools/)")
    ap.add_argument("--timeout", type=float, default=300, help="per download, seconds")
    ap.add_argument("--json", help="also write every run's figures to this file")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    args.chosen = choose_clients(ap, args, SEEDERS, SEEDERS)
    if "actorrent" in args.chosen:
        args.actorrent = resolve_actorrent(ap, args.actorrent, "libtorrent")
    return args


def main() -> int:
    args = parse_args()
    if "libtorrent" in args.chosen:
        swarm.need_libtorrent()
    if args.downloader == "libtorrent":
        swarm.need_libtorrent()
    for tool in ("opentracker", "mktorrent", "aria2c"):
        swarm.need_tool(tool)
    size = args.size_mib * MiB
    piece = args.piece_kib * 1024
    results = {d: [] for d in args.chosen}
    with swarm.Swarm("bench-upload", keep=args.keep) as sw:
        log(f"making {args.size_mib} MiB of content ({args.piece_kib} KiB pieces)")
        content_dir = sw.mkdir("content")
        name = "bench.bin"
        digest = swarm.make_content(content_dir, [(name, size)])[name]
        seeders = {}                      # kind -> (torrent, pid)
        for kind in args.chosen:
            tracker_port = swarm.free_port()
            url = f"http://127.0.0.1:{tracker_port}/announce"
            torrent = sw.path(f"bench-{kind}.torrent")
            ih = swarm.make_torrent(os.path.join(content_dir, name), torrent, piece,
                                    announce=url, name=name)
            sw.start_opentracker([ih], port=tracker_port)
            if kind == "actorrent":
                port = sw.start_actorrent_seeder(torrent, content_dir, binary=args.actorrent,
                                                 timeout=300)
                pid = sw.actorrent_at(port).pid
            else:
                port = sw.start_lt_seeder(torrent, content_dir, timeout=300)
                pid = sw.find_proc(f"lt_seed-{port}").pid
            sw.wait_tracker_lists(url, ih, [port])
            seeders[kind] = (torrent, pid)
            log(f"{kind} seeder pid {pid} on :{port}, tracker {url}")

        for run in range(args.runs):
            for kind in args.chosen:
                torrent, pid = seeders[kind]
                out = sw.mkdir(f"out-{kind}-{run}")
                try:
                    cpu0 = swarm.proc_cpu_seconds(pid)
                except OSError:
                    raise swarm.HarnessError(f"the {kind} seeder (pid {pid}) is gone")
                if args.downloader == "aria2c":
                    r = sw.run_aria2c(torrent, out, timeout=args.timeout)
                else:
                    r = sw.run_lt_download(torrent, out, timeout=args.timeout)
                try:
                    seeder_cpu = swarm.proc_cpu_seconds(pid) - cpu0
                    hwm = swarm.proc_vm_hwm_mib(pid)
                except OSError:
                    seeder_cpu, hwm = float("nan"), float("nan")
                got = os.path.join(out, name)
                ok = (r.returncode == 0 and not r.timed_out and os.path.isfile(got)
                      and swarm.sha256_file(got) == digest)
                log(f"{kind} run {run + 1}: {args.downloader} {swarm.describe(r)}; seeder cpu="
                    f"{seeder_cpu:.2f}s hwm={hwm:.0f}MiB {'ok' if ok else 'FAILED'}")
                if not ok:
                    print(swarm.tail(r.stderr, 20))
                results[kind].append({"wall": r.wall, "aria2c_cpu": r.cpu,
                                      "seeder_cpu": seeder_cpu, "seeder_hwm": hwm, "ok": ok,
                                      "rc": r.returncode})
                shutil.rmtree(out, ignore_errors=True)

    print()
    print(f"{args.size_mib} MiB, {args.piece_kib} KiB pieces, one seeder per download via its "
          f"own opentracker, {args.downloader} downloading, 127.0.0.1, {args.runs} runs each "
          f"(median of successful runs; RSS: the seeder's peak)")
    print(f"{'seeder':<11} {'ok':>5} {'dl wall s':>9} {'MiB/s':>7} {'dl CPU s':>10} "
          f"{'seeder CPU s':>12} {'seeder RSS MiB':>14}   per run wall s")
    med = {}
    for kind in args.chosen:
        good = [x for x in results[kind] if x["ok"]]
        m = {k: median([x[k] for x in good])
             for k in ("wall", "aria2c_cpu", "seeder_cpu")}
        m["seeder_hwm"] = max((x["seeder_hwm"] for x in good), default=float("nan"))
        med[kind] = m
        rate = args.size_mib / m["wall"] if good else float("nan")
        walls = " ".join(f"{x['wall']:.2f}{'' if x['ok'] else '!'}" for x in results[kind])
        print(f"{kind:<11} {len(good):>2}/{len(results[kind]):<2} {m['wall']:>9.2f} {rate:>7.1f} "
              f"{m['aria2c_cpu']:>10.2f} {m['seeder_cpu']:>12.2f} {m['seeder_hwm']:>14.1f}   "
              f"{walls}")
    if "actorrent" in med and "libtorrent" in med:
        a, b = med["actorrent"], med["libtorrent"]

        def ratio(k):
            return a[k] / b[k] if b[k] > 0 else float("nan")
        print(f"{'actorrent/libtorrent':<22} wall x{ratio('wall'):.2f}  "
              f"seeder CPU x{ratio('seeder_cpu'):.2f}  seeder RSS x{ratio('seeder_hwm'):.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"size_mib": args.size_mib, "piece_kib": args.piece_kib,
                       "downloader": args.downloader,
                       "runs": results, "median": med}, f, indent=1)
    failed = sum(1 for d in args.chosen for x in results[d] if not x["ok"])
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except swarm.Skip as e:
        print(f"cannot run: {e}", file=sys.stderr)
        sys.exit(2)
