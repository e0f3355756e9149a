#!/usr/bin/python3
"""Peers found through the DHT (BEP 5), on loopback only.

actorrent: a node of our own (actorrent-dht-probe on 127.0.0.2) stands for
the DHT. An actorrent seeder with its DHT on joins through it and announces
the torrent. A second actorrent is given only a magnet link with neither
trackers (tr) nor peers (x.pe) and the probe as --dht-bootstrap: it must
find the seeder through the DHT, fetch the metadata and the data, and save
its node id and good nodes in DIR/.actorrent/dht.dat. That run is traced
(strace): every datagram and connection it makes goes to 127.0.0.0/8, and
no name is resolved (the public routers are never asked when a bootstrap
node is given).

libtorrent: two python3-libtorrent sessions with DHT on (127.0.0.3 a plain
node, 127.0.0.2 the downloader; UPnP, NAT-PMP and LSD off, no routers) and
an actorrent seeder that joins through the plain node. libtorrent, given
only the info-hash, must find the actorrent seeder through its DHT and
download from it."""

import os
import re
import sys
import time

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import MiB, check, check_run_ok, describe, log  # noqa: E402

PROBE = os.environ.get("ACTORRENT_DHT_PROBE") or os.path.join(
    os.environ.get("ACTORRENT_BUILD_ROOT", "build"), "tools", "actorrent-dht-probe")
SIZE = 3 * MiB


def start_probe(sw, ip):
    """A DHT node that only answers (its own bootstrap is a closed port)."""
    port = swarm.free_port()
    argv = [PROBE, "--bind", f"{ip}:{port}", "--bootstrap", f"{ip}:{swarm.free_port()}", "--duration", "90"]
    log("start: " + " ".join(argv))
    sw.handles.append(swarm.Background(argv, sw.log_dir, "dht-probe"))
    time.sleep(0.2)
    return f"{ip}:{port}"


def start_seeder(sw, torrent, content, bootstrap, ih):
    port = sw.start_actorrent_seeder(torrent, content, dht=True, extra_args=[
        "--dht-port", str(swarm.free_port()), "--dht-bootstrap", bootstrap, "-v"])
    seeder = sw.actorrent_at(port)
    announced = re.compile(rf"DHT: {ih}: \d+ peers, [1-9]\d* nodes to announce to")
    swarm.wait_until(lambda: announced.search(seeder.stderr()), 20, "the seeder's DHT announce", interval=0.1)
    return port, seeder


def outside_loopback(trace_text):
    """Addresses other than 127.0.0.0/8 and ::1 the trace sent to or connected to."""
    bad = []
    for a in re.findall(r'inet_addr\("([^"]+)"\)', trace_text):
        if not a.startswith("127."):
            bad.append(a)
    for a in re.findall(r'inet_pton\(AF_INET6, "([^"]+)"', trace_text):
        if a not in ("::1",) and not a.startswith("::ffff:127."):
            bad.append(a)
    return bad


