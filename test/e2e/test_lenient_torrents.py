#!/usr/bin/python3
""".torrent files are read the way libtorrent reads them, and downloads agree
with libtorrent on what they mean.

1. Dictionary keys out of order and bytes after the torrent: `actorrent show`
   prints the info-hash libtorrent computes (over the info dictionary's bytes
   as they are) and a note about the extra bytes; actorrent downloads the
   torrent from a libtorrent seeder, so both found the same swarm.
2. Two files with one path, and a file with the path of another's directory:
   libtorrent renames the later ones ("d/a.1.txt", "x.1"); a libtorrent
   seeder serves its files under those names and actorrent writes each one
   to the same name, byte-identical, with nothing else in the directory.
3. A torrent of 0 bytes: refused with a clear error (exit 1), as libtorrent
   refuses it, and nothing is created."""

import hashlib
import os
import random
import sys

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import bencode, check, check_run_ok, describe, log  # noqa: E402

KiB = 1024


def bstr(b: bytes) -> bytes:
    return b"%d:%s" % (len(b), b)


def pieces_of(data: bytes, piece_length: int) -> bytes:
    return b"".join(hashlib.sha1(data[i:i + piece_length]).digest()
                    for i in range(0, len(data), piece_length))


def write(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def files_under(root: str) -> set:
    out = set()
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if x != ".actorrent"]
        for f in files:
            out.add(os.path.relpath(os.path.join(d, f), root))
    return out


def unsorted_keys_and_trailing_bytes(sw, lt):
    rng = random.Random(7)
    data = rng.randbytes(3 * 1024 * KiB + 123)
    pl = 256 * KiB
    content = sw.mkdir("unsorted-content")
    write(os.path.join(content, "odd.bin"), data)
    # "name" before "length", "pieces" before "piece length", and at the top
    # "info" before "created by": no canonical encoder writes this.
    info = (b"d4:name7:odd.bin6:lengthi%de6:pieces" % len(data) + bstr(pieces_of(data, pl))
            + b"12:piece lengthi%dee" % pl)
    torrent_bytes = b"d4:info" + info + b"10:created by7:by hande" + b"\n\x00junk after"
    torrent = sw.path("unsorted.torrent")
    with open(torrent, "wb") as f:
        f.write(torrent_bytes)
    lt_hash = str(lt.torrent_info(torrent).info_hash())
    check(lt_hash == hashlib.sha1(info).hexdigest(),
          f"libtorrent's info-hash {lt_hash} is not the SHA-1 of the raw info bytes")

    r = swarm.run_measured([swarm.find_actorrent(), "show", torrent], 30, sw.log_dir, "show-unsorted")
    check(r.returncode == 0, f"show refused a torrent libtorrent reads: {describe(r)}\n{r.stderr}")
    check(f"Info hash:    {lt_hash}" in r.stdout,
          f"show's info-hash differs from libtorrent's {lt_hash}:\n{r.stdout}")
    check("12 bytes after the torrent's dictionary ignored" in r.stdout,
          f"show does not mention the bytes after the torrent:\n{r.stdout}")
    log(f"show agrees with libtorrent: {lt_hash}")

    port = sw.start_lt_seeder(torrent, content)
    out = sw.mkdir("unsorted-out")
    r = sw.run_actorrent(torrent, out, peers=[port], extra_args=["-v"], timeout=60)
    log("actorrent from libtorrent: " + describe(r))
    check_run_ok(r)
    check("note: 12 bytes after the torrent's dictionary ignored" in r.stderr,
          "-v does not note the bytes after the torrent")
    problems = swarm.verify_files(os.path.join(out, "odd.bin"), os.path.join(content, "odd.bin"))
    check(not problems, "the downloaded file is wrong: " + "; ".join(problems))


def duplicate_paths(sw, lt):
    rng = random.Random(11)
    entries = [(["d", "a.txt"], 300 * KiB), (["d", "a.txt"], 200 * KiB + 5),
               (["d", "a.1.txt"], 100 * KiB), (["x"], 50 * KiB), (["x", "y"], 70 * KiB + 1)]
    blobs = [rng.randbytes(n) for _, n in entries]
    pl = 64 * KiB
    info = {"name": "dups", "piece length": pl, "pieces": pieces_of(b"".join(blobs), pl),
            "files": [{"length": n, "path": p} for p, n in entries]}
    torrent = sw.path("dups.torrent")
    with open(torrent, "wb") as f:
        f.write(bencode({"info": info}))

    fs = lt.torrent_info(torrent).files()
    lt_paths = [fs.file_path(i) for i in range(fs.num_files())]
    log(f"libtorrent names the files {lt_paths}")
    check(len(set(lt_paths)) == len(entries), f"libtorrent kept duplicate paths: {lt_paths}")
    content = sw.mkdir("dups-content")
    for p, blob in zip(lt_paths, blobs):
        write(os.path.join(content, p), blob)

    r = swarm.run_measured([swarm.find_actorrent(), "show", torrent], 30, sw.log_dir, "show-dups")
    check(r.returncode == 0, f"show refused the torrent: {describe(r)}\n{r.stderr}")
    for p in lt_paths:
        check(f"  {p}  (" in r.stdout, f"show does not list {p} as libtorrent names it:\n{r.stdout}")

    port = sw.start_lt_seeder(torrent, content)
    out = sw.mkdir("dups-out")
    r = sw.run_actorrent(torrent, out, peers=[port], timeout=60)
    log("actorrent from libtorrent: " + describe(r))
    check_run_ok(r)
    for p, blob in zip(lt_paths, blobs):
        path = os.path.join(out, p)
        check(os.path.isfile(path), f"{p} was not written")
        with open(path, "rb") as f:
            check(f.read() == blob, f"{p} does not hold what libtorrent serves under that name")
    got = files_under(out)
    check(got == set(lt_paths), f"files other than libtorrent's names appeared: {sorted(got)}")
    check(files_under(os.path.dirname(out)) >= {os.path.join("dups-out", p) for p in lt_paths},
          "the files are not under the download directory")


def zero_size(sw, lt):
    torrent = sw.path("empty.torrent")
    with open(torrent, "wb") as f:
        f.write(bencode({"info": {"name": "empty", "piece length": 16 * KiB, "pieces": b"",
                                  "length": 0}}))
    try:
        lt.torrent_info(torrent)
        lt_refuses = False
    except RuntimeError:
        lt_refuses = True
    check(lt_refuses, "libtorrent accepts a torrent of 0 bytes: the premise of this case changed")

    out = sw.mkdir("empty-out")
    r = sw.run_actorrent(torrent, out, timeout=30)
    log("actorrent on a 0-byte torrent: " + describe(r))
    check(r.returncode == 1, f"expected exit 1 for a torrent of 0 bytes, got {r.returncode}")
    check("holds no data" in r.stderr and "empty.torrent" in r.stderr,
          f"the error does not say what is wrong with which file:\n{r.stderr}")
    check(os.listdir(out) == [], f"a refused torrent left files behind: {os.listdir(out)}")
    r = swarm.run_measured([swarm.find_actorrent(), "show", torrent], 30, sw.log_dir, "show-empty")
    check(r.returncode == 1 and "holds no data" in r.stderr, f"show: {describe(r)}\n{r.stderr}")


def main():
    swarm.need_libtorrent()
    import libtorrent as lt
    with swarm.Swarm("lenient") as sw:
        unsorted_keys_and_trailing_bytes(sw, lt)
        duplicate_paths(sw, lt)
        zero_size(sw, lt)


if __name__ == "__main__":
    swarm.e2e_main(main)
