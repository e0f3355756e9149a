#!/usr/bin/python3
"""actorrent downloads from magnet links: the metainfo from peers (BEP 9),
then the data.

1. A libtorrent seeder (DHT, LSD, UPnP, NAT-PMP off) is the only source: the
   link has only the info-hash, a name and x.pe=127.0.0.1:PORT.  actorrent
   must finish with the right file, report the metadata, and leave
   DIR/.actorrent/<hash>.torrent, a valid torrent of the same info-hash.
2. The seeder is gone; the same link and directory again: the saved
   .torrent is used (no peer could give the metadata), the data is found
   complete, exit 0.
3. Through opentracker: the link names only the tracker (tr=...), no peer;
   the libtorrent seeder announces there.  actorrent learns the seeder from
   the tracker, fetches metadata and data; the saved .torrent carries the
   tracker as announce.
4. The metadata bound: with --max-metadata-size below the dictionary's size
   the seeder's offer is refused (it is banned) and actorrent gives up with
   exit 3 after its stall timeout, leaving no .torrent."""

import os
import sys
import urllib.parse

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import MiB, check, check_run_ok, describe, log  # noqa: E402

SIZE = 24 * MiB


def saved_torrent(out, ih):
    return os.path.join(out, ".actorrent", ih + ".torrent")


def main():
    swarm.need_libtorrent()
    swarm.need_tool("opentracker")
    with swarm.Swarm("magnet-download") as sw:
        # 1. x.pe only.
        torrent, save, content, ih = sw.make_single(SIZE, 32 * 1024, name="direct.bin")
        info = swarm.bdecode(open(torrent, "rb").read())[b"info"]
        info_len = len(swarm.bencode(info))
        log(f"info dictionary: {info_len} bytes, {(info_len + 16383) // 16384} metadata pieces")
        lt_port = sw.start_lt_seeder(torrent, save)
        link = f"magnet:?xt=urn:btih:{ih}&dn=direct.bin&x.pe=127.0.0.1:{lt_port}"
        out = sw.mkdir("out-direct")
        r = sw.run_actorrent(link, out, timeout=90, extra_args=["--stall-timeout", "30"])
        log("actorrent from a magnet link (x.pe): " + describe(r))
        check_run_ok(r, "actorrent (magnet, x.pe)")
        check("metadata received" in r.stdout, "actorrent did not report the metadata")
        problems = swarm.verify_files(os.path.join(out, "direct.bin"), content)
        check(not problems, "the downloaded file is wrong: " + "; ".join(problems))
        path = saved_torrent(out, ih)
        check(os.path.isfile(path), f"no saved torrent at {path}")
        check(swarm.info_hash(path) == ih, "the saved torrent has another info-hash")
        ti = swarm.read_torrent(path)
        check(ti.name == "direct.bin" and ti.total_size == SIZE,
              f"the saved torrent describes {ti.name} of {ti.total_size} bytes")
        st = swarm.stats_of(r)
        check(st["downloaded"] >= SIZE, f"downloaded={st['downloaded']} < {SIZE}")

        # 2. The peer is gone; the saved .torrent stands in for it.
        sw.stop(sw.find_proc(f"lt_seed-{lt_port}"))
        check(not swarm.port_accepts(lt_port), "the libtorrent seeder still accepts connections")
        r = sw.run_actorrent(link, out, timeout=60, extra_args=["--stall-timeout", "20"])
        log("actorrent again, seeder gone: " + describe(r))
        check_run_ok(r, "actorrent (magnet, saved torrent)")
        check("metadata read" in r.stdout, "the saved torrent was not used")
        check("was already in" in r.stdout, "the complete data was not recognised")
        check(swarm.stats_of(r)["downloaded"] == 0, "data was downloaded again")

        # 3. Through opentracker: tr only.
        tracker_port = swarm.free_port()
        url = f"http://127.0.0.1:{tracker_port}/announce"
        torrent2, save2, content2, ih2 = sw.make_single(SIZE, 64 * 1024, announce=url,
                                                        name="tracked.bin")
        sw.start_opentracker([ih2], port=tracker_port)
        lt_port2 = sw.start_lt_seeder(torrent2, save2)
        sw.wait_tracker_lists(url, ih2, [lt_port2])
        link2 = f"magnet:?xt=urn:btih:{ih2}&tr={urllib.parse.quote(url, safe='')}"
        out2 = sw.mkdir("out-tracker")
        r = sw.run_actorrent(link2, out2, timeout=90, extra_args=["--stall-timeout", "30"])
        log("actorrent from a magnet link (tr): " + describe(r))
        check_run_ok(r, "actorrent (magnet, tracker)")
        problems = swarm.verify_files(os.path.join(out2, "tracked.bin"), content2)
        check(not problems, "the file via the tracker is wrong: " + "; ".join(problems))
        ti2 = swarm.read_torrent(saved_torrent(out2, ih2))
        check(url in ti2.announce, f"the saved torrent's trackers are {ti2.announce}")

        # 4. Over the metadata bound: refused.
        out3 = sw.mkdir("out-bound")
        link3 = f"magnet:?xt=urn:btih:{ih2}&x.pe=127.0.0.1:{lt_port2}"
        r = sw.run_actorrent(link3, out3, timeout=60,
                             extra_args=["--stall-timeout", "5", "--max-metadata-size",
                                         str(info_len // 2), "-v"])
        log("actorrent with a metadata bound below the size: " + describe(r))
        check(r.returncode == 3, f"expected exit 3 (gave up), got {r.returncode}")
        check("more than the limit" in r.stderr, "the refusal of the size is not logged")
        check(not os.path.exists(saved_torrent(out3, ih2)), "a torrent was saved anyway")


if __name__ == "__main__":
    swarm.e2e_main(main)
