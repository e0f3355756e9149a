#!/usr/bin/python3
"""File selection against a libtorrent seeder of a multi-file torrent.

`--only 1,7,9` downloads exactly those files (numbered as `actorrent show`
lists them) and exits 0: each is identical to the seeder's, every other file
is absent or holds only the bytes of pieces it shares with a chosen file
(the rest of it sparse zeros), only the chosen files' pieces are fetched,
and the resume file claims exactly those pieces; the tracker hears no
"completed" (the torrent is not complete). A second run without --only
fetches only the rest (byte counter), from the resume data, the whole tree
is then identical, and that run announces "completed"."""

import json
import os
import sys

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import check, check_run_ok, describe, log  # noqa: E402

PIECE = 64 * 1024   # several small files share a piece
CHOSEN = [1, 7, 9]  # a_big.bin, nested/g_piece.bin, z_last.bin (1-based, torrent order)


def file_ranges(ti):
    """(offset, size) of each file in the torrent's data, in torrent order."""
    out, off = [], 0
    for _, size in ti.files:
        out.append((off, size))
        off += size
    return out


def pieces_of(offset, size, piece):
    return set(range(offset // piece, (offset + size - 1) // piece + 1)) if size > 0 else set()


def main():
    swarm.need_libtorrent()
    with swarm.Swarm("file-selection") as sw:
        tracker_port = swarm.free_port()
        torrent, save, root, ih = sw.make_multi(
            PIECE, announce=f"http://127.0.0.1:{tracker_port}/announce")
        ti = swarm.read_torrent(torrent)
        ranges = file_ranges(ti)
        chosen = {i - 1 for i in CHOSEN}
        wanted = set()
        for i in chosen:
            wanted |= pieces_of(*ranges[i], PIECE)

        def piece_size(p):
            return min(PIECE, ti.total_size - p * PIECE)
        wanted_bytes = sum(piece_size(p) for p in wanted)
        log(f"{len(ti.files)} files, {ti.num_pieces} pieces; --only {CHOSEN} wants "
            f"{len(wanted)} pieces ({wanted_bytes} bytes)")

        port = sw.start_lt_seeder(torrent, save)
        _, tracker_log = sw.start_hostile_tracker("good", port=tracker_port, peers=[port])

        def our_events():
            with open(tracker_log) as f:
                records = [json.loads(line) for line in f if line.strip()]
            return [r.get("event", "") for r in records if r.get("peer_id", "").startswith("-AR")]
        out = sw.mkdir("out")
        only = ",".join(str(i) for i in CHOSEN)
        r = sw.run_actorrent(torrent, out, peers=[port], extra_args=["--only", only], timeout=60)
        log(describe(r))
        check_run_ok(r)
        check("complete:" in r.stdout, "no 'complete:' line after the selection was fetched")

        for i, (rel, size) in enumerate(ti.files):
            src = os.path.join(root, rel)
            dst = os.path.join(out, ti.name, rel)
            if i in chosen:
                check(os.path.isfile(dst), f"chosen file {rel} is missing")
                check(swarm.sha256_file(dst) == swarm.sha256_file(src), f"chosen file {rel} differs")
                continue
            if not os.path.exists(dst):
                log(f"skipped {rel}: absent")
                continue
            check(os.path.getsize(dst) in (0, size),
                  f"skipped file {rel} has {os.path.getsize(dst)} bytes, not 0 or {size}")
            off, _ = ranges[i]
            with open(src, "rb") as f:
                original = f.read()
            with open(dst, "rb") as f:
                got = f.read()
            shared = 0
            for k in range(len(got)):
                p = (off + k) // PIECE
                if p in wanted:
                    check(got[k] == original[k], f"{rel}: byte {k} of shared piece {p} differs")
                    shared += 1
                else:
                    check(got[k] == 0, f"{rel}: byte {k} (piece {p}, not wanted) was written")
            check(shared > 0 or size == 0, f"skipped file {rel} exists without sharing a piece")
            log(f"skipped {rel}: only the {shared} bytes it shares with chosen files")

        st = swarm.stats_of(r)
        margin = 2 * PIECE  # end-game duplicates at most
        swarm.check_fetched_missing(st, wanted_bytes, margin, "--only run")
        claims = swarm.resume_claims(out, ih, ti.num_pieces)
        check(claims is not None and set(claims) == wanted,
              f"resume file claims {claims} instead of the {len(wanted)} wanted pieces")
        swarm.check_resume_truthful(torrent, out, "--only run")
        log(f"--only: downloaded={st['downloaded']} for {wanted_bytes} bytes of wanted pieces")
        events = our_events()
        check("started" in events and "completed" not in events,
              f"--only run announced {events}: 'completed' is for the whole torrent")
        seen = len(events)

        # Every file now: only what the first run left out comes over the wire.
        r2 = sw.run_actorrent(torrent, out, peers=[port], timeout=60)
        log(describe(r2))
        check_run_ok(r2)
        present = swarm.parse_checked(r2.stdout, ti.num_pieces)
        check(present == len(wanted), f"second run found {present} pieces present, expected "
                                      f"{len(wanted)} from the resume data")
        st2 = swarm.stats_of(r2)
        rest = ti.total_size - wanted_bytes
        swarm.check_fetched_missing(st2, rest, margin, "second run")
        problems = swarm.verify_files(os.path.join(out, ti.name), root)
        check(not problems, "tree after the second run is wrong: " + "; ".join(problems))
        log(f"second run: downloaded={st2['downloaded']} for the {rest} bytes left; tree identical")
        events = our_events()[seen:]
        check("completed" in events, f"the run that completed the torrent announced {events}")
        log(f"tracker events: --only run without 'completed', second run {events}")


if __name__ == "__main__":
    swarm.e2e_main(main)