def actorrent_finds_actorrent():
    strace = swarm.need_tool("strace")
    with swarm.Swarm("dht-download") as sw:
        torrent, content, path, ih = sw.make_single(SIZE, 64 * 1024, name="dht.bin")
        router = start_probe(sw, "127.0.0.2")
        seed_port, seeder = start_seeder(sw, torrent, content, router, ih)

        out = sw.mkdir("out")
        trace = sw.path("strace.txt")
        link = f"magnet:?xt=urn:btih:{ih}&dn=dht.bin"
        dht_port = swarm.free_port()
        argv = [strace, "-f", "-qq", "-e", "trace=connect,sendto,sendmsg,sendmmsg", "-o", trace,
                swarm.find_actorrent(), link, "-d", out, "--bind", "127.0.0.1", "-p", str(swarm.free_port()),
                "--dht-port", str(dht_port), "--dht-bootstrap", router, "--stall-timeout", "20", "-v"]
        log("run: " + " ".join(argv))
        r = swarm.run_measured(argv, 60, sw.log_dir, "dht-leecher")
        log("actorrent from a bare magnet link: " + describe(r))
        check_run_ok(r, "actorrent (magnet link, DHT only)")
        check("metadata received" in r.stdout, "the metadata did not come from the seeder")
        problems = swarm.verify_files(os.path.join(out, "dht.bin"), path)
        check(not problems, "the downloaded file is wrong: " + "; ".join(problems))
        check(f"127.0.0.1:{seed_port}" in r.stderr, "the seeder's address never appears in the log")
        # Both ends run a DHT: each told the other its node's port (PORT).
        check(f"DHT: pinging 127.0.0.1:{dht_port} (a peer's PORT)" in seeder.stderr(),
              "the seeder did not take the downloader's PORT message")

        text = open(trace).read()
        check("inet_addr(" in text, "the trace shows no datagram at all")
        bad = outside_loopback(text)
        check(not bad, f"traffic left loopback: {sorted(set(bad))}")
        check("htons(53)" not in text, "a name was resolved although a bootstrap node was given")

        state = os.path.join(out, ".actorrent", "dht.dat")
        check(os.path.isfile(state), f"no DHT state saved at {state}")
        d = swarm.bdecode(open(state, "rb").read())
        check(len(d[b"id"]) == 20, "the saved node id is not 20 bytes")
        nodes = d[b"nodes"]
        check(len(nodes) % 26 == 0 and len(nodes) >= 26, f"the state file holds {len(nodes)} bytes of nodes")
        ports = {int.from_bytes(nodes[i + 24:i + 26], "big") for i in range(0, len(nodes), 26)}
        check(int(router.split(":")[1]) in ports, "the bootstrap node is not among the saved nodes")
        log(f"ok: found the seeder through the DHT; {len(nodes) // 26} nodes saved")

        # A restart with that state file and no bootstrap node joins through
        # the saved nodes (which hold the seeder's announce), and asks no
        # public router: the state file has nodes.
        out2 = sw.mkdir("out-restart")
        trace2 = sw.path("strace-restart.txt")
        argv = [strace, "-f", "-qq", "-e", "trace=connect,sendto,sendmsg,sendmmsg", "-o", trace2,
                swarm.find_actorrent(), link, "-d", out2, "--bind", "127.0.0.1", "-p", str(swarm.free_port()),
                "--dht-port", str(swarm.free_port()), "--dht-state", state, "--stall-timeout", "20", "-v"]
        log("run: " + " ".join(argv))
        r = swarm.run_measured(argv, 60, sw.log_dir, "dht-restart")
        log("again from the saved DHT state alone: " + describe(r))
        check_run_ok(r, "actorrent (magnet link, saved DHT state, no bootstrap node)")
        check(not swarm.verify_files(os.path.join(out2, "dht.bin"), path), "the second download is wrong")
        check(re.search(r"DHT: node [0-9a-f]{40} on UDP port \d+, [1-9]\d* saved nodes, 0 bootstrap nodes", r.stderr),
              "the saved nodes were not used")
        check(d[b"id"].hex() in r.stderr, "the saved node id was not used")
        text = open(trace2).read()
        bad = outside_loopback(text)
        check(not bad, f"traffic left loopback on restart: {sorted(set(bad))}")
        check("htons(53)" not in text, "a name was resolved on restart (a public router?)")
        log("ok: the restart joined through the saved nodes")


def lt_dht_session(ip, port):
    import libtorrent as lt
    # As in test_dht_libtorrent.py: no routers, everything on 127/8 allowed.
    return lt.session({
        "listen_interfaces": f"{ip}:{port}",
        "outgoing_interfaces": ip,
        "enable_dht": True,
        "dht_bootstrap_nodes": "",
        "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
        "enable_incoming_utp": False, "enable_outgoing_utp": False,
        "allow_multiple_connections_per_ip": True,
        "dht_restrict_routing_ips": False, "dht_restrict_search_ips": False,
        "dht_prefer_verified_node_ids": False, "dht_ignore_dark_internet": False,
        "alert_mask": 0,
    })


