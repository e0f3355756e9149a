#!/usr/bin/python3
"""`actorrent create` makes torrents other clients agree with.

1. A single file (default piece size) and a directory tree (uneven sizes, an
   empty file, an empty directory, names that sort differently by whole path
   and by component): the info-hash actorrent prints is the one
   transmission-show reads from the file, and the one mktorrent computes
   for the same data, piece size and tracker (`mktorrent -l LOG2 -a URL -d`).
   Two runs give the same bytes.
2. The tree's torrent, seeded by `actorrent seed`, downloads with aria2c
   (which finds the seeder through a local opentracker) and with libtorrent
   (given the seeder's address), every file byte-identical.
3. Bad input: a missing path, a bad piece size, an empty directory, a
   directory holding a fifo, an output file inside the content: a clear
   message, a non-zero status, no file."""

import os
import sys

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import MiB, check, check_run_ok, describe, log  # noqa: E402

KiB = 1024
PIECE = 64 * KiB

# '-' < '.' < '/' < '0' in bytes: by whole path "a-c", "a.b", "a/x", "a0";
# by component "a/x" would come first. mktorrent sorts by whole path.
TREE = [
    ("tree/a-c", 100 * KiB + 7),
    ("tree/a.b", 17),
    ("tree/a/x", 3 * PIECE + 1),
    ("tree/a/y/deep.bin", 2 * PIECE - 1),
    ("tree/a0", 0),
    ("tree/big.bin", 40 * PIECE + 4321),
    ("tree/z", 5 * KiB),
]


def create(sw, args, tag):
    r = swarm.run_measured([swarm.find_actorrent(), "create"] + args, 120, sw.log_dir, tag)
    log(f"actorrent create {' '.join(args)}: {describe(r)}")
    return r


def printed_hash(r) -> str:
    for line in r.stdout.splitlines():
        if line.startswith("info-hash: "):
            return line.split()[1]
    raise swarm.TestFailure(f"no info-hash line in:\n{r.stdout}")


def agree_with_others(sw, content, log2, url, tag):
    """Create a torrent of `content`; return its path once transmission-show and
    mktorrent agree on its info-hash."""
    out = sw.path(f"{tag}.torrent")
    args = [content, "-o", out, "-t", url]
    if log2 is not None:
        args += ["--piece-size", str(1 << log2)]
    r = create(sw, args, f"create-{tag}")
    check_run_ok(r, "actorrent create")
    ours = printed_hash(r)
    # Not a terminal: plain progress lines, no carriage returns or escapes.
    check(any(line.startswith("hashing ") for line in r.stderr.splitlines()),
          f"no progress line on stderr:\n{r.stderr}")
    check("\r" not in r.stderr and "\x1b" not in r.stderr,
          f"terminal control characters in a log:\n{r.stderr!r}")
    check(ours == swarm.info_hash(out),
          f"printed info-hash {ours} is not the file's {swarm.info_hash(out)}")
    shown = swarm.transmission_show_hash(out)
    check(shown == ours, f"transmission-show reads {shown}, actorrent printed {ours}")
    ti = swarm.read_torrent(out)
    mk = swarm.make_torrent(content, sw.path(f"{tag}-mktorrent.torrent"), ti.piece_length, url)
    check(mk == ours, f"mktorrent makes {mk} of the same data (piece {ti.piece_length}), "
                      f"actorrent {ours}")
    log(f"{tag}: {ours} from actorrent, transmission-show and mktorrent "
        f"({ti.num_pieces} pieces of {ti.piece_length})")

    r2 = create(sw, args, f"create-{tag}-again")
    check_run_ok(r2, "actorrent create (again)")
    with open(out, "rb") as f:
        first = f.read()
    check(printed_hash(r2) == ours, "a second run printed another info-hash")
    with open(out, "rb") as f:
        check(f.read() == first, "a second run wrote other bytes")
    return out


