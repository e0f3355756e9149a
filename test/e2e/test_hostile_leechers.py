#!/usr/bin/python3
"""An actorrent seeder among hostile downloaders.

`actorrent seed` serves a 32 MiB torrent.  While aria2c downloads it through
the tracker (rate-limited on aria2c's side so that the download overlaps the
attack), scripted downloaders (tools/swarm/mock_peers.py) connect to the
seeder and misbehave:
  leech-out-of-range --variant index  request for piece index = piece count
  leech-out-of-range --variant end    block running past the end of the last piece
  leech-oversize                      256 KiB request inside piece 0
  leech-choked                        300 requests while choked (never interested)
  leech-flood                         5000 requests at once once unchoked
Each must be disconnected by the seeder within DISCONNECT_BOUND seconds of
misbehaving, and must not be served what it should not get (the bad block,
a block over 128 KiB, a block while choked, most of the flood).  The well
behaved downloaders must still get correct data: aria2c during the attack,
libtorrent (given the seeder with --peer) after it, and the seeder must still
be running and exit 0 on SIGTERM."""

import os
import signal
import sys

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import MiB, check, check_run_ok, describe, log  # noqa: E402

# Not a multiple of the piece length: the last piece is short, so the "end"
# variant's block straddles an end that is not a piece-length boundary.
SIZE = 32 * MiB + 40 * 1024
PIECE = 256 * 1024
ARIA2_RATE = "4M"            # ~8 s for the whole torrent
DISCONNECT_BOUND = 10.0      # seconds from the misbehaviour to the disconnect
MOCK_DEADLINE = 20           # how long a mock waits for its disconnect
UNCHOKE_WAIT = 35            # how long a mock waits to be unchoked (the choker rechokes every ~10 s)
FLOOD = 5000
FLOOD_SERVED_MAX = 1000      # the request queue is bounded at ~500

HOSTILE = [
    ("oor-index", "leech-out-of-range", ["--variant", "index"]),
    ("oor-end", "leech-out-of-range", ["--variant", "end"]),
    ("oversize", "leech-oversize", ["--length", str(256 * 1024)]),
    ("choked", "leech-choked", ["--count", "300", "--interval", "0.005"]),
    ("flood", "leech-flood", ["--count", str(FLOOD)]),
]


def judge(name: str, res: dict) -> list:
    """What this mock's result says the seeder did wrong (empty: nothing)."""
    bad = []
    if not res.get("connected") or not res.get("handshake"):
        return [f"{name}: could not connect / handshake with the seeder: {res}"]
    if name == "choked":
        if res["served_while_choked"]:
            bad.append(f"choked: {res['served_while_choked']} blocks were served while it was "
                       f"choked")
        if not res["disconnected"] and res["requests_while_choked"] < 100:
            bad.append(f"choked: the seeder unchoked a peer that never said interested, so only "
                       f"{res['requests_while_choked']} requests could be sent while choked")
    elif not res.get("unchoked"):
        return [f"{name}: never unchoked within {UNCHOKE_WAIT} s although interested"]
    if name in ("oor-index", "oor-end", "oversize"):
        if not res.get("good_served"):
            bad.append(f"{name}: its valid request before the bad one was not served")
        if res.get("bad_served"):
            bad.append(f"{name}: the invalid request was served")
    if name == "oversize" and res["max_block"] > 128 * 1024:
        bad.append(f"oversize: a block of {res['max_block']} bytes was served")
    if name == "flood" and res["pieces"] > FLOOD_SERVED_MAX:
        bad.append(f"flood: {res['pieces']} of {FLOOD} flooded requests were served "
                   f"(queue should be bounded at ~500)")
    if not res["disconnected"]:
        bad.append(f"{name}: still connected {MOCK_DEADLINE} s after misbehaving")
    elif res["seconds_to_disconnect"] is not None and res["seconds_to_disconnect"] > DISCONNECT_BOUND:
        bad.append(f"{name}: disconnected only {res['seconds_to_disconnect']:.1f} s after "
                   f"misbehaving (bound {DISCONNECT_BOUND:.0f} s)")
    return bad


