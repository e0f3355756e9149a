#!/usr/bin/python3
"""actorrent-sim scenarios with assertions on behaviour.

The harness runs the real engine (PieceManager, picker, choker, end-game,
bans and the per-connection protocol) against mock peers on simulated time;
each scenario below checks what the engine must do in such a swarm, from the
JSON report actorrent-sim writes."""

import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

SIM = os.environ.get("ACTORRENT_SIM")
if not SIM:
    build = os.environ.get("ACTORRENT_BUILD_ROOT", "build")
    SIM = os.path.join(build, "tools", "sim", "actorrent-sim")


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def log(msg):
    print(msg, flush=True)


def run(tmp, name, *args, timeout=300, expect_rc=0):
    path = os.path.join(tmp, name + ".json")
    argv = [SIM, *[str(a) for a in args], "--json", path]
    log("run: " + " ".join(argv))
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    log(p.stdout.strip())
    check(p.returncode == expect_rc,
          f"{name}: actorrent-sim exited {p.returncode}, expected {expect_rc}\n{p.stderr}")
    with open(path) as f:
        return json.load(f), path


def all_honest(tmp):
    d, _ = run(tmp, "honest", "--peers", 60, "--pieces", 300, "--seeds", 0.2, "--seed", 11)
    check(d["completed"], f"an honest swarm did not complete: {d['failure']}")
    check(d["hash_failures"] == 0 and d["peers_banned"] == 0,
          f"honest peers caused hash failures or bans: {d['hash_failures']}, {d['peers_banned']}")
    got = sum(p["contributed"] for p in d["per_peer"])
    check(got >= d["torrent_bytes"], f"peers contributed {got} bytes < torrent {d['torrent_bytes']}")


def corrupt_peers(tmp):
    d, _ = run(tmp, "corrupt", "--peers", 50, "--pieces", 256, "--corrupt", 0.3, "--rate", 204800,
               "--seed", 7)
    check(d["completed"], f"30% corrupt peers stopped the download: {d['failure']}")
    check(d["corrupt_peers"] == 15, f"expected 15 corrupt peers, got {d['corrupt_peers']}")
    liars = [p for p in d["per_peer"] if p["role"] == "corrupt"]
    honest = [p for p in d["per_peer"] if p["role"] != "corrupt"]
    contributed = [p for p in liars if p["contributed"] > 0]
    check(contributed, "no corrupt peer got a block through: the scenario tests nothing")
    unbanned = [p["id"] for p in contributed if not p["banned"]]
    check(not unbanned, f"corrupt peers that sent blocks were not banned: {unbanned}")
    wrongly = [p["id"] for p in honest if p["banned"]]
    check(not wrongly, f"honest peers were banned: {wrongly}")
    check(d["hash_failures"] > 0, "corrupt blocks never failed a hash check")
    log(f"{len(contributed)} of {len(liars)} corrupt peers got blocks through; all banned, "
        f"{d['hash_failures']} hash failures, no honest peer banned")


def slow_peer_endgame(tmp):
    # Two fast seeds, one seed at 2 KiB/s, partial peers: the slow one is
    # asked too, and end-game must finish its blocks elsewhere instead of
    # waiting the minutes it would need.
    d, _ = run(tmp, "slow", "--peers", 20, "--pieces", 256, "--seeds", 0.1, "--slow", 0.05,
               "--slow-rate", 2048, "--share", 0.3, "--rate", 262144, "--seed", 2)
    check(d["completed"], f"a slow peer stalled the download: {d['failure']}")
    slow = [p for p in d["per_peer"] if p["role"] == "slow"]
    check(len(slow) == 1 and slow[0]["requests"] > 0, f"the slow peer was never asked: {slow}")
    # What the slow peer was asked for would take it this long alone.
    alone = slow[0]["requests"] * 16384 / 2048
    check(d["sim_time_s"] < alone / 4,
          f"finished in {d['sim_time_s']} s; the slow peer alone needs {alone} s for its requests")
    ratio = d["duplicate_bytes"] / d["torrent_bytes"]
    check(ratio < 0.01, f"duplicate bytes {d['duplicate_bytes']} are {ratio:.2%} of the torrent")
    log(f"finished in {d['sim_time_s']} s (the slow peer alone: {alone:.0f} s), duplicates "
        f"{ratio:.3%}, {d['cancels_sent']} cancels")


def mean_min_availability(d):
    series = [v for _, v in d["min_availability"]]
    return sum(series) / len(series)


