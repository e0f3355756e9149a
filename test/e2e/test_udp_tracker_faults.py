#!/usr/bin/python3
"""actorrent against a UDP tracker (BEP 15) that misbehaves (tools/swarm/udp_tracker.py).

1. The tracker drops the first two requests, delays every reply, sends each
   twice and precedes it with garbage (a short datagram, a wrong transaction
   id, a cut peer list). actorrent still gets the libtorrent seeder's
   address from it and completes; the two dropped connects are sent again
   after 0.4 s and then 0.8 s more (--udp-tracker-timeout 400: the BEP 15
   schedule 15 * 2^n s scaled down); each garbage datagram gets a log line
   naming what is wrong with it; the announces are started, completed,
   stopped, all with the connection id the tracker gave.
2. A tracker that never answers: with --udp-tracker-retries 2 actorrent
   sends exactly three connects, 0.2 s then 0.4 s apart, says the tracker
   gave no reply after 3 tries, and stops asking (the next walk waits for
   the tier backoff).
3. A tracker that answers with an error (action 3): its text is reported as
   the tracker's failure.
4. A silent tracker in the first tier and a good one in the second: the
   silent one gets the first connect and one retransmission (not the whole
   BEP 15 schedule) before the second tier is asked, and the download
   completes through it."""

import os
import sys

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import MiB, check, check_run_ok, describe, log  # noqa: E402

# Generous upper bounds: the machine is shared; the lower bounds are what the
# schedule promises.
SLACK = 1.5


def check_gaps(times, bases, what):
    gaps = [b - a for a, b in zip(times, times[1:])]
    for gap, base in zip(gaps, bases):
        check(base * 0.9 <= gap <= base + SLACK,
              f"{what}: retransmissions {['%.2f' % g for g in gaps]} s apart, expected {bases}")
    return gaps


def flaky(sw):
    torrent, save, content, ih = sw.make_single(8 * MiB, 256 * 1024, announce=None)
    seed_port = sw.start_lt_seeder(torrent, save)
    url, tlog = sw.start_udp_tracker(
        peers=[seed_port], extra=["--drop", "2", "--delay", "0.2", "--duplicate", "--garble"])
    t = swarm.with_announce(torrent, url, sw.path("flaky.torrent"))
    out = sw.mkdir("out-flaky")
    r = sw.run_actorrent(t, out, timeout=120, extra_args=[
        "-v", "--stall-timeout", "30", "--udp-tracker-timeout", "400", "--udp-tracker-retries", "4"])
    log(describe(r))
    check_run_ok(r)
    problems = swarm.verify_files(os.path.join(out, os.path.basename(content)), content)
    check(not problems, "downloaded data is wrong: " + "; ".join(problems))

    got = swarm.read_jsonl(tlog)
    connects = [e for e in got if e.get("action") == 0]
    check(len(connects) >= 3 and not connects[0]["answered"] and not connects[1]["answered"]
          and connects[2]["answered"], f"the first connects were not sent again: {connects}")
    check(connects[0]["tid"] == connects[1]["tid"] == connects[2]["tid"],
          "a retransmission changed the transaction id (a late reply would be lost)")
    gaps = check_gaps([e["t"] for e in connects[:3]], [0.4, 0.8], "dropped connects")
    log(f"dropped connects sent again after {gaps[0]:.2f} s and {gaps[1]:.2f} s")

    announces = [e for e in got if e.get("action") == 1]
    events = []
    for e in announces:
        check(e["known_connection"], f"an announce with a connection id the tracker never gave: {e}")
        if not events or events[-1] != e["event"]:
            events.append(e["event"])
    check(events[0] == "started" and events[-1] == "stopped" and "completed" in events,
          f"announce events {events}, expected started ... completed ... stopped")
    check(len(connects) == 3,
          f"{len(connects)} connects: the connection id was not reused within its minute")

    prefix = f"UDP tracker {url[len('udp://'):].split('/')[0]}: "
    for reason in ("only 5 bytes", "does not match the request's", "not whole 6-byte IPv4 entries"):
        lines = [l for l in r.stderr.splitlines() if prefix in l and reason in l and "ignored" in l]
        check(lines, f"no log line for the garbage datagram ({reason}):\n" + swarm.tail(r.stderr, 40))
    for n in (1, 2):
        check(f"retransmission {n} of 4" in r.stderr, f"retransmission {n} is not logged")
    log(f"completed through the flaky tracker; events {events}; garbage logged")


