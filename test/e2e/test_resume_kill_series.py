#!/usr/bin/python3
"""kill -9 again and again: a download killed ten times at random moments,
then run to the end, hashes right and fetches little more than the torrent.

One slow seeder (tools/swarm/mock_peers.py in mode `slow`: one 16 KiB block
per BLOCK_DELAY seconds, about 1.5 MiB/s) serves a 24 MiB torrent (96 pieces
of 256 KiB), so the whole download takes about 15 s.  actorrent is started on
the same directory ten times and each time killed with SIGKILL after a random
delay (a random.Random seeded with SEED, printed; set ACTORRENT_TEST_SEED to
replay a run); an eleventh run goes to the end.

The seeder logs every block it sends, so the bytes each run fetched are known
even for runs that were killed.  What a kill can cost is what was in memory:
the blocks of pieces started but not yet verified and written.  The engine
keeps at most 16 MiB of such pieces (piece_manager_config::max_in_progress_bytes,
64 pieces of 256 KiB here), and every block it asks for belongs to one of them
(a single peer gets no end-game duplicates), so:

- per killed run: no block of a piece intact on disk before the run is sent
  again (the start-up check finds what the last run wrote, recorded in the
  resume file or not), no such piece is damaged, and bytes sent - bytes of
  pieces that became intact on disk <= IN_MEMORY_BOUND;
- in all: bytes sent over all runs <= SIZE + kills * IN_MEMORY_BOUND;
- the final run exits 0, the file is right, and its own `stats: downloaded=`
  counter is what was missing on disk (plus at most one piece).
"""

import json
import os
import random
import sys
import time

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import MiB, check, check_run_ok, describe, log  # noqa: E402

SIZE = 24 * MiB
PIECE = 256 * 1024
NUM = SIZE // PIECE
BLOCK_DELAY = 0.01
KILLS = 10
KILL_AFTER = (0.3, 1.5)        # seconds after the start, uniform
IN_MEMORY_BOUND = 16 * MiB     # max_in_progress_bytes: pieces open at once


def seeder_log(log_path: str) -> tuple:
    """([(piece, length)] of every block the seeder sent so far, connections open)."""
    blocks, opened, closed = [], 0, 0
    with open(log_path) as f:
        for line in f:
            if not line.endswith("\n"):
                break                    # a record being written
            rec = json.loads(line)
            ev = rec["event"]
            if ev == "sent_piece":
                blocks.append((rec["piece"], rec["length"]))
            elif ev == "connect":
                opened += 1
            elif ev == "disconnect":
                closed += 1
    return blocks, opened - closed


def settled_blocks(log_path: str) -> list:
    """The blocks sent, once the seeder has seen every connection of ours close."""
    swarm.wait_until(lambda: seeder_log(log_path)[1] == 0, 10,
                     "the seeder to notice the client is gone")
    return seeder_log(log_path)[0]


def intact(torrent: str, out: str) -> set:
    return {i for i, ok in enumerate(swarm.pieces_on_disk(torrent, out)) if ok}


def main():
    seed = int(os.environ.get("ACTORRENT_TEST_SEED") or time.time_ns() % 1_000_000)
    log(f"SEED={seed} (ACTORRENT_TEST_SEED={seed} replays these kill times)")
    rng = random.Random(seed)
    with swarm.Swarm("killseries") as sw:
        torrent, save, content, ih = sw.make_single(SIZE, PIECE,
                                                    announce="http://127.0.0.1:1/announce")
        port, mock_log = sw.start_mock("slow", torrent, content=content,
                                       extra=["--block-delay", str(BLOCK_DELAY)])
        out = sw.mkdir("out")
        rows = []                          # (run, kill time, sent, newly intact, lost)
        have = set()
        seen = 0                           # blocks in the seeder's log before this run
        kills = 0
        for run in range(1, KILLS + 1):
            delay = rng.uniform(*KILL_AFTER)
            h = sw.start_actorrent(torrent, out, peers=[port], what=f"kill{run}")
            finished = h.wait(delay)
            if finished:
                log(f"run {run} finished before its kill at {delay:.3f} s: {describe(h.result())}")
            else:
                h.kill9()
                check(not h.running(), f"run {run} survived SIGKILL")
                kills += 1
            blocks = settled_blocks(mock_log)
            mine, seen = blocks[seen:], len(blocks)
            now = intact(torrent, out)
            damaged = sorted(have - now)
            check(not damaged, f"run {run}: pieces intact before it are damaged now: {damaged[:10]}")
            again = sorted({p for p, _ in mine if p in have})
            check(not again, f"run {run}: fetched pieces that were intact on disk before it "
                             f"(found again by its start-up check?): {again[:10]}")
            sent = sum(n for _, n in mine)
            newly = len(now - have)
            lost = sent - newly * PIECE
            rows.append((run, delay, sent, newly, lost))
            log(f"run {run}: killed at {delay:.3f} s; seeder sent {sent} bytes; "
                f"{newly} pieces newly intact ({len(now)} of {NUM}); lost in memory {lost} bytes")
            check(0 <= lost <= IN_MEMORY_BOUND,
                  f"run {run}: {lost} bytes fetched were lost, more than the {IN_MEMORY_BOUND} "
                  f"bytes of pieces that can be in memory")
            have = now
            if finished:
                check_run_ok(h.result(), f"run {run}")
                break

        h = sw.start_actorrent(torrent, out, peers=[port], what="final")
        r = h.finish(120)
        log(f"final run: {describe(r)}")
        check_run_ok(r, "the final run")
        problems = swarm.verify_files(os.path.join(out, os.path.basename(content)), content)
        check(not problems, "after the kills: " + "; ".join(problems))
        st = swarm.stats_of(r, "final run")
        sent_final = sum(n for _, n in settled_blocks(mock_log)[seen:])
        missing = (NUM - len(have)) * PIECE
        log(f"final run: {len(have)} of {NUM} pieces were intact; client downloaded="
            f"{st['downloaded']}, seeder sent {sent_final}, missing {missing}")
        swarm.check_fetched_missing(st, missing, PIECE, "final run")
        rows.append(("final", 0.0, sent_final, NUM - len(have), sent_final - missing))

        total = sum(row[2] for row in rows)
        bound = SIZE + kills * IN_MEMORY_BOUND
        log("run    kill(s)  sent(bytes)  newly-intact  lost(bytes)")
        for run, delay, sent, newly, lost in rows:
            log(f"{run!s:>6} {delay:8.3f} {sent:12d} {newly:13d} {lost:12d}")
        log(f"total sent {total} bytes for a {SIZE}-byte torrent over {kills} kills; "
            f"bound {SIZE} + {kills} x {IN_MEMORY_BOUND} = {bound}; "
            f"lost in all {total - SIZE} bytes")
        check(kills >= KILLS // 2, f"only {kills} runs could be killed before the download ended")
        check(total <= bound, f"{total} bytes sent in all, more than the bound {bound}")


if __name__ == "__main__":
    swarm.e2e_main(main)
