#!/usr/bin/python3
"""A local swarm to try actorrent on: makes a 64 MiB file and its torrent,
starts opentracker and a libtorrent seeder on 127.0.0.1, and runs actorrent to
download it, then checks every byte. Everything is removed at the end.

    /usr/bin/python3 tools/swarm/demo.py [--size-mib N] [--actorrent PATH]
"""

import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swarm  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mib", type=int, default=64)
    ap.add_argument("--actorrent", help="binary (default: build*/tools/actorrent)")
    args = ap.parse_args()
    exe = args.actorrent or swarm.find_actorrent()
    with swarm.Swarm("demo") as sw:
        port = swarm.free_port()
        announce = f"http://127.0.0.1:{port}/announce"
        torrent, content, path, ih = sw.make_single(args.size_mib << 20, announce=announce)
        sw.start_opentracker([ih], port=port)
        sw.start_lt_seeder(torrent, content)
        out = sw.mkdir("download")
        print(f"$ actorrent {os.path.basename(torrent)} -d {out} --no-dht", flush=True)
        # The user sees actorrent's own output; the run is bounded.
        rc = subprocess.run([exe, torrent, "-d", out, "--no-dht"], timeout=300).returncode
        if rc != 0:
            print(f"demo: actorrent exited with {rc}", file=sys.stderr)
            return 1
        problems = swarm.verify_files(os.path.join(out, os.path.basename(path)), path)
        if problems:
            print("demo: downloaded data differs: " + "; ".join(problems), file=sys.stderr)
            return 1
        print("demo: the downloaded file matches the seeder's byte for byte")
    return 0


if __name__ == "__main__":
    sys.exit(main())