def silent(sw):
    torrent, save, content, ih = sw.make_single(1 * MiB, 256 * 1024, announce=None)
    url, tlog = sw.start_udp_tracker(extra=["--silent"])
    t = swarm.with_announce(torrent, url, sw.path("silent.torrent"))
    out = sw.mkdir("out-silent")
    r = sw.run_actorrent(t, out, timeout=60, extra_args=[
        "-v", "--stall-timeout", "5", "--udp-tracker-timeout", "200", "--udp-tracker-retries", "2"])
    log(describe(r))
    check(r.returncode == 3, f"expected exit 3 (gave up, no data), got {r.returncode}")
    got = swarm.read_jsonl(tlog)
    check(len(got) == 3 and all(e.get("action") == 0 for e in got),
          f"expected exactly 3 connects to a silent tracker, got {got}")
    gaps = check_gaps([e["t"] for e in got], [0.2, 0.4], "silent tracker")
    check("no connect reply after 3 tries" in r.stderr,
          "the give-up is not reported:\n" + swarm.tail(r.stderr))
    log(f"silent tracker: 3 connects, {gaps[0]:.2f} s and {gaps[1]:.2f} s apart, then nothing")


def refusing(sw):
    torrent, save, content, ih = sw.make_single(1 * MiB, 256 * 1024, announce=None)
    url, tlog = sw.start_udp_tracker(extra=["--error", "torrent not registered"])
    t = swarm.with_announce(torrent, url, sw.path("refusing.torrent"))
    out = sw.mkdir("out-refusing")
    r = sw.run_actorrent(t, out, timeout=60, extra_args=["-v", "--stall-timeout", "3"])
    check(r.returncode == 3, f"expected exit 3 (gave up, no data), got {r.returncode}")
    check(f"tracker {url}: failure: torrent not registered" in r.stderr,
          "the tracker's error text is not reported:\n" + swarm.tail(r.stderr))
    log("the UDP tracker's error is reported as its failure")


def silent_first_tier(sw):
    torrent, save, content, ih = sw.make_single(1 * MiB, 256 * 1024, announce=None)
    seeder = sw.start_lt_seeder(torrent, save)
    dead, dead_log = sw.start_udp_tracker(extra=["--silent"])
    good, good_log = sw.start_udp_tracker(peers=[seeder])
    t = swarm.with_announce(torrent, dead, sw.path("tiers.torrent"), tiers=[[dead], [good]])
    out = sw.mkdir("out-tiers")
    r = sw.run_actorrent(t, out, timeout=60, extra_args=[
        "-v", "--udp-tracker-timeout", "300", "--udp-tracker-retries", "3"])
    log(describe(r))
    check_run_ok(r)
    to_dead = swarm.read_jsonl(dead_log)
    to_good = swarm.read_jsonl(good_log)
    check(to_good, "the second tier's tracker was never asked")
    first_good = to_good[0]["t"]
    before = [e for e in to_dead if e["t"] < first_good]
    # The whole schedule would be 4 connects over 0.3 * (1+2+4+8) = 4.5 s.
    check(len(before) == 2 and all(e.get("action") == 0 for e in before),
          f"expected 2 connects to the silent first tier before the second was asked, got {before}")
    check_gaps([e["t"] for e in before], [0.3], "silent first tier")
    wait = first_good - before[0]["t"]
    check(0.9 * 0.9 <= wait <= 0.9 + SLACK,
          f"the second tier was asked {wait:.2f} s after the first connect, expected 0.9 s")
    log(f"silent first tier: 2 connects, then the second tier {wait:.2f} s after the first")


def main():
    swarm.need_libtorrent()
    with swarm.Swarm("udp-faults") as sw:
        flaky(sw)
        silent(sw)
        refusing(sw)
        silent_first_tier(sw)


if __name__ == "__main__":
    swarm.e2e_main(main)
