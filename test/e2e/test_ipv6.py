#!/usr/bin/python3
"""IPv6 on ::1: actorrent downloads from a libtorrent seeder listening on
[::1] (`-a [::1]:PORT`), and again knowing it only from an HTTP tracker's
compact `peers6`, and from a UDP tracker on [::1] (BEP 15: 18-byte
entries), then seeds over a dual-stack socket (`--bind ::`)
to a libtorrent downloader that connects over ::1, to an actorrent leecher
that connects over 127.0.0.1 (and is known by that address, not as
::ffff:127.0.0.1), and serves a magnet link whose only peer is
`x.pe=[::1]:PORT`.  Every download must be byte-identical.  Skipped (77)
when the machine has no ::1."""

import os
import signal
import socket
import sys

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import MiB, check, check_run_ok, describe, log  # noqa: E402

SIZE = 2 * MiB
PIECE = 256 * 1024
TIMEOUT = 60


def have_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def main():
    if not have_ipv6_loopback():
        raise swarm.Skip("no IPv6 loopback (::1) on this machine")
    swarm.need_libtorrent()
    with swarm.Swarm("ipv6") as sw:
        torrent, content, path, ih = sw.make_single(SIZE, PIECE)
        name = os.path.basename(path)

        lt_port = sw.start_lt_seeder(torrent, content, host="::1")
        out = sw.mkdir("from-lt")
        r = sw.start_actorrent(torrent, out, peers=[f"[::1]:{lt_port}"],
                               extra_args=["--bind", "::"], what="v6-leecher").finish(TIMEOUT)
        log(f"actorrent from libtorrent on [::1]: {describe(r)}")
        check_run_ok(r, "actorrent downloading from [::1]")
        problems = swarm.verify_files(os.path.join(out, name), path)
        check(not problems, "download from [::1]: " + "; ".join(problems))
        check(swarm.stats_of(r)["downloaded"] >= SIZE, "the download did not come from the [::1] seeder")

        url, _ = sw.start_hostile_tracker("good", peers=[f"[::1]:{lt_port}"])
        tracked = sw.path("tracked.torrent")
        swarm.make_torrent(path, tracked, PIECE, url)
        t_out = sw.mkdir("from-tracker")
        rt = sw.start_actorrent(tracked, t_out, extra_args=["--bind", "::"],
                                what="v6-tracker-leecher").finish(TIMEOUT)
        log(f"actorrent told of [::1]:{lt_port} by peers6: {describe(rt)}")
        check_run_ok(rt, "actorrent downloading from a peers6 peer")
        problems = swarm.verify_files(os.path.join(t_out, name), path)
        check(not problems, "download from a peers6 peer: " + "; ".join(problems))

        udp_url, _ = sw.start_udp_tracker(peers=[f"[::1]:{lt_port}"], host="::1")
        udp_torrent = sw.path("udp.torrent")
        swarm.make_torrent(path, udp_torrent, PIECE, udp_url)
        u_out = sw.mkdir("from-udp-tracker")
        ru = sw.start_actorrent(udp_torrent, u_out, extra_args=["--bind", "::"],
                                what="v6-udp-leecher").finish(TIMEOUT)
        log(f"actorrent told of [::1]:{lt_port} by a UDP tracker on [::1]: {describe(ru)}")
        check_run_ok(ru, "actorrent downloading from a peer of a UDP tracker on [::1]")
        problems = swarm.verify_files(os.path.join(u_out, name), path)
        check(not problems, "download from a UDP tracker's IPv6 peer: " + "; ".join(problems))

        # What actorrent fetched over IPv6, it now seeds on "::".
        port = sw.start_actorrent_seeder(torrent, out, extra_args=["--bind", "::", "-v"])
        seeder = sw.actorrent_at(port)
        check(swarm.port_accepts(port, "::1"), f"actorrent --bind :: does not accept on [::1]:{port}")

        lt_out = sw.mkdir("lt-from-actorrent")
        r6 = sw.run_lt_download(torrent, lt_out, peers=[f"[::1]:{port}"], timeout=TIMEOUT, host="::1")
        log(f"libtorrent from actorrent over ::1: {describe(r6)}")
        check(r6.returncode == 0, f"libtorrent over ::1 did not complete: {describe(r6)}\n"
              + swarm.tail(r6.stdout + r6.stderr))
        problems = swarm.verify_files(os.path.join(lt_out, name), path)
        check(not problems, "libtorrent over ::1: " + "; ".join(problems))

        v4_out = sw.mkdir("v4-from-actorrent")
        r4 = sw.start_actorrent(torrent, v4_out, peers=[port], what="v4-leecher").finish(TIMEOUT)
        log(f"actorrent over 127.0.0.1 to the same socket: {describe(r4)}")
        check_run_ok(r4, "actorrent over 127.0.0.1 to --bind ::")
        problems = swarm.verify_files(os.path.join(v4_out, name), path)
        check(not problems, "IPv4 download from --bind ::: " + "; ".join(problems))

        m_out = sw.mkdir("magnet")
        link = f"magnet:?xt=urn:btih:{ih}&x.pe=[::1]:{port}"
        rm = sw.start_actorrent(link, m_out, what="magnet-v6").finish(TIMEOUT)
        log(f"magnet with x.pe=[::1]:{port}: {describe(rm)}")
        check_run_ok(rm, "magnet over ::1")
        problems = swarm.verify_files(os.path.join(m_out, name), path)
        check(not problems, "magnet over ::1: " + "; ".join(problems))

        s = seeder.stop(signal.SIGTERM, grace=15)
        check(not s.timed_out and s.returncode == 0, f"seeder stopped by SIGTERM: {describe(s)}")
        # An IPv4 peer on the dual-stack socket is known by its IPv4 address
        # (bans, PEX and the status name it so), not as ::ffff:127.0.0.1.
        seen = s.stdout + s.stderr
        check("peer 127.0.0.1:" in seen, "the seeder's log names no peer 127.0.0.1:PORT:\n"
              + swarm.tail(seen))
        check("::ffff:" not in seen, "the seeder names an IPv4 peer by its IPv4-mapped address:\n"
              + swarm.tail(seen))
        up = swarm.stats_of(s, "seeder")["uploaded"]
        check(up >= 3 * SIZE, f"the seeder on :: uploaded {up} < {3 * SIZE} bytes")


if __name__ == "__main__":
    swarm.e2e_main(main)
