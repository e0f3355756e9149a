#!/usr/bin/python3
"""actorrent seeds, libtorrent starts from a magnet link and fetches the
metadata from actorrent (BEP 9 over BEP 10), then the data.

Two single-file torrents are seeded by `actorrent seed`, one after the
other: 4 MiB in 64 KiB pieces (an info dictionary that fits one 16 KiB
metadata piece) and 64 MiB in 32 KiB pieces (40 KiB of piece hashes: three
metadata pieces, the last one short).  libtorrent is given only
`magnet:?xt=urn:btih:<hash>` and actorrent's address as a peer: it can
learn the metadata from nobody else.  It must report the metadata, finish,
and hold a byte-identical file."""

import os
import signal
import sys

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import MiB, check, check_run_ok, describe, log  # noqa: E402



def serve_once(sw, size, piece_length, tag):
    torrent, save, content, ih = sw.make_single(size, piece_length, name=f"served-{tag}.bin")
    info_len = len(swarm.bencode(swarm.bdecode(open(torrent, "rb").read())[b"info"]))
    log(f"{tag}: info dictionary of {info_len} bytes ({(info_len + 16383) // 16384} metadata pieces)")
    port = sw.start_actorrent_seeder(torrent, save)
    seeder = sw.actorrent_at(port)
    out = sw.mkdir(f"out-{tag}")
    r = sw.run_lt_download(f"magnet:?xt=urn:btih:{ih}", out, peers=[port], timeout=60)
    log(f"libtorrent from a magnet link: " + describe(r))
    check_run_ok(r, "libtorrent (magnet, actorrent as its only peer)")
    check("METADATA" in r.stdout, "libtorrent never reported the metadata")
    problems = swarm.verify_files(os.path.join(out, os.path.basename(content)), content)
    check(not problems, "libtorrent's file is wrong: " + "; ".join(problems))
    s = seeder.stop(signal.SIGTERM, grace=15)
    check(s.returncode == 0, f"the seeder exited {s.returncode}")
    return info_len


def main():
    swarm.need_libtorrent()
    with swarm.Swarm("magnet-serve") as sw:
        one = serve_once(sw, 4 * MiB, 64 * 1024, "one-piece")
        check(one <= 16384, f"the small dictionary is {one} bytes, meant to fit one metadata piece")
        several = serve_once(sw, 64 * MiB, 32 * 1024, "several-pieces")
        check(several > 2 * 16384, f"the large dictionary is only {several} bytes")


if __name__ == "__main__":
    swarm.e2e_main(main)