def main():
    swarm.need_tool("opentracker")
    swarm.need_tool("aria2c")
    swarm.need_libtorrent()
    with swarm.Swarm("hostile") as sw:
        tracker_port = swarm.free_port()
        url = f"http://127.0.0.1:{tracker_port}/announce"
        torrent, save, content, ih = sw.make_single(SIZE, PIECE, announce=url)
        name = os.path.basename(content)
        sw.start_opentracker([ih], port=tracker_port)
        port = sw.start_actorrent_seeder(torrent, save)
        seeder = sw.actorrent_at(port)
        sw.wait_tracker_lists(url, ih, [port])

        out = sw.mkdir("out-aria2")
        aria = sw.start_aria2c(torrent, out, extra_args=[f"--max-download-limit={ARIA2_RATE}"])
        # The attack starts once aria2c is being served, so it lands mid-download.
        got = os.path.join(out, name)

        def aria_receiving():
            check(aria.running(), f"aria2c ended before the attack: {describe(aria.result())}")
            return os.path.exists(got) and os.stat(got).st_blocks * 512 >= MiB
        swarm.wait_until(aria_receiving, 30, "aria2c to receive its first MiB", interval=0.1)
        log("aria2c is receiving; the hostile downloaders connect")
        mocks = []
        for tag, mode, extra in HOSTILE:
            h, path = sw.start_leech_mock(
                mode, torrent, port, tag=f"mock-{tag}",
                extra=extra + ["--deadline", str(MOCK_DEADLINE),
                               "--unchoke-timeout", str(UNCHOKE_WAIT)])
            mocks.append((tag, h, path))

        failures = []
        for tag, h, path in mocks:
            h.finish(10 + 15 + UNCHOKE_WAIT + MOCK_DEADLINE + 10)
            recs = [x for x in swarm.read_jsonl(path) if x["event"] == "result"]
            if not recs:
                failures.append(f"{tag}: the mock logged no result (crashed?): "
                                f"{swarm.tail(h.stderr(), 5)}")
                continue
            res = recs[-1]
            log(f"{tag:<9} disconnected={res.get('disconnected')} "
                f"after={res.get('seconds_to_disconnect')} s ({res.get('close_kind')}) "
                f"requests={res.get('requests_sent')} blocks={res.get('pieces')} "
                f"bytes={res.get('bytes_received')} unchoked={res.get('unchoked')} "
                f"choke_msgs={res.get('choke_msgs')}")
            failures += judge(tag, res)

        check(aria.running(), "aria2c finished before the attack was over: the torrent is too "
                              "small or the rate limit too high for the test to mean anything")
        r = aria.finish(120)
        log("aria2c during the attack: " + describe(r))
        check_run_ok(r, "aria2c (during the attack)")
        problems = swarm.verify_files(os.path.join(out, name), content)
        check(not problems, "aria2c's file is wrong: " + "; ".join(problems))
        check(seeder.running(), "the seeder died during the attack")

        out = sw.mkdir("out-lt")
        r = sw.run_lt_download(torrent, out, peers=[port], timeout=90)
        log("libtorrent after the attack: " + describe(r))
        check_run_ok(r, "libtorrent (after the attack)")
        problems = swarm.verify_files(os.path.join(out, name), content)
        check(not problems, "libtorrent's file is wrong: " + "; ".join(problems))

        s = seeder.stop(signal.SIGTERM, grace=15)
        log("seeder: " + describe(s))
        check(not s.timed_out and s.returncode == 0,
              f"the seeder did not exit 0 on SIGTERM: {describe(s)}")
        st = swarm.stats_of(s, "seeder")
        log(f"seeder stats: {st}")
        check(not failures, "hostile downloaders were not handled:\n  " + "\n  ".join(failures))


if __name__ == "__main__":
    swarm.e2e_main(main)
