#!/usr/bin/python3
"""Peers that lie about a magnet link's metadata are refused and banned.

Two scripted peers (tools/swarm/mock_peers.py), each on a loopback address
of its own so bans are per peer: 127.0.0.2 offers the metadata with its
true size but flips a byte in what it sends (the SHA-1 cannot match the
info-hash); 127.0.0.3 offers 1 GiB of metadata (over the 4 MiB bound).

1. Only the liars in the link: actorrent must ban both hosts (its log names
   each with the reason), save no .torrent and give up (exit 3) after its
   stall timeout.
2. The liars and an honest libtorrent seeder: actorrent completes with the
   right file whoever answers first."""

import os
import sys

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import MiB, check, check_run_ok, describe, log  # noqa: E402


def main():
    swarm.need_libtorrent()
    with swarm.Swarm("magnet-hostile") as sw:
        torrent, save, content, ih = sw.make_single(8 * MiB, 32 * 1024, name="guarded.bin")
        wrong_port, wrong_log = sw.start_mock("metadata-wrong", torrent, host="127.0.0.2")
        big_port, big_log = sw.start_mock("metadata-oversized", torrent, host="127.0.0.3")
        liars = f"&x.pe=127.0.0.2:{wrong_port}&x.pe=127.0.0.3:{big_port}"

        out = sw.mkdir("out-liars")
        r = sw.run_actorrent(f"magnet:?xt=urn:btih:{ih}{liars}", out, timeout=60,
                             extra_args=["--stall-timeout", "6", "-v"])
        log("actorrent with only lying peers: " + describe(r))
        check(r.returncode == 3, f"expected exit 3 (gave up), got {r.returncode}: "
                                 f"{swarm.tail(r.stderr, 10)}")
        banned = [l for l in r.stderr.splitlines() if "banned" in l]
        log("ban lines: " + " | ".join(banned))
        check(any("127.0.0.2" in l and "does not match the info-hash" in l for l in banned),
              "the peer with wrong metadata was not banned for it")
        check(any("127.0.0.3" in l and "more than the limit" in l for l in banned),
              "the peer offering oversized metadata was not banned for it")
        sent = [e for e in swarm.read_jsonl(wrong_log) if e.get("event") == "metadata_sent"]
        check(sent, "the wrong-metadata peer was never asked for a piece")
        asked = [e for e in swarm.read_jsonl(big_log) if e.get("event") == "metadata_request"]
        check(not asked, "actorrent asked the oversized offer for pieces")
        check(not os.path.exists(os.path.join(out, ".actorrent", ih + ".torrent")),
              "a torrent was saved from wrong metadata")

        lt_port = sw.start_lt_seeder(torrent, save)
        out2 = sw.mkdir("out-mixed")
        r = sw.run_actorrent(f"magnet:?xt=urn:btih:{ih}{liars}&x.pe=127.0.0.1:{lt_port}", out2,
                             timeout=90, extra_args=["--stall-timeout", "30", "-v"])
        log("actorrent with the liars and an honest seeder: " + describe(r))
        check_run_ok(r, "actorrent (liars and an honest seeder)")
        problems = swarm.verify_files(os.path.join(out2, "guarded.bin"), content)
        check(not problems, "the file is wrong: " + "; ".join(problems))


if __name__ == "__main__":
    swarm.e2e_main(main)