def rarest_beats_sequential(tmp):
    # No seeds, partial peers half of whom leave: rare pieces vanish unless
    # they are fetched (and so copied) first.
    common = ["--peers", 30, "--pieces", 400, "--seeds", 0, "--share", 0.3, "--leave", 0.5,
              "--rate", 65536, "--max-sim-time", 600]
    for seed in (1, 2):
        rarest, _ = run(tmp, f"rarest{seed}", *common, "--seed", seed, "--strategy", "rarest")
        seq, _ = run(tmp, f"sequential{seed}", *common, "--seed", seed, "--strategy", "sequential")
        a, b = mean_min_availability(rarest), mean_min_availability(seq)
        log(f"seed {seed}: mean minimum availability rarest {a:.2f}, sequential {b:.2f}")
        check(a > b, f"seed {seed}: rarest-first ({a:.2f}) did not keep the minimum availability "
                     f"above sequential ({b:.2f})")


def same_seed_same_json(tmp):
    args = ["--peers", 40, "--pieces", 128, "--corrupt", 0.1, "--slow", 0.1, "--leave", 0.1,
            "--late", 0.2, "--seed", 5]
    a, pa = run(tmp, "det-a", *args)
    b, pb = run(tmp, "det-b", *args)
    c, _ = run(tmp, "det-c", *args[:-1], 6)
    for d in (a, b, c):
        d.pop("wall_s")
    check(a == b, "the same seed gave different results")
    check(a != c, "another seed gave the same result: the seed is not used")
    with open(pa) as fa, open(pb) as fb:
        la = [x for x in fa if "wall_s" not in x]
        lb = [x for x in fb if "wall_s" not in x]
    check(la == lb, "the same seed gave different JSON bytes")


def scenario_file(tmp):
    # A JSON file says what the flags say; flags after it win.
    path = os.path.join(tmp, "scenario.json")
    with open(path, "w") as f:
        json.dump({"peers": 40, "pieces": 128, "corrupt": 0.1, "slow_rate": 4096,
                   "strategy": "sequential", "seed": 6}, f)
    a, _ = run(tmp, "from-file", "--scenario", path, "--seed", 5)
    b, _ = run(tmp, "from-flags", "--peers", 40, "--pieces", 128, "--corrupt", 0.1, "--slow-rate",
               4096, "--strategy", "sequential", "--seed", 5)
    for d in (a, b):
        d.pop("wall_s")
    check(a == b, "a scenario file and the same flags gave different results")
    with open(path, "w") as f:
        f.write('{"peers": {"nested": 1}}')
    p = subprocess.run([SIM, "--scenario", path], capture_output=True, text=True, timeout=30)
    check(p.returncode == 2 and "scenario.json" in p.stderr, f"a bad scenario file: {p.stderr}")


def plot(tmp):
    svg = os.path.join(tmp, "run.svg")
    d, _ = run(tmp, "plot", "--peers", 30, "--pieces", 200, "--rate", 131072, "--seed", 3,
               "--plot", svg)
    root = ET.parse(svg).getroot()
    lines = root.findall("{http://www.w3.org/2000/svg}polyline")
    check(len(lines) == 3, f"expected 3 curves in the plot, got {len(lines)}")
    for line in lines:
        points = line.get("points").split()
        check(len(points) == len(d["progress"]), "a curve does not have one point per sample")


def worker_processes(tmp):
    d, _ = run(tmp, "processes", "--peers", 40, "--pieces", 64, "--rate", 262144,
               "--transport", "processes", "--workers", 2, "--seed", 9, timeout=120)
    check(d["completed"], f"mock peers in 2 worker processes: {d['failure']}")
    served = [p for p in d["per_peer"] if p["blocks_sent"] > 0]
    check(len(served) >= 2, f"only {len(served)} remote mock peers served blocks")
    log(f"{len(served)} mock peers in 2 worker processes served blocks")


def wire_transport(tmp):
    # Hundreds of mock peers behind real TCP sockets, each on an address of
    # its own in 127.0.0.0/8: the engine's own dialer, sockets and decoder.
    d, _ = run(tmp, "wire", "--peers", 200, "--pieces", 128, "--rate", 262144, "--corrupt", 0.1,
               "--transport", "wire", "--seed", 4, "--max-sim-time", 60, timeout=120)
    check(d["completed"], f"200 mock peers over TCP: {d['failure']}")
    served = [p for p in d["per_peer"] if p["contributed"] > 0]
    check(len(served) >= 20, f"only {len(served)} peers delivered blocks over TCP")
    liars = [p["id"] for p in d["per_peer"] if p["role"] == "corrupt" and p["contributed"] > 0
             and not p["banned"]]
    check(not liars, f"corrupt peers that got blocks through TCP were not banned: {liars}")
    wrongly = [p["id"] for p in d["per_peer"] if p["role"] != "corrupt" and p["banned"]]
    check(not wrongly, f"honest peers were banned: {wrongly}")
    log(f"{len(served)} of 200 TCP mock peers delivered blocks, {d['peers_banned']} liars banned")


