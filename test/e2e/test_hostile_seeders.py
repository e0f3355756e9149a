#!/usr/bin/python3
"""Peers that lie in the ways a downloader meets, beside one good seeder.

Each hostile peer is a host of its own in 127.0.0.0/8 (bans are per host):
  huge-length    announces a message of 2^31 bytes, then trickles its "payload"
  bad-bitfield   a bitfield one byte too long
  have-past-end  HAVE for a piece that does not exist
  unrequested    a PIECE nobody asked for
  short-piece    every PIECE half the requested length (tolerated as waste)
  other-hash     a handshake for another torrent
  trickle        correct blocks at 1 byte/s (it is still busy at the end-game)
The same download runs first with the good, rate-limited libtorrent seeder
alone, then with all of them. With them it must complete with the right data,
in about the time it takes without them, with the client's peak memory
bounded, and every peer that broke the protocol disconnected within seconds,
well before the download ended."""

import os
import sys

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import MiB, check, describe, log  # noqa: E402

SIZE = 24 * MiB
GOOD_RATE = 8 * MiB          # bytes/s: ~3 s for the whole file from the good seeder alone
# Breaking the protocol ends the connection. A short PIECE matches no request,
# so it is counted as waste like any unrequested block, and the request it
# did not fill times out like a snubbed one: tolerated, as are the others.
MUST_DROP = ("huge-length", "bad-bitfield", "have-past-end", "other-hash")
TOLERABLE = ("short-piece", "unrequested", "trickle")
DROP_WITHIN = 10.0           # seconds from connect to disconnect for a protocol breaker
RSS_BOUND_MIB = 64.0


def run(sw, torrent, content, peers, tag):
    out = sw.mkdir(tag)
    argv = [swarm.find_actorrent(), torrent, "-d", out, "--bind", "127.0.0.1",
            "-p", str(swarm.free_port()), "--no-dht", "-v"]
    for p in peers:
        argv += ["-a", p]
    r, peak = sw.run_peak_rss(argv, 120, tag)
    log(f"{tag}: {describe(r)}; peak RSS {peak:.1f} MiB")
    check(r.returncode == 0, f"{tag}: exit {r.returncode}\n{swarm.tail(r.stderr)}")
    problems = swarm.verify_files(os.path.join(out, os.path.basename(content)), content)
    check(not problems, f"{tag}: downloaded data is wrong: " + "; ".join(problems))
    return r, peak


def main():
    swarm.need_libtorrent()
    with swarm.Swarm("hostile_seeders") as sw:
        dead = swarm.free_port()
        torrent, save, content, _ = sw.make_single(
            SIZE, 256 * 1024, announce=f"http://127.0.0.1:{dead}/announce")
        good = sw.start_lt_seeder(torrent, save, upload_limit=GOOD_RATE)

        alone, alone_rss = run(sw, torrent, content, [f"127.0.0.1:{good}"], "alone")

        mocks = {}
        for n, mode in enumerate(MUST_DROP + TOLERABLE):
            host = f"127.0.0.{110 + n}"
            port, path = sw.start_mock(mode, torrent, content, host=host)
            mocks[mode] = (f"{host}:{port}", path)
        # The hostile peers first: a client working through -a in order meets them early.
        peers = [addr for addr, _ in mocks.values()] + [f"127.0.0.1:{good}"]
        hostile, hostile_rss = run(sw, torrent, content, peers, "hostile")

        for mode, (addr, path) in mocks.items():
            recs = swarm.read_jsonl(path)
            connect = next((x["t"] for x in recs if x["event"] == "connect"), None)
            gone = next((x["t"] for x in recs if x["event"] == "disconnect"), None)
            events = sorted({x["event"] for x in recs})
            log(f"  {mode:<14} {addr:<20} connected={connect is not None} "
                f"dropped after {gone - connect if connect and gone else float('nan'):.2f} s; {events}")
            check(connect is not None, f"actorrent never connected to the {mode} peer at {addr}")
            if mode in MUST_DROP:
                # Well before the client's own exit closed everything.
                check(gone is not None and gone - connect <= min(DROP_WITHIN, hostile.wall - 1.0),
                      f"the {mode} peer was not disconnected while the download went on")

        log(f"wall: alone {alone.wall:.2f} s, with hostile peers {hostile.wall:.2f} s; "
            f"peak RSS: alone {alone_rss:.1f} MiB, with hostile peers {hostile_rss:.1f} MiB")
        swarm.check_rss(hostile_rss, RSS_BOUND_MIB, "with hostile peers")
        # "About the time it takes without them": the end-game must not wait
        # for the trickle, nor the 2^31 announcement hold anything up.
        check(hostile.wall <= 2 * alone.wall + 5,
              f"{hostile.wall:.1f} s with hostile peers against {alone.wall:.1f} s without")


if __name__ == "__main__":
    swarm.e2e_main(main)
