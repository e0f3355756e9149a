#!/usr/bin/python3
"""The tracker sees actorrent as what it is: a seeder as a seeder, a finished
leecher as a new seeder.

1. `actorrent seed` on complete data, announcing to a local opentracker: the
   tracker's scrape shows complete=1, incomplete=0 within a few seconds (the
   first announce waits for the start-up check, so it says left=0), and
   aria2c, which learns of the seeder from the tracker alone, downloads from
   it.  The seed was complete at start, so the tracker never counts a
   "completed" event for it (downloaded stays 0 until aria2c finishes).
2. An actorrent leecher (with --seed) fetches another torrent from a
   throttled libtorrent seeder (which announces to the same tracker): while
   it runs the scrape counts it as incomplete; after its "completed"
   announce it is complete, the tracker counts one download, and after its
   "stopped" announce only libtorrent is left."""

import os
import sys
import time

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import MiB, check, check_run_ok, describe, log  # noqa: E402

SIZE = 24 * MiB


def wait_scrape(url, ih, want, timeout, what):
    """Polls the scrape until `want` (a subset of its fields) holds; returns it."""
    seen = {}

    def ok():
        nonlocal seen
        seen = swarm.scrape(url, ih)
        return all(seen[k] == v for k, v in want.items())
    try:
        swarm.wait_until(ok, timeout, what, interval=0.2)
    except Exception:
        raise swarm.TestFailure(f"{what}: the scrape says {seen}, expected {want} "
                                f"within {timeout} s")
    return seen


def seeder_looks_like_a_seeder(sw):
    tracker_port = swarm.free_port()
    url = f"http://127.0.0.1:{tracker_port}/announce"
    torrent, save, content, ih = sw.make_single(SIZE, 256 * 1024, announce=url)
    sw.start_opentracker([ih], port=tracker_port)
    check(swarm.scrape(url, ih) == {"complete": 0, "incomplete": 0, "downloaded": 0},
          f"a fresh tracker already counts peers: {swarm.scrape(url, ih)}")

    t0 = time.monotonic()
    port = sw.start_actorrent_seeder(torrent, save)
    seen = wait_scrape(url, ih, {"complete": 1, "incomplete": 0}, 5,
                       "the tracker to count the actorrent seeder as a seed")
    log(f"scrape {time.monotonic() - t0:.2f} s after starting the seeder: {seen}")
    check(seen["downloaded"] == 0,
          f"the seed was complete at start, yet the tracker counts a completed download: {seen}")

    out = sw.mkdir("aria2c-out")
    r = sw.run_aria2c(torrent, out, timeout=120)
    log("aria2c, found the seeder through the tracker only: " + describe(r))
    check_run_ok(r, "aria2c")
    problems = swarm.verify_files(os.path.join(out, os.path.basename(content)), content)
    check(not problems, "aria2c's file is wrong: " + "; ".join(problems))
    check(sw.actorrent_at(port).running(), "the seeder exited while aria2c was downloading")
    sw.actorrent_at(port).stop()
    return torrent, content


def finished_leecher_becomes_a_seed(sw):
    tracker_port = swarm.free_port()
    url = f"http://127.0.0.1:{tracker_port}/announce"
    torrent, save, content, ih = sw.make_single(SIZE, 256 * 1024, announce=url, name="leech")
    sw.start_opentracker([ih], port=tracker_port)
    # A throttled source: the leecher must still be downloading when the
    # tracker is first asked about it.
    lt_port = sw.start_lt_seeder(torrent, save, upload_limit=4 * MiB)
    wait_scrape(url, ih, {"complete": 1, "incomplete": 0}, 10,
                "the tracker to count the libtorrent seeder")

    out = sw.mkdir("leecher-out")
    leecher = sw.start_actorrent(torrent, out, peers=[lt_port], extra_args=["--seed"],
                                 what="actorrent-leech")
    seen = wait_scrape(url, ih, {"complete": 1, "incomplete": 1}, 5,
                       "the tracker to count the downloading actorrent as a leecher")
    log(f"while downloading: {seen}")
    swarm.wait_until(lambda: "complete:" in leecher.stdout() or not leecher.running(), 60,
                     "the leecher to complete")
    check(leecher.running(), f"the leecher (with --seed) exited: {leecher.result()}")
    seen = wait_scrape(url, ih, {"complete": 2, "incomplete": 0, "downloaded": 1}, 5,
                       "the tracker to count the finished leecher as a seed")
    log(f"after its completed announce: {seen}")
    problems = swarm.verify_files(os.path.join(out, "leech"), content)
    check(not problems, "the leecher's file is wrong: " + "; ".join(problems))
    r = leecher.stop()
    check(r.returncode == 0, f"the seeding leecher stopped by SIGTERM must exit 0: {describe(r)}")
    seen = wait_scrape(url, ih, {"complete": 1, "incomplete": 0}, 5,
                       "the tracker to forget the stopped peer")
    log(f"after its stopped announce: {seen}")


def main():
    swarm.need_tool("opentracker")
    swarm.need_tool("aria2c")
    swarm.need_libtorrent()
    with swarm.Swarm("tracker-status") as sw:
        seeder_looks_like_a_seeder(sw)
        finished_leecher_becomes_a_seed(sw)


if __name__ == "__main__":
    swarm.e2e_main(main)
