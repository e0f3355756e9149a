#!/usr/bin/python3
"""File selection against a libtorrent seeder of a multi-file torrent.

`--only 1,7,9` downloads exactly those files (numbered as `actorrent show`
lists them) and exits 0: each is identical to the seeder's, every other file
is absent or holds only the bytes of pieces it shares with a chosen file
(the rest of it sparse zeros), only the chosen files' pieces are fetched,
and the resume file claims exactly those pieces; the tracker hears no
"completed" (the torrent is not complete). A second run without --only
fetches only the rest (byte counter), from the resume data, the whole tree
is then identical, and that run announces "completed".

The same `--only` given with a magnet link (the seeder serves the metadata)
is applied once the metadata arrives: the same files, the same pieces
fetched and claimed.  A magnet link with `--only` naming a file the torrent
does not have ends with an error that says so, and writes no data."""

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
        margin = 2 * PIECE  # end-game duplicates at most

        def check_selection(r, out, what):
            for i, (rel, size) in enumerate(ti.files):
                src = os.path.join(root, rel)
                dst = os.path.join(out, ti.name, rel)
                if i in chosen:
                    check(os.path.isfile(dst), f"{what}: chosen file {rel} is missing")
                    check(swarm.sha256_file(dst) == swarm.sha256_file(src),
                          f"{what}: chosen file {rel} differs")
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
            swarm.check_fetched_missing(st, wanted_bytes, margin, what)
            claims = swarm.resume_claims(out, ih, ti.num_pieces)
            check(claims is not None and set(claims) == wanted,
                  f"{what}: resume file claims {claims} instead of the {len(wanted)} wanted pieces")
            swarm.check_resume_truthful(torrent, out, what)
            return st

        out = sw.mkdir("out")
        only = ",".join(str(i) for i in CHOSEN)
        r = sw.run_actorrent(torrent, out, peers=[port], extra_args=["--only", only], timeout=60)
        log(describe(r))
        check_run_ok(r)
        check("complete:" in r.stdout, "no 'complete:' line after the selection was fetched")

        st = check_selection(r, out, "--only run")
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

        # A magnet link: the files are known only once the metadata arrives.
        link = f"magnet:?xt=urn:btih:{ih}&x.pe=127.0.0.1:{port}"
        out_m = sw.mkdir("out-magnet")
        r3 = sw.run_actorrent(link, out_m, extra_args=["--only", only], timeout=60)
        log(describe(r3))
        check_run_ok(r3)
        check("complete:" in r3.stdout, "magnet --only: no 'complete:' line")
        st3 = check_selection(r3, out_m, "magnet --only run")
        log(f"magnet --only: downloaded={st3['downloaded']} for {wanted_bytes} bytes of wanted pieces")

        # A choice the torrent cannot meet, known only after the metadata.
        out_bad = sw.mkdir("out-magnet-bad")
        beyond = len(ti.files) + 1
        r4 = sw.run_actorrent(link, out_bad, extra_args=["--only", str(beyond)], timeout=60)
        log(describe(r4))
        check(not r4.timed_out and r4.returncode not in (0, None),
              f"magnet --only {beyond} of {len(ti.files)} files: {describe(r4)}")
        check(str(beyond) in r4.stderr and "file" in r4.stderr,
              f"magnet --only {beyond}: the error does not name the file: {swarm.tail(r4.stderr)}")
        data = os.path.join(out_bad, ti.name)
        written = [os.path.join(d, f) for d, _, fs in os.walk(data) for f in fs] if os.path.exists(data) else []
        check(all(os.path.getsize(f) == 0 for f in written),
              f"magnet --only {beyond} wrote data: {written}")
        log(f"magnet --only {beyond}: {r4.stderr.strip().splitlines()[-1] if r4.stderr.strip() else ''}")


if __name__ == "__main__":
    swarm.e2e_main(main)
