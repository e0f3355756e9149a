#!/usr/bin/python3
"""Two torrents in one command, sharing a session connection limit.

`actorrent A.torrent B.torrent --max-connections 2` against two libtorrent
seeders per torrent (upload-limited, so the downloads overlap), each
torrent with a tracker of its own; B's answers 2 s late. Both complete,
each with its own named `complete:` line and stats, exit 0. Polling the
status page meanwhile: never more than 2 connections in all, and there is
a moment when both torrents download at once with a connection each: A,
hearing of its two seeders first, does not take the whole budget and
leave B waiting until it is done."""

import os
import sys
import time

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
import status_page  # noqa: E402
from swarm import check, log  # noqa: E402

PIECE = 32 * 1024
SIZE = 2 * 1024 * 1024
UPLOAD_LIMIT = 400 * 1024  # bytes/s per seeder: about 5 s per torrent on one connection


def main():
    swarm.need_libtorrent()
    with swarm.Swarm("two-torrents") as sw:
        content = sw.mkdir("content")
        torrents = {}
        for delay, name in ((0, "alpha.bin"), (2, "beta.bin")):
            tracker_port = swarm.free_port()
            url = f"http://127.0.0.1:{tracker_port}/announce"
            swarm.make_content(content, [(name, SIZE)], seed=len(torrents))
            t = sw.path(name + ".torrent")
            swarm.make_torrent(os.path.join(content, name), t, PIECE, url)
            torrents[name] = t
            seeders = [sw.start_lt_seeder(t, content, upload_limit=UPLOAD_LIMIT) for _ in range(2)]
            sw.start_hostile_tracker("good", port=tracker_port, peers=seeders,
                                     extra=["--delay", str(delay)])

        out = sw.mkdir("out")
        h = sw.start_actorrent(torrents["alpha.bin"], out,
                               extra_args=[torrents["beta.bin"], "--max-connections", "2",
                                           "--status-port", "0"])
        base = status_page.wait_url(h)
        samples = []
        deadline = time.monotonic() + 40
        while h.running() and time.monotonic() < deadline:
            try:
                ts = status_page.torrents(base)
            except Exception:  # the page closes as the process ends
                break
            samples.append({t["name"]: (t["state"], t["peers_connected"]) for t in ts})
            time.sleep(0.2)
        r = h.finish(30)
        log(swarm.describe(r))
        swarm.check_run_ok(r)

        for name in torrents:
            check(f"{name}: complete: {name}" in r.stdout, f"no named 'complete:' line for {name}")
            check(f"{name}: stats: downloaded=" in r.stdout, f"no named stats line for {name}")
            with open(os.path.join(out, name), "rb") as f, open(os.path.join(content, name), "rb") as g:
                check(f.read() == g.read(), f"{name} differs from the seeder's")
        check(swarm.stats_of(r)["downloaded"] >= 2 * SIZE, "the total stats line is short")

        check(samples, "no status sample was taken")
        total = max(sum(p for _, p in s.values()) for s in samples)
        check(total <= 2, f"{total} connections at once under --max-connections 2")
        both = [s for s in samples if len(s) == 2
                and all(state == "downloading" and peers >= 1 for state, peers in s.values())]
        check(both, "the torrents never downloaded at once with a connection each: "
                    f"{samples[:10]}")
        log(f"{len(samples)} samples, at most {total} connections; {len(both)} with both "
            f"torrents downloading on a connection each")


if __name__ == "__main__":
    swarm.e2e_main(main)
