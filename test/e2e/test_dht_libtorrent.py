#!/usr/bin/python3
"""The DHT core against libtorrent's DHT on loopback (BEP 5 interop).

Two python3-libtorrent sessions with DHT on (127.0.0.2 and 127.0.0.3,
given each other as nodes, no public routers, UPnP/NAT-PMP/LSD off)
form a small DHT. actorrent-dht-probe (one dht::node on a UDP socket)
joins through the first, looks up an info-hash, and announces a port for it
to the nodes that gave it tokens. A second probe joins through the other
libtorrent node and must find the first probe's address in libtorrent's
get_peers answer: libtorrent accepted our queries, our token echo and our
announce, and we decoded every datagram it sent."""

import os
import re
import secrets
import subprocess
import sys
import time

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import check, log  # noqa: E402


PROBE = os.environ.get("ACTORRENT_DHT_PROBE") or os.path.join(
    os.environ.get("ACTORRENT_BUILD_ROOT", "build"), "tools", "actorrent-dht-probe")


def lt_dht_session(ip, port):
    import libtorrent as lt
    # Settings go to the constructor: a session created with defaults starts
    # LSD, UPnP and NAT-PMP at once. No bootstrap routers (libtorrent would
    # use its public ones, and keeps routers out of its table anyway): the
    # sessions are given each other as nodes.
    return lt.session({
        "listen_interfaces": f"{ip}:{port}",
        "outgoing_interfaces": ip,
        "enable_dht": True,
        "dht_bootstrap_nodes": "",
        "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
        # Every node here is on 127/8: libtorrent would otherwise keep one per /24.
        "dht_restrict_routing_ips": False, "dht_restrict_search_ips": False,
        "dht_prefer_verified_node_ids": False, "dht_ignore_dark_internet": False,
        "alert_mask": 0,
    })


def probe(bind, bootstrap, info_hash, *extra, duration=15):
    argv = [PROBE, "--bind", bind, "--bootstrap", bootstrap, "--get-peers", info_hash,
            "--duration", str(duration), *extra]
    log("run: " + " ".join(argv))
    p = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 20)
    log(p.stdout.strip() + ("\n" + p.stderr.strip() if p.stderr.strip() else ""))
    stats = re.search(r"datagrams: (\d+) sent, (\d+) received, (\d+) malformed, (\d+) unmatched", p.stdout)
    check(stats is not None, "the probe printed no datagram counts")
    sent, received, malformed, unmatched = map(int, stats.groups())
    check(received > 0, "libtorrent never answered the probe")
    check(malformed == 0, f"{malformed} datagrams from libtorrent did not decode")
    check(unmatched == 0, f"{unmatched} answers from libtorrent matched no query")
    return p


def main():
    swarm.need_libtorrent()
    pa, pb = swarm.free_port(), swarm.free_port()
    a = lt_dht_session("127.0.0.2", pa)
    b = lt_dht_session("127.0.0.3", pb)
    a.add_dht_node(("127.0.0.3", pb))
    b.add_dht_node(("127.0.0.2", pa))
    try:
        # Until each knows the other (bounded).
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (a.is_dht_running() and b.is_dht_running()):
            time.sleep(0.2)
        check(a.is_dht_running() and b.is_dht_running(), "libtorrent's DHT did not start")
        time.sleep(1)
        info_hash = secrets.token_hex(20)
        port = 40000 + secrets.randbelow(20000)

        first = probe(f"127.0.0.4:{swarm.free_port()}", f"127.0.0.2:{pa}", info_hash, "--announce", str(port))
        tokens = re.search(r"lookup: \d+ queries, \d+ rounds, (\d+) tokens", first.stdout)
        check(tokens is not None and int(tokens.group(1)) >= 1, "no libtorrent node gave the probe a token")
        check(first.returncode == 3, "nobody had announced yet, yet the first probe found a peer")

        second = probe(f"127.0.0.5:{swarm.free_port()}", f"127.0.0.3:{pb}", info_hash)
        check(second.returncode == 0, "the second probe found no peer for the info-hash")
        check(f"peer 127.0.0.4:{port}" in second.stdout,
              f"libtorrent did not hand out the first probe's announce (127.0.0.4:{port})")
        log("ok: libtorrent stored our announce_peer and returned it to another node")
    finally:
        del a, b


if __name__ == "__main__":
    swarm.e2e_main(main)
