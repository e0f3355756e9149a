#!/usr/bin/python3
"""libtorrent follows actorrent's PEX (BEP 11).

A 2 MiB torrent without a tracker.  `actorrent seed` serves it with its
upload limited to 256 KiB/s; an actorrent leecher, its download limited
to 64 KiB/s, connects to it; then a libtorrent downloader (DHT, LSD, UPnP
and NAT-PMP off) is given only the seeder's address.  The leecher's address can reach libtorrent only through
the seeder's ut_pex message: libtorrent must report a connection to the
leecher that it files under peers learned from PEX (within 20 s; the first
message goes out 3 s after the handshakes).  libtorrent starts after the
seeder's first PEX message to the leecher, so the leecher does not hear of
libtorrent (and dial it) before libtorrent dials the leecher.  Without
PEX from actorrent libtorrent has no such peer."""

import os
import signal
import sys
import time

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import MiB, check, check_run_ok, describe, log  # noqa: E402

SIZE = 2 * MiB
PIECE = 256 * 1024
TIMEOUT = 60
PEX_WAIT = 20


def main():
    swarm.need_libtorrent()
    with swarm.Swarm("pex-libtorrent") as sw:
        torrent, content, path, ih = sw.make_single(SIZE, PIECE)
        name = os.path.basename(path)
        seed_port = sw.start_actorrent_seeder(torrent, content, extra_args=["--max-up", "256K"])
        seeder = sw.actorrent_at(seed_port)
        a_out = sw.mkdir("leecher")
        # Held to 64 KiB/s, the leecher is still downloading (and still the
        # seeder's peer) when the seeder's PEX reaches libtorrent: a leecher
        # that completed would have left the seeder, seed to seed.
        leecher = sw.start_actorrent(torrent, a_out, peers=[seed_port],
                                     extra_args=["--seed", "--max-down", "64K"], what="leecher")
        # libtorrent comes after the seeder's first PEX message to the leecher
        # (3 s after their handshakes), so the next one, which would name
        # libtorrent, is a minute away: the leecher cannot dial libtorrent
        # first and be filed as an incoming peer.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and leecher.running() and "peers 1/" not in leecher.stdout():
            time.sleep(0.1)
        check("peers 1/" in leecher.stdout(), "the leecher did not connect to the seeder:\n"
              + swarm.tail(leecher.stdout() + leecher.stderr()))
        time.sleep(3.5)

        lt_out = sw.mkdir("libtorrent")
        lt = sw.start_lt_download(torrent, lt_out, peers=[seed_port], timeout=TIMEOUT,
                                  extra_args=["--show-pex-peers"])
        def leecher_by_pex(text: str) -> list:
            return [line.split()[1] for line in text.splitlines()
                    if line.startswith("PEX-PEER ") and line.split()[1] != f"127.0.0.1:{seed_port}"]
        deadline = time.monotonic() + PEX_WAIT
        while time.monotonic() < deadline and lt.running() and not leecher_by_pex(lt.stdout()):
            time.sleep(0.1)
        r = lt.stop(signal.SIGTERM, grace=10)
        log(f"libtorrent: {describe(r)}")
        pex_peers = [line.split()[1] for line in r.stdout.splitlines() if line.startswith("PEX-PEER ")]
        log(f"libtorrent connected to peers learned by PEX: {pex_peers}")
        check(leecher_by_pex(r.stdout),
              f"libtorrent had no connection to the leecher (listening on 127.0.0.1:{leecher.port}) "
              f"filed as learned by PEX within {PEX_WAIT} s; PEX peers: {pex_peers}\n"
              + swarm.tail(r.stdout + r.stderr))

        rl = leecher.stop(signal.SIGTERM, grace=10)
        check(not rl.timed_out, f"actorrent leecher did not stop: {describe(rl)}")
        s = seeder.stop(signal.SIGTERM, grace=15)
        check(not s.timed_out and s.returncode == 0, f"seeder stopped by SIGTERM: {describe(s)}")


if __name__ == "__main__":
    swarm.e2e_main(main)
