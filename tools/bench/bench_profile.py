#!/usr/bin/python3
"""Where actorrent's CPU goes during a download: callgrind instruction counts.

One libtorrent seeder (high_performance_seed) on 127.0.0.1 serves a
single-file torrent; actorrent downloads it once under
`valgrind --tool=callgrind`, given the seeder with -a (no tracker, so the
run does the same work each time). Instruction counts do not depend on the
machine's load, unlike wall or CPU time, so two builds can be compared on a
busy machine. Prints the total and the top functions, inclusive and
exclusive (callgrind_annotate), and keeps the callgrind output file.
"""

import argparse
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(HERE, "..", "swarm"))
import swarm  # noqa: E402
from bench_common import resolve_actorrent  # noqa: E402
from swarm import MiB, log  # noqa: E402


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mib", type=int, default=64, help="torrent size (default 64)")
    ap.add_argument("--piece-kib", type=int, default=256, help="piece length (default 256)")
    ap.add_argument("--actorrent", help="actorrent binary (default: $ACTORRENT_BIN or build*/tools/)")
    ap.add_argument("--out", default="callgrind.out.actorrent",
                    help="callgrind output file (default callgrind.out.actorrent)")
    ap.add_argument("--top", type=int, default=15, help="functions listed (default 15)")
    ap.add_argument("--timeout", type=float, default=900, help="for the download, seconds")
    args = ap.parse_args()
    args.actorrent = resolve_actorrent(ap, args.actorrent, "(none)")
    return args


def annotate(out_file: str, inclusive: bool, top: int) -> str:
    """The top functions; inclusive counts only for actorrent's own code (the
    thread and CAF dispatch frames above it say nothing)."""
    r = subprocess.run(["callgrind_annotate", f"--inclusive={'yes' if inclusive else 'no'}",
                        f"--threshold=100", out_file], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=300)
    lines = r.stdout.decode(errors="replace").splitlines()
    # The summary line ("... PROGRAM TOTALS") then one line per function.
    keep, started = [], False
    for line in lines:
        if "PROGRAM TOTALS" in line:
            keep.append(line.strip())
            continue
        if line.startswith("--") and keep:
            started = True
            continue
        if started and line.strip() and (not inclusive or "actorrent::" in line):
            keep.append(line.strip()[:160])
        if len(keep) > top:
            break
    return "\n".join(keep)


def main() -> int:
    args = parse_args()
    swarm.need_libtorrent()
    for tool in ("mktorrent", "valgrind", "callgrind_annotate"):
        swarm.need_tool(tool)
    out_file = os.path.abspath(args.out)
    with swarm.Swarm("bench-profile") as sw:
        content = sw.mkdir("content")
        name = "bench.bin"
        digest = swarm.make_content(content, [(name, args.size_mib * MiB)])[name]
        torrent = sw.path("bench.torrent")
        swarm.make_torrent(os.path.join(content, name), torrent, args.piece_kib * 1024)
        port = sw.start_lt_seeder(torrent, content, timeout=300)
        dest = sw.mkdir("out")
        argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}",
                args.actorrent, torrent, "-d", dest, "--bind", "127.0.0.1",
                "-p", str(swarm.free_port()), "--no-dht", "-a", f"127.0.0.1:{port}"]
        log("run: " + " ".join(argv))
        r = swarm.run_measured(argv, args.timeout, sw.log_dir, "callgrind")
        got = os.path.join(dest, name)
        ok = (r.returncode == 0 and not r.timed_out and os.path.isfile(got)
              and swarm.sha256_file(got) == digest)
        log(f"download under callgrind: {swarm.describe(r)} {'ok' if ok else 'FAILED'}")
        if not ok:
            print(swarm.tail(r.stderr, 30))
            return 1
        shutil.rmtree(dest, ignore_errors=True)
    print()
    print(f"{args.size_mib} MiB, {args.piece_kib} KiB pieces, one libtorrent seeder (-a), "
          f"callgrind output {out_file}")
    print("\ninclusive:")
    print(annotate(out_file, True, args.top))
    print("\nexclusive:")
    print(annotate(out_file, False, args.top))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except swarm.Skip as e:
        print(f"cannot run: {e}", file=sys.stderr)
        sys.exit(2)
