#!/usr/bin/python3
"""One good seeder among peers that refuse, stay silent, send garbage, or serve
corrupted blocks, all given with -a (the tracker is unreachable).

The good libtorrent seeder is rate-limited so the download lasts a few
seconds: long enough that every bad peer is actually met.  actorrent must
finish, exit 0, and the files must match: corrupted blocks have to be caught
by the piece hash check and fetched again."""

import os
import sys

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import MiB, check, check_run_ok, describe, log  # noqa: E402

SIZE = 24 * MiB
GOOD_RATE = 8 * MiB          # bytes/s: ~3 s for the whole file from the good seeder alone


def main():
    swarm.need_libtorrent()
    with swarm.Swarm("badpeers") as sw:
        dead = swarm.free_port()
        torrent, save, content, _ = sw.make_single(
            SIZE, 256 * 1024, announce=f"http://127.0.0.1:{dead}/announce")
        mocks = {}
        for mode in ("refuse", "silent", "garbage", "garbage-msg"):
            mocks[mode] = sw.start_mock(mode, torrent, content)
        # The liar is a host of its own: it is banned by address, and with it
        # every port it listens on (a second one here), never the good seeder.
        liar = "127.0.0.66"
        mocks["wrong-data"] = sw.start_mock("wrong-data", torrent, content, host=liar)
        mocks["wrong-data-2"] = sw.start_mock("wrong-data", torrent, content, host=liar)
        good = sw.start_lt_seeder(torrent, save, upload_limit=GOOD_RATE)
        # Bad peers first: a client that works through -a in order meets them before the good one.
        peers = [f"{liar if mode.startswith('wrong-data') else '127.0.0.1'}:{port}"
                 for mode, (port, _) in mocks.items()] + [good]
        out = sw.mkdir("out")
        r = sw.run_actorrent(torrent, out, peers=peers, extra_args=["-v"], timeout=120)
        log(describe(r))
        for mode, (port, path) in mocks.items():
            recs = swarm.read_jsonl(path)
            counts = {}
            for x in recs:
                counts[x["event"]] = counts.get(x["event"], 0) + 1
            log(f"  {mode:<11} :{port} saw {counts or 'nothing'}")
        check_run_ok(r)
        problems = swarm.verify_files(os.path.join(out, os.path.basename(content)), content)
        check(not problems, "downloaded data is wrong: " + "; ".join(problems))
        wrong = swarm.read_jsonl(mocks["wrong-data"][1])
        served = sum(1 for x in wrong if x["event"] == "sent_piece")
        check(any(x["event"] == "connect" for x in wrong),
              "actorrent never connected to the wrong-data peer given with -a")
        check(f"banned {liar}" in r.stderr, "the host that sent corrupted data was not banned")
        # Banned means banned on every port: both of the liar's connections
        # end with the ban, and neither port is dialled again.
        for mode in ("wrong-data", "wrong-data-2"):
            recs = swarm.read_jsonl(mocks[mode][1])
            connects = sum(1 for x in recs if x["event"] == "connect")
            check(connects <= 1, f"{mode} on the banned host was connected {connects} times")
            check(connects == 0 or any(x["event"] == "disconnect" for x in recs),
                  f"{mode} on the banned host kept its connection")
        log(f"the wrong-data peer served {served} corrupted blocks; the file is still correct")


if __name__ == "__main__":
    swarm.e2e_main(main)