def file_selection(tmp):
    # --only over a large swarm, rarest-first and sequential: every chosen
    # file whole; a skipped file holds only bytes of pieces it shares with a
    # chosen one; exactly the wanted pieces crossed the wire, apart from
    # end-game duplicates.
    files, chosen = 8, {2, 5}
    for strategy in ("rarest", "sequential"):
        d, _ = run(tmp, f"only-{strategy}", "--peers", 500, "--pieces", 512, "--files", files,
                   "--only", ",".join(str(i) for i in sorted(chosen)), "--seeds", 0.1,
                   "--share", 0.5, "--strategy", strategy, "--seed", 8)
        check(d["completed"], f"{strategy}: --only did not complete: {d['failure']}")
        piece = d["piece_size"]
        check(len(d["files"]) == files, f"{strategy}: {len(d['files'])} files reported, not {files}")
        spans, offset = [], 0
        for f in d["files"]:
            spans.append((offset, f["size"]))
            offset += f["size"]

        def pieces_of(off, size):
            return set(range(off // piece, (off + size - 1) // piece + 1))
        wanted = set()
        for i in chosen:
            wanted |= pieces_of(*spans[i - 1])
        wanted_bytes = sum(min(piece, d["torrent_bytes"] - p * piece) for p in wanted)
        for i, (f, (off, size)) in enumerate(zip(d["files"], spans), start=1):
            if i in chosen:
                check(f["priority"] == 1 and f["bytes_have"] == size,
                      f"{strategy}: chosen file {i} has {f['bytes_have']} of {size} bytes")
                continue
            shared = sum(max(0, min(off + size, (p + 1) * piece) - max(off, p * piece))
                         for p in wanted)
            check(f["priority"] == 0 and f["bytes_have"] == shared,
                  f"{strategy}: skipped file {i} has {f['bytes_have']} bytes, "
                  f"{shared} of them in pieces shared with chosen files")
        fetched = d["bytes_received"] - d["duplicate_bytes"]
        check(fetched == wanted_bytes,
              f"{strategy}: {fetched} bytes fetched (without duplicates), wanted pieces are "
              f"{wanted_bytes}")
        log(f"{strategy}: {len(wanted)} of {d['pieces']} pieces wanted, {fetched} bytes fetched, "
            f"{d['duplicate_bytes']} duplicate")


def bad_arguments(tmp):
    p = subprocess.run([SIM, "--peers", "0"], capture_output=True, text=True, timeout=30)
    check(p.returncode == 2 and "bad value for --peers" in p.stderr,
          f"--peers 0: rc {p.returncode}, {p.stderr}")
    p = subprocess.run([SIM, "--peers", "5", "--corrupt", "0.8", "--slow", "0.5"],
                       capture_output=True, text=True, timeout=30)
    check(p.returncode == 2 and "add up to more than 1" in p.stderr, p.stderr)
    p = subprocess.run([SIM, "--peers", "5", "--files", "3", "--only", "4"],
                       capture_output=True, text=True, timeout=30)
    check(p.returncode == 2 and "--only" in p.stderr and "4" in p.stderr,
          f"--only 4 of 3 files: rc {p.returncode}, {p.stderr}")


def main():
    if not os.access(SIM, os.X_OK):
        print(f"actorrent-sim not found at {SIM}")
        return 1
    with tempfile.TemporaryDirectory(prefix="actorrent-sim-") as tmp:
        for case in (all_honest, corrupt_peers, slow_peer_endgame, rarest_beats_sequential,
                     same_seed_same_json, scenario_file, plot, wire_transport, worker_processes,
                     file_selection, bad_arguments):
            log(f"--- {case.__name__}")
            try:
                case(tmp)
            except Failure as e:
                print(f"FAIL ({case.__name__}): {e}", flush=True)
                return 1
            except subprocess.TimeoutExpired as e:
                print(f"FAIL ({case.__name__}): timed out: {e}", flush=True)
                return 1
    print("PASS", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
