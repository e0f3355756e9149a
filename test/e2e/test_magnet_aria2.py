#!/usr/bin/python3
"""Magnet links between actorrent and aria2c, both ways.

1. aria2c seeds a torrent (listening on 127.0.0.1, DHT, LPD and PEX off);
   actorrent is given only `magnet:?xt=urn:btih:<hash>&x.pe=127.0.0.1:PORT`
   and must fetch the metadata from aria2c, then the data.
2. actorrent seeds a torrent announced to opentracker; aria2c is given only
   `magnet:?xt=urn:btih:<hash>&tr=<tracker>` (aria2c takes no peer
   addresses), finds actorrent through the tracker, fetches the metadata
   from it and downloads."""

import os
import signal
import sys
import urllib.parse

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import MiB, check, check_run_ok, describe, log  # noqa: E402

SIZE = 16 * MiB


def main():
    aria2c = swarm.need_tool("aria2c")
    swarm.need_tool("opentracker")
    with swarm.Swarm("magnet-aria2") as sw:
        # 1. aria2c seeds, actorrent fetches from a magnet link.
        torrent, save, content, ih = sw.make_single(SIZE, 64 * 1024, name="from-aria2.bin")
        aria_port = swarm.free_port()
        argv = [aria2c, "--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false",
                "--enable-peer-exchange=false", "--seed-ratio=0.0", "--check-integrity=true",
                "--listen-port", str(aria_port), "--dht-listen-port", str(swarm.free_port()),
                "--bt-require-crypto=false", "--console-log-level=warn",
                "--summary-interval=0", "--dir", save, torrent]
        log("start: " + " ".join(argv))
        seeder = swarm.Background(argv, sw.log_dir, "aria2c-seed")
        sw.handles.append(seeder)
        swarm.wait_until(lambda: swarm.port_accepts(aria_port), 30, "aria2c to listen",
                         interval=0.2)
        out = sw.mkdir("out-actorrent")
        link = f"magnet:?xt=urn:btih:{ih}&x.pe=127.0.0.1:{aria_port}"
        r = sw.run_actorrent(link, out, timeout=90, extra_args=["--stall-timeout", "40"])
        log("actorrent from aria2c by magnet link: " + describe(r))
        check_run_ok(r, "actorrent (magnet, aria2c seeder)")
        check("metadata received" in r.stdout, "actorrent did not report the metadata")
        problems = swarm.verify_files(os.path.join(out, "from-aria2.bin"), content)
        check(not problems, "actorrent's file is wrong: " + "; ".join(problems))
        check(swarm.info_hash(os.path.join(out, ".actorrent", ih + ".torrent")) == ih,
              "the saved torrent has another info-hash")
        seeder.stop(signal.SIGTERM, grace=5)

        # 2. actorrent seeds, aria2c fetches from a magnet link via the tracker.
        tracker_port = swarm.free_port()
        url = f"http://127.0.0.1:{tracker_port}/announce"
        torrent2, save2, content2, ih2 = sw.make_single(SIZE, 64 * 1024, announce=url,
                                                        name="from-actorrent.bin")
        sw.start_opentracker([ih2], port=tracker_port)
        port = sw.start_actorrent_seeder(torrent2, save2)
        sw.wait_tracker_lists(url, ih2, [port])
        out2 = sw.mkdir("out-aria2")
        link2 = f"magnet:?xt=urn:btih:{ih2}&tr={urllib.parse.quote(url, safe='')}"
        r = sw.run_aria2c(link2, out2, timeout=120)
        log("aria2c from actorrent by magnet link: " + describe(r))
        check_run_ok(r, "aria2c (magnet, actorrent seeder)")
        problems = swarm.verify_files(os.path.join(out2, "from-actorrent.bin"), content2)
        check(not problems, "aria2c's file is wrong: " + "; ".join(problems))


if __name__ == "__main__":
    swarm.e2e_main(main)