def refused(sw, args, status, words, tag):
    out = sw.path(f"{tag}.torrent")
    r = create(sw, args + ["-o", out], tag)
    check(not r.timed_out, f"create {tag} did not finish")
    check(r.returncode == status,
          f"create {tag}: expected exit {status}, got {r.returncode}:\n{r.stderr}")
    for w in words:
        check(w in r.stderr, f"create {tag}: '{w}' not in the message:\n{r.stderr}")
    check(not os.path.exists(out), f"create {tag} left {out} behind")
    log(f"refused ({tag}): {r.stderr.strip().splitlines()[0]}")


def main():
    swarm.need_tool("mktorrent")
    swarm.need_tool("transmission-show")
    swarm.need_tool("opentracker")
    swarm.need_tool("aria2c")
    swarm.need_libtorrent()
    with swarm.Swarm("create") as sw:
        tracker_port = swarm.free_port()
        url = f"http://127.0.0.1:{tracker_port}/announce"

        single = sw.mkdir("single")
        swarm.make_content(single, [("payload.bin", 6 * MiB + 12345)], seed=3)
        # No --piece-size: 32 KiB is the default for 6 MiB; mktorrent is told the same.
        t1 = agree_with_others(sw, os.path.join(single, "payload.bin"), None, url, "single")
        check(swarm.read_torrent(t1).piece_length == 32 * KiB,
              "the default piece size for 6 MiB should be 32 KiB")

        content = sw.mkdir("content")
        swarm.make_content(content, TREE, seed=4)
        os.makedirs(os.path.join(content, "tree", "empty", "inner"))
        root = os.path.join(content, "tree")
        torrent = agree_with_others(sw, root, PIECE.bit_length() - 1, url, "tree")
        ti = swarm.read_torrent(torrent)
        want = [(rel[len("tree/"):], size) for rel, size in TREE]
        check(ti.files == want, f"files or their order differ: {ti.files} != {want}")

        sw.start_opentracker([ti.info_hash_hex], port=tracker_port)
        port = sw.start_actorrent_seeder(torrent, content)
        sw.wait_tracker_lists(url, ti.info_hash_hex, [port])
        out = sw.mkdir("out-aria2")
        r = sw.run_aria2c(torrent, out, timeout=120)
        log("aria2c: " + describe(r))
        check_run_ok(r, "aria2c")
        problems = swarm.verify_files(os.path.join(out, "tree"), root)
        check(not problems, "aria2c's files are wrong: " + "; ".join(problems))
        log("aria2c downloaded every file from the actorrent seeder")

        out = sw.mkdir("out-libtorrent")
        r = sw.run_lt_download(torrent, out, peers=[port], timeout=120)
        log("libtorrent: " + describe(r))
        check_run_ok(r, "libtorrent")
        problems = swarm.verify_files(os.path.join(out, "tree"), root)
        check(not problems, "libtorrent's files are wrong: " + "; ".join(problems))
        log("libtorrent downloaded every file from the actorrent seeder")
        check(sw.actorrent_at(port).running(), "the seeder exited while serving")

        refused(sw, [sw.path("no-such-dir")], 1, ["no-such-dir", "does not exist"], "missing")
        refused(sw, [root, "--piece-size", "1000"], 2,
                ["bad --piece-size 1000", "power of two"], "piece-size")
        refused(sw, [root, "--piece-size", "128M"], 2, ["bad --piece-size 128M"], "piece-size-big")
        empty = sw.mkdir("empty-dir")
        os.makedirs(os.path.join(empty, "sub"))
        refused(sw, [empty], 1, ["the torrent holds no data"], "empty")
        fifo_dir = sw.mkdir("with-fifo")
        with open(os.path.join(fifo_dir, "data"), "wb") as f:
            f.write(b"x" * 1000)
        os.mkfifo(os.path.join(fifo_dir, "pipe"))
        refused(sw, [fifo_dir], 1, ["pipe", "fifo"], "fifo")
        # A torrent written into the directory it describes would be part of
        # the content on the next run.
        inside = os.path.join(root, "tree.torrent")
        r = create(sw, [root, "-o", inside], "inside")
        check(r.returncode == 1 and "is inside" in r.stderr and not os.path.exists(inside),
              f"an output inside the content was not refused: {describe(r)}\n{r.stderr}")
        log(f"refused (inside): {r.stderr.strip()}")


if __name__ == "__main__":
    swarm.e2e_main(main)
