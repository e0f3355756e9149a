#!/usr/bin/python3
"""The fast extension (BEP 6) with real and scripted peers, on a 4 MiB
torrent of 64 pieces.

1. actorrent downloads from a libtorrent seeder: both set the handshake bit,
   so the seeder sends HAVE_ALL instead of a bitfield; actorrent's -v log
   names the connection as fast, and the file is byte-identical.
2. actorrent downloads from a scripted seeder (tools/swarm/mock_peers.py
   fast-choked) that never unchokes it but makes every piece allowed-fast
   and suggests one piece: the download completes only by requesting
   allowed-fast pieces while choked; actorrent, having nothing, says
   HAVE_NONE, and its first request is for the suggested piece.
3. `actorrent seed` faces a scripted downloader (leech-fast) that stays
   choked: the seeder sends HAVE_ALL and its allowed-fast set, rejects a
   request outside the set, serves one inside it while choking, and answers
   a CANCEL with a REJECT.  The same messages without the handshake bit get
   the downloader disconnected.  Then libtorrent downloads from the seeder
   over a fast connection."""

import json
import os
import signal
import sys

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import MiB, check, check_run_ok, describe, log  # noqa: E402

SIZE = 4 * MiB
PIECE = 64 * 1024
PIECES = SIZE // PIECE
SUGGESTED = PIECES - 3


def fast_lines(text: str) -> list:
    return [ln for ln in text.splitlines() if "fast extension (BEP 6)" in ln]


def leech_result(sw, torrent: str, port: int, extra: list) -> dict:
    h, path = sw.start_leech_mock("leech-fast", torrent, port, extra=extra + ["--deadline", "10"])
    h.finish(60)
    recs = [x for x in swarm.read_jsonl(path) if x["event"] == "result"]
    check(bool(recs), f"leech-fast {extra} logged no result: {swarm.tail(h.stderr(), 5)}")
    log(f"leech-fast {' '.join(extra)}: {json.dumps(recs[-1])}")
    return recs[-1]


def main():
    swarm.need_libtorrent()
    with swarm.Swarm("fast") as sw:
        dead = swarm.free_port()
        torrent, save, content, _ = sw.make_single(
            SIZE, PIECE, announce=f"http://127.0.0.1:{dead}/announce")
        name = os.path.basename(content)

        # 1. From libtorrent.
        lt_port = sw.start_lt_seeder(torrent, save)
        out = sw.mkdir("from-libtorrent")
        r = sw.run_actorrent(torrent, out, peers=[lt_port], extra_args=["-v"], timeout=60)
        log("actorrent from libtorrent: " + describe(r))
        check_run_ok(r, "actorrent (from libtorrent)")
        problems = swarm.verify_files(os.path.join(out, name), content)
        check(not problems, "the file downloaded from libtorrent is wrong: " + "; ".join(problems))
        lines = [ln for ln in fast_lines(r.stderr) if f"127.0.0.1:{lt_port} " in ln]
        check(bool(lines), "actorrent's log does not show the fast extension with the libtorrent "
                           f"seeder on port {lt_port}")
        log("negotiated: " + lines[0].strip())

        # 2. From a seeder that chokes but allows every piece.
        mport, mlog = sw.start_mock("fast-choked", torrent, content,
                                    extra=["--suggest", str(SUGGESTED)])
        out = sw.mkdir("from-choking-seeder")
        r = sw.run_actorrent(torrent, out, peers=[mport], extra_args=["-v"], timeout=60)
        log("actorrent from the choking seeder: " + describe(r))
        check_run_ok(r, "actorrent (allowed-fast pieces only)")
        problems = swarm.verify_files(os.path.join(out, name), content)
        check(not problems, "the file downloaded through allowed-fast pieces is wrong: "
              + "; ".join(problems))
        recs = swarm.read_jsonl(mlog)
        events = [x["event"] for x in recs]
        check("sent_unchoke" not in events, "the fast-choked mock unchoked (mock broken)")
        check("have_none" in events, f"actorrent did not send HAVE_NONE: {events[:12]}")
        check("bitfield" not in events, "actorrent sent a bitfield although it had nothing")
        requests = [x for x in recs if x["event"] == "request"]
        check(bool(requests) and requests[0]["piece"] == SUGGESTED,
              f"the first request is for piece {requests[0]['piece'] if requests else None}, "
              f"not the suggested piece {SUGGESTED}")
        log(f"{len(requests)} requests while choked; the first for the suggested piece")

        # 3. Seeding to fast downloaders.
        port = sw.start_actorrent_seeder(torrent, save, extra_args=["-v"])
        seeder = sw.actorrent_at(port)
        res = leech_result(sw, torrent, port, [])
        failures = []
        expect = {
            "fast_bit": "the seeder's handshake lacks the fast bit",
            "have_all": "the seeder sent no HAVE_ALL",
            "outside_rejected": "a request outside the allowed-fast set was not rejected",
            "allowed_served_choked": "an allowed-fast request was not served while choked",
            "cancel_rejected": "a CANCEL was not answered with a REJECT",
        }
        for key, what in expect.items():
            if not res.get(key):
                failures.append(what)
        if res.get("outside_served") or res.get("cancelled_served"):
            failures.append("a rejected or cancelled request was served")
        if len(res.get("allowed_fast", [])) != 10:
            failures.append(f"allowed-fast set of {len(res.get('allowed_fast', []))} pieces, "
                            f"expected 10")
        if res.get("unchoked_meanwhile"):
            failures.append("the seeder unchoked a peer that never said interested")
        res = leech_result(sw, torrent, port, ["--variant", "nobit"])
        after = res.get("seconds_to_disconnect")
        if not res.get("disconnected") or after is None or after > 5:
            failures.append("HAVE_NONE without the handshake bit did not end the connection "
                            f"within 5 s: {res.get('seconds_to_disconnect')}")
        check(not failures, "the seeder did not follow BEP 6:\n  " + "\n  ".join(failures))

        out = sw.mkdir("libtorrent-from-actorrent")
        r = sw.run_lt_download(torrent, out, peers=[port], timeout=60)
        log("libtorrent from actorrent: " + describe(r))
        check_run_ok(r, "libtorrent (from actorrent)")
        problems = swarm.verify_files(os.path.join(out, name), content)
        check(not problems, "libtorrent's file is wrong: " + "; ".join(problems))
        s = seeder.stop(signal.SIGTERM, grace=15)
        check(not s.timed_out and s.returncode == 0, f"the seeder did not exit 0: {describe(s)}")
        lines = [ln for ln in fast_lines(s.stderr) if "libtorrent" in ln]
        check(bool(lines), "the seeder's log shows no fast connection with libtorrent")
        log("negotiated: " + lines[0].strip())


if __name__ == "__main__":
    swarm.e2e_main(main)
