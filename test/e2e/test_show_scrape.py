#!/usr/bin/python3
"""`actorrent show --scrape TORRENT` asks each tracker of the torrent what it
knows (BEP 48 over HTTP, the scrape action of BEP 15 over UDP).

One opentracker serves HTTP and UDP on the same port; the torrent lists it
both ways, plus an HTTP URL without a scrape URL and a UDP port where
nothing listens. With a libtorrent seeder running and a leecher announced,
both trackers report complete=1 incomplete=1 downloaded=0; once the leecher
announces "completed", complete=2 incomplete=0 downloaded=1 (what the
tracker's own HTTP scrape says each time). The other two get an error line
each, the dead one within the per-tracker bound."""

import os
import subprocess
import sys
import time

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import MiB, check, log  # noqa: E402


def show_scrape(torrent):
    argv = [swarm.find_actorrent(), "show", "--scrape", "--udp-tracker-timeout", "500", torrent]
    t0 = time.monotonic()
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    wall = time.monotonic() - t0
    lines = {}
    for line in r.stdout.splitlines():
        if line.startswith("scrape "):
            url, _, what = line[len("scrape "):].partition(": ")
            lines[url] = what
    log(f"show --scrape: exit {r.returncode} in {wall:.1f} s: {lines}")
    return r, lines, wall


def counts(text):
    try:
        return {k: int(v) for k, v in (kv.split("=") for kv in text.split())}
    except ValueError:
        return None


def main():
    swarm.need_libtorrent()
    swarm.need_tool("opentracker")
    with swarm.Swarm("show-scrape") as sw:
        port = swarm.free_port()
        http_url = f"http://127.0.0.1:{port}/announce"
        udp_url = f"udp://127.0.0.1:{port}/announce"
        no_scrape = f"http://127.0.0.1:{port}/tracker"
        dead = f"udp://127.0.0.1:{swarm.free_port()}/announce"
        torrent, save, content, ih = sw.make_single(
            2 * MiB, 256 * 1024, announce=[http_url, udp_url, no_scrape, dead])
        sw.start_opentracker([ih], port=port)
        seed_port = sw.start_lt_seeder(torrent, save)
        sw.wait_tracker_lists(http_url, ih, [seed_port])
        leecher = b"-LEECH1-" + os.urandom(6).hex().encode()
        swarm.http_announce(http_url, bytes.fromhex(ih), leecher, 7, left=1, event="started")

        for want in ({"complete": 1, "incomplete": 1, "downloaded": 0},
                     {"complete": 2, "incomplete": 0, "downloaded": 1}):
            if want["downloaded"]:
                swarm.http_announce(http_url, bytes.fromhex(ih), leecher, 7, left=0, event="completed")
            truth = swarm.scrape(http_url, ih)
            check(truth == want, f"opentracker's own scrape says {truth}, expected {want}")
            r, lines, wall = show_scrape(torrent)
            check(r.returncode == 0, f"show --scrape exited {r.returncode}: {r.stderr}")
            for url in (http_url, udp_url):
                check(counts(lines.get(url, "")) == want,
                      f"{url}: printed {lines.get(url)!r}, expected {want}")
            check(lines.get(no_scrape, "").startswith("error: no scrape URL"),
                  f"{no_scrape}: printed {lines.get(no_scrape)!r}")
            check(lines.get(dead, "").startswith("error: "), f"{dead}: printed {lines.get(dead)!r}")
            check(wall < 5 + 3, f"show --scrape took {wall:.1f} s, more than its bound")
        log("HTTP and UDP scrapes print the tracker's counts; failures get an error line")


if __name__ == "__main__":
    swarm.e2e_main(main)
