#!/usr/bin/python3
"""A peer that abuses PEX (BEP 11): what actorrent takes from it is bounded.

A scripted peer (tools/swarm/mock_peers.py, mode pex-flood) speaks ut_pex
with an actorrent leecher that knows only it.  Its first message names
0.0.0.0, a multicast and the broadcast address, a port 0 and 80 addresses
127.3.0.x:9; 100 more messages follow at once with 50 addresses 127.4.x.y:9
each.  actorrent must dial none of the unusable addresses, at most 50 of the
first message's (the per-message bound) and at least some, and none from the
flood (messages sooner than the BEP allows are ignored); the connection to
the flooding peer stays (ignored, not fatal).  Nothing listens on port 9:
the dials fail at once on loopback."""

import os
import re
import signal
import sys
import time

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import MiB, check, describe, log  # noqa: E402

WAIT = 15   # for the PEX messages to be sent and followed


def main():
    with swarm.Swarm("pex-hostile") as sw:
        torrent, content, path, ih = sw.make_single(1 * MiB, 256 * 1024)
        mock_port, mock_log = sw.start_mock("pex-flood", torrent, content)
        out = sw.mkdir("out")
        h = sw.start_actorrent(torrent, out, peers=[mock_port], extra_args=["-v", "-v"],
                               what="leecher")
        deadline = time.monotonic() + WAIT
        sent = False
        while time.monotonic() < deadline and h.running():
            sent = any(r.get("event") == "pex_sent" for r in swarm.read_jsonl(mock_log))
            if sent and "pex from" in h.stderr():
                break
            time.sleep(0.1)
        check(sent, f"the mock never sent its PEX messages (no ut_pex in actorrent's extension "
              f"handshake?) within {WAIT} s")
        # Give the dials a moment to show in the log.
        time.sleep(1.0)
        stopped_at = time.time()
        r = h.stop(signal.SIGTERM, grace=10)
        log(f"leecher: {describe(r)}")
        dialled = set(re.findall(r"connecting to (\S+)", r.stderr))
        log(f"dialled {len(dialled)} addresses")
        bad = [a for a in dialled if a.startswith(("0.", "224.", "255.")) or a.endswith(":0")]
        check(not bad, f"actorrent dialled unusable addresses: {sorted(bad)}")
        first = [a for a in dialled if a.startswith("127.3.0.")]
        flood = [a for a in dialled if a.startswith("127.4.")]
        check(first, "actorrent dialled none of the addresses of the first PEX message")
        check(len(first) <= 50, f"actorrent took {len(first)} addresses from one PEX message (> 50)")
        check(not flood, f"actorrent followed {len(flood)} addresses of PEX messages sent sooner "
              "than the BEP allows")
        ended = [x for x in swarm.read_jsonl(mock_log)
                 if x.get("event") in ("eof", "disconnect", "error") and x.get("t", 0) < stopped_at]
        check(not ended, f"actorrent dropped the flooding peer instead of ignoring the flood: {ended}")


if __name__ == "__main__":
    swarm.e2e_main(main)