def libtorrent_finds_actorrent():
    swarm.need_libtorrent()
    import libtorrent as lt
    with swarm.Swarm("dht-libtorrent") as sw:
        torrent, content, path, ih = sw.make_single(SIZE, 64 * 1024, name="dht-lt.bin")
        pa, pb = swarm.free_port(), swarm.free_port()
        a = lt_dht_session("127.0.0.2", pa)
        b = lt_dht_session("127.0.0.3", pb)
        try:
            a.add_dht_node(("127.0.0.3", pb))
            b.add_dht_node(("127.0.0.2", pa))
            swarm.wait_until(lambda: a.is_dht_running() and b.is_dht_running(), 10, "libtorrent's DHT")
            seed_port, seeder = start_seeder(sw, torrent, content, f"127.0.0.3:{pb}", ih)

            out = sw.mkdir("out")
            params = lt.parse_magnet_uri(f"magnet:?xt=urn:btih:{ih}")
            params.save_path = out
            h = a.add_torrent(params)
            deadline = time.monotonic() + 30
            next_announce = 0.0
            while time.monotonic() < deadline and not h.status().is_seeding:
                if time.monotonic() >= next_announce:
                    h.force_dht_announce()
                    next_announce = time.monotonic() + 3
                time.sleep(0.2)
            st = h.status()
            log(f"libtorrent: has_metadata={st.has_metadata} seeding={st.is_seeding} "
                f"peers={st.num_peers} progress={st.progress:.2f}")
            check(st.is_seeding, "libtorrent did not download the torrent through the DHT")
            peers = {(p.ip[0], p.ip[1]) for p in h.get_peer_info()}
            log(f"libtorrent's peers: {sorted(peers)}")
            problems = swarm.verify_files(os.path.join(out, "dht-lt.bin"), path)
            check(not problems, "libtorrent's file is wrong: " + "; ".join(problems))
            check("peer 127.0.0.2:" in seeder.stderr(), "libtorrent never connected to the actorrent seeder")
            check(f"DHT: pinging 127.0.0.2:{pa} (a peer's PORT)" in seeder.stderr(),
                  "libtorrent's PORT message did not reach the seeder's DHT")
            log("ok: libtorrent found the actorrent seeder through the DHT")
        finally:
            del a, b


def actorrent_finds_libtorrent():
    swarm.need_libtorrent()
    import libtorrent as lt
    with swarm.Swarm("dht-lt-seed") as sw:
        torrent, content, path, ih = sw.make_single(SIZE, 64 * 1024, name="dht-lts.bin")
        pa, pb = swarm.free_port(), swarm.free_port()
        a = lt_dht_session("127.0.0.2", pa)
        b = lt_dht_session("127.0.0.3", pb)
        try:
            a.add_dht_node(("127.0.0.3", pb))
            b.add_dht_node(("127.0.0.2", pa))
            swarm.wait_until(lambda: a.is_dht_running() and b.is_dht_running(), 10, "libtorrent's DHT")
            params = lt.add_torrent_params()
            params.ti = lt.torrent_info(torrent)
            params.save_path = content
            h = a.add_torrent(params)
            swarm.wait_until(lambda: h.status().is_seeding, 20, "libtorrent to seed")
            # libtorrent's first DHT announce of a torrent takes a while
            # (force_dht_announce does not make it immediate; session-wide
            # dht_announce cannot be called from Python): actorrent's search
            # finds nobody at first and looks again 15 s later.
            h.force_dht_announce()
            out = sw.mkdir("out")
            r = sw.run_actorrent(f"magnet:?xt=urn:btih:{ih}", out, dht=True, timeout=60, extra_args=[
                "--dht-port", str(swarm.free_port()), "--dht-bootstrap", f"127.0.0.3:{pb}",
                "--stall-timeout", "20", "-v"])
            log("actorrent from a bare magnet link, libtorrent seeding: " + describe(r))
            check_run_ok(r, "actorrent (magnet link, libtorrent seeder through the DHT)")
            problems = swarm.verify_files(os.path.join(out, "dht-lts.bin"), path)
            check(not problems, "the downloaded file is wrong: " + "; ".join(problems))
            log("ok: actorrent found the libtorrent seeder through the DHT")
        finally:
            del a, b


def main():
    which = sys.argv[1] if len(sys.argv) > 1 else "actorrent"
    {"actorrent": actorrent_finds_actorrent, "libtorrent": libtorrent_finds_actorrent,
     "libtorrent_seed": actorrent_finds_libtorrent}[which]()


if __name__ == "__main__":
    swarm.e2e_main(main)
