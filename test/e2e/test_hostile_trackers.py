#!/usr/bin/python3
"""A tracker that misbehaves costs actorrent neither the download nor its
memory, and the user is told what the tracker did.

The torrent names two tiers: a hostile tracker (tools/swarm/hostile_tracker.py)
first, then opentracker, where a python3-libtorrent seeder announces. (The
long peer lists are valid replies, so the seeder is found in them: at index
500 among addresses where nothing listens.) For each
hostile behaviour (garbage, HTML error pages with status 200 and 500, 5 MB
replies with and without Content-Length, 100,000 peers compact and as
dictionaries, a redirect loop, endless headers, a reply that trickles, a
tracker that never answers) a fresh actorrent must:
- finish the download through the second tier (exit 0, files intact);
- name the problem on stderr;
- keep its peak resident memory (VmHWM, polled) under 64 MiB.

Then, with the hostile tracker as the only one and the seeder given with -a,
the download completes and the failing tracker is asked again after a pause
(15 s, the first step of the backoff), not in a busy loop.
"""

import json
import os
import sys
import time

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import MiB, check, log  # noqa: E402

RSS_LIMIT_MIB = 64
SIZE = 4 * MiB

# (mode as written to the tracker's mode file, what stderr must say)
CASES = [
    ("garbage", "bad reply: announce reply:"),
    ("html200", 'the reply starts with "<!DOCTYPE html>'),
    ("html500", "HTTP status 500 Internal Server Error, body \"<!DOCTYPE html>"),
    ("big", "Content-Length 5242880 over the 1048576-byte limit"),
    ("big-close", "response larger than 1048576 bytes"),
    ("peers-compact", "sent 100000 peers; kept the first 1000"),
    ("peers-dict", "over the 1048576-byte limit"),          # 100,000 entries are ~3 MB
    ("peers-dict 30000", "sent 30000 peers; kept the first 1000"),
    ("redirect-loop", "redirect loop: more than 5 redirects"),
    ("headers", "more than 100 header lines"),
    ("trickle", "timed out after 15000 ms"),
    ("silent", "timed out after 15000 ms"),
]


def requests_from_actorrent(log_path, since):
    out = []
    with open(log_path) as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("peer_id", "").startswith("-AR") and rec["t"] >= since:
                out.append(rec)
    return out


def main():
    swarm.need_tool("opentracker")
    swarm.need_libtorrent()
    exe = swarm.find_actorrent()
    with swarm.Swarm("hostile-trackers") as sw:
        mode_file = sw.path("tracker-mode")
        with open(mode_file, "w") as f:
            f.write("good\n")
        hostile_port, ot_port = swarm.free_port(), swarm.free_port()
        hostile_url = f"http://127.0.0.1:{hostile_port}/announce"
        ot_url = f"http://127.0.0.1:{ot_port}/announce"
        torrent, save, content, ih = sw.make_single(SIZE, 256 * 1024,
                                                    announce=[hostile_url, ot_url])
        sw.start_opentracker([ih], port=ot_port)
        seeder_port = swarm.free_port()
        # The long peer lists hide the seeder at index 500 among addresses where nothing listens.
        _, hlog = sw.start_hostile_tracker(port=hostile_port, mode_file=mode_file,
                                           peers=[seeder_port])
        seeder = sw.start_lt_seeder(torrent, save, port=seeder_port)
        sw.wait_tracker_lists(ot_url, ih, [seeder])

        figures = []
        for mode, expect in CASES:
            with open(mode_file, "w") as f:
                f.write(mode + "\n")
            out = sw.mkdir("out-" + mode.replace(" ", "-"))
            since = time.time()
            argv = [exe, torrent, "-d", out, "--bind", "127.0.0.1", "-p", "0", "--no-dht"]
            r, peak = sw.run_peak_rss(argv, 90, "actorrent-" + mode.replace(" ", "-"))
            figures.append((mode, peak, r.wall))
            log(f"{mode}: exit {r.returncode} in {r.wall:.1f} s, peak RSS {peak:.1f} MiB")
            swarm.check_run_ok(r, f"the download past a '{mode}' tracker")
            problems = swarm.verify_files(os.path.join(out, os.path.basename(content)), content)
            check(not problems, f"{mode}: the file is wrong: " + "; ".join(problems))
            asked = requests_from_actorrent(hlog, since)
            check(asked, f"{mode}: actorrent never asked the hostile tracker")
            lines = [ln for ln in r.stderr.splitlines() if hostile_url in ln]
            log(f"{mode}: " + (lines[0] if lines else "(nothing about the tracker on stderr)"))
            check(any(expect in ln for ln in lines),
                  f"{mode}: stderr does not say '{expect}' about {hostile_url}:\n"
                  f"{swarm.tail(r.stderr, 10)}")
            swarm.check_rss(peak, RSS_LIMIT_MIB, mode)
            if mode == "redirect-loop":
                check(len(asked) >= 6, f"only {len(asked)} requests: the redirects were not followed")

        # Only the hostile tracker; the seeder comes from -a. The download
        # completes; the tracker is retried after the backoff's first pause.
        only = sw.path("hostile-only.torrent")
        check(swarm.make_torrent(content, only, 256 * 1024, announce=hostile_url) == ih,
              "the second torrent has another info-hash")
        with open(mode_file, "w") as f:
            f.write("html500\n")
        out = sw.mkdir("out-only")
        since = time.time()
        argv = [exe, only, "-d", out, "--bind", "127.0.0.1", "-p", "0", "--no-dht", "-a",
                f"127.0.0.1:{seeder}", "--seed", "--seed-time", "22", "-v"]
        r, peak = sw.run_peak_rss(argv, 90, "actorrent-only")
        log(f"hostile tracker only, -a seeder: exit {r.returncode} in {r.wall:.1f} s, "
            f"peak RSS {peak:.1f} MiB")
        swarm.check_run_ok(r, "the download with -a past the only, failing tracker")
        check("complete:" in r.stdout, "the download did not complete")
        problems = swarm.verify_files(os.path.join(out, os.path.basename(content)), content)
        check(not problems, "the file is wrong: " + "; ".join(problems))
        asked = requests_from_actorrent(hlog, since)
        times = [rec["t"] - since for rec in asked]
        log("requests to the failing tracker at " + ", ".join(f"{t:.1f} s" for t in times))
        check(len(asked) >= 2, f"the failing tracker was not retried: {len(asked)} request(s)")
        check(times[1] - times[0] >= 14, f"retried after {times[1] - times[0]:.1f} s, not after "
              "the 15 s backoff")
        check("next announce in 15 s" in r.stderr, "the log does not name the backoff")

        log("peak RSS per behaviour: " +
            ", ".join(f"{m} {p:.1f} MiB" for m, p, _ in figures))


if __name__ == "__main__":
    swarm.e2e_main(main)
