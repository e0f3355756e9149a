#!/usr/bin/python3
"""Checks the swarm harness itself, independently of actorrent.

When an actorrent end-to-end test fails, this one tells whether the harness
(tracker, libtorrent seeder, scripted peers) is to blame:
  - info-hashes computed by swarm.py match transmission-show;
  - opentracker accepts whitelisted hashes only, and learns a mock's announce;
  - the scripted peers speak BEP 3 as intended (checked with a raw socket
    client: handshake, bitfield, unchoke, request, cancel, corrupted block,
    silence, garbage);
  - real clients (aria2c, libtorrent) download correct data from the
    libtorrent seeder and from the mock seeders found through opentracker."""

import os
import socket
import struct
import sys
import time

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import BLOCK, MiB, check, check_run_ok, describe, log  # noqa: E402

PSTR = b"\x13BitTorrent protocol"


class RawPeer:
    """A minimal downloader side of the wire protocol, with bounded reads."""

    def __init__(self, port: int):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""

    def close(self):
        self.s.close()

    def recv_exact(self, n: int, timeout: float = 5) -> bytes:
        deadline = time.monotonic() + timeout
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"wanted {n} bytes, have {len(self.buf)}")
            self.s.settimeout(left)
            b = self.s.recv(65536)
            if not b:
                raise ConnectionError(f"closed after {len(self.buf)} of {n} bytes")
            self.buf += b
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def handshake(self, ih: bytes) -> bytes:
        self.s.sendall(PSTR + bytes(8) + ih + b"-ST0001-000000000000")
        return self.recv_exact(68)

    def send(self, mid: int, payload: bytes = b""):
        self.s.sendall(struct.pack(">IB", 1 + len(payload), mid) + payload)

    def read_msg(self, timeout: float = 5):
        n = struct.unpack(">I", self.recv_exact(4, timeout))[0]
        if n == 0:
            return None, b""
        body = self.recv_exact(n, timeout)
        return body[0], body[1:]

    def silent_for(self, seconds: float) -> bool:
        self.s.settimeout(seconds)
        try:
            b = self.s.recv(1)
        except socket.timeout:
            return True
        return False if b else True


def file_bytes(path: str, offset: int, n: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read(n)


def check_hashes(sw):
    for make in (lambda: sw.make_single(3 * MiB + 5, 64 * 1024),
                 lambda: sw.make_multi(32 * 1024)):
        torrent, _, _, ih = make()
        ts = swarm.transmission_show_hash(torrent)
        check(ih == ts, f"{torrent}: swarm.py says {ih}, transmission-show says {ts}")
        log(f"info-hash {ih} agrees with transmission-show")


def check_mocks_raw(sw, torrent, content, url, ti):
    ih = ti.info_hash
    # slow: requests queue up, a cancelled one is never served, data is right
    port, path = sw.start_mock("slow", torrent, content, announce=url,
                               extra=["--block-delay", "0.5"])
    me = b"-ST0001-111111111111"
    peers = swarm.compact_peers(swarm.http_announce(url, ih, me, 2, 100, event=None))
    swarm.http_announce(url, ih, me, 2, 100, event="stopped")
    check(("127.0.0.1", port) in peers, f"tracker does not list the mock's announce: {peers}")
    check(("127.0.0.1", 1) not in peers, f"the tracker probe stayed in the swarm: {peers}")
    p = RawPeer(port)
    hs = p.handshake(ih)
    check(hs[:20] == PSTR and hs[28:48] == ih, "slow mock: bad handshake reply")
    mid, bf = p.read_msg()
    check(mid == 5 and len(bf) == (ti.num_pieces + 7) // 8, "slow mock: no full bitfield")
    p.send(2)
    mid, _ = p.read_msg()
    check(mid == 1, f"slow mock: expected unchoke after interested, got {mid}")
    reqs = [(1, 0, BLOCK), (1, BLOCK, BLOCK), (2, 0, BLOCK)]
    for r in reqs:
        p.send(6, struct.pack(">III", *r))
    p.send(8, struct.pack(">III", *reqs[2]))
    got = []
    t0 = time.monotonic()
    for _ in range(2):
        mid, payload = p.read_msg(timeout=5)
        check(mid == 7, f"slow mock: expected a piece, got {mid}")
        i, b = struct.unpack(">II", payload[:8])
        got.append((i, b))
        check(payload[8:] == file_bytes(content, i * ti.piece_length + b, BLOCK),
              f"slow mock served wrong bytes for {i}/{b}")
    check(time.monotonic() - t0 >= 0.9, "slow mock was not slow")
    check(p.silent_for(1.5), "slow mock served a cancelled block")
    p.close()
    time.sleep(0.2)
    recs = swarm.read_jsonl(path)
    cancels = [x for x in recs if x["event"] == "cancel"]
    applied = [x for x in recs if x["event"] == "cancel_applied"]
    check(len([x for x in recs if x["event"] == "request"]) == 3, "slow mock: requests not logged")
    check(len(cancels) == 1 and cancels[0]["piece"] == 2 and cancels[0]["length"] == BLOCK,
          f"slow mock: cancel not logged as sent: {cancels}")
    check(applied and applied[0]["was_pending"], "slow mock: cancel did not find the queued request")
    log("slow mock: handshake, bitfield, unchoke, delayed correct blocks, CANCEL logged and honoured")

    port, path = sw.start_mock("wrong-data", torrent, content)
    p = RawPeer(port)
    p.handshake(ih)
    p.read_msg()
    p.send(2)
    p.read_msg()
    p.send(6, struct.pack(">III", 3, BLOCK, BLOCK))
    mid, payload = p.read_msg()
    good = file_bytes(content, 3 * ti.piece_length + BLOCK, BLOCK)
    diff = sum(1 for a, b in zip(payload[8:], good) if a != b)
    check(mid == 7 and len(payload) == 8 + BLOCK and diff == 1,
          f"wrong-data mock: expected one corrupted byte, got {diff}")
    p.close()
    log("wrong-data mock: block of the right size with one corrupted byte")

    port, path = sw.start_mock("silent", torrent, content)
    p = RawPeer(port)
    p.s.sendall(PSTR + bytes(8) + ih + b"-ST0001-000000000000")
    check(p.silent_for(1.0), "silent mock sent something or closed")
    p.close()
    time.sleep(0.2)
    check(any(x["event"] == "handshake" for x in swarm.read_jsonl(path)),
          "silent mock did not log the handshake")
    log("silent mock: accepts, logs the handshake, sends nothing")

    port, path = sw.start_mock("garbage", torrent, content)
    p = RawPeer(port)
    first = p.recv_exact(68)
    check(first[:20] != PSTR, "garbage mock sent a handshake")
    p.close()
    port, path = sw.start_mock("garbage-msg", torrent, content)
    p = RawPeer(port)
    hs = p.handshake(ih)
    check(hs[28:48] == ih, "garbage-msg mock: bad handshake")
    p.close()
    log("garbage mocks: random bytes before / after a valid handshake")


def main():
    swarm.need_libtorrent()
    for t in ("opentracker", "aria2c", "mktorrent", "transmission-show"):
        swarm.need_tool(t)
    with swarm.Swarm("selftest") as sw:
        check_hashes(sw)
        tracker_port = swarm.free_port()
        url = f"http://127.0.0.1:{tracker_port}/announce"
        torrent, save, content, ih = sw.make_single(4 * MiB, 256 * 1024, announce=url)
        ti = swarm.read_torrent(torrent)
        sw.start_opentracker([ih], port=tracker_port)
        check(not swarm.tracker_accepts(url, "11" * 20), "opentracker accepted a hash not whitelisted")
        log("opentracker: whitelisted hash accepted, other hash refused")
        check_mocks_raw(sw, torrent, content, url, ti)

    # Real clients against the harness: each scenario in its own swarm so
    # that only the intended peers are in the tracker's list.
    with swarm.Swarm("selftest-aria2-mock") as sw:
        tracker_port = swarm.free_port()
        url = f"http://127.0.0.1:{tracker_port}/announce"
        torrent, save, root, ih = sw.make_multi(64 * 1024, announce=url)
        sw.start_opentracker([ih], port=tracker_port)
        _, path = sw.start_mock("good", torrent, root, announce=url)
        out = sw.mkdir("out")
        r = sw.run_aria2c(torrent, out, timeout=60)
        log("aria2c from the mock seeder only: " + describe(r))
        check_run_ok(r, "aria2c")
        problems = swarm.verify_files(os.path.join(out, "multi"), root)
        check(not problems, "aria2c from mock: " + "; ".join(problems))
        out = sw.mkdir("out-lt")
        r = sw.run_lt_download(torrent, out, timeout=60)
        log("libtorrent from the mock seeder only: " + describe(r))
        check_run_ok(r, "libtorrent")
        problems = swarm.verify_files(os.path.join(out, "multi"), root)
        check(not problems, "libtorrent from mock: " + "; ".join(problems))

    with swarm.Swarm("selftest-slow-wrong") as sw:
        tracker_port = swarm.free_port()
        url = f"http://127.0.0.1:{tracker_port}/announce"
        torrent, save, content, ih = sw.make_single(16 * MiB, 256 * 1024, announce=url)
        sw.start_opentracker([ih], port=tracker_port)
        _, slow_log = sw.start_mock("slow", torrent, content, announce=url,
                                    extra=["--block-delay", "0.05"])
        _, wrong_log = sw.start_mock("wrong-data", torrent, content, announce=url)
        sw.start_lt_seeder(torrent, save, upload_limit=4 * MiB)
        out = sw.mkdir("out")
        r = sw.run_aria2c(torrent, out, timeout=90)
        log("aria2c from rate-limited seeder + slow + wrong-data mocks: " + describe(r))
        check_run_ok(r, "aria2c")
        problems = swarm.verify_files(os.path.join(out, os.path.basename(content)), content)
        check(not problems, "aria2c: " + "; ".join(problems))
        served = {n: sum(1 for x in swarm.read_jsonl(p) if x["event"] == "sent_piece")
                  for n, p in (("slow", slow_log), ("wrong-data", wrong_log))}
        log(f"blocks served to aria2c by the mocks: {served}")
        check(served["wrong-data"] > 0, "aria2c never took a block from the wrong-data mock")


if __name__ == "__main__":
    swarm.e2e_main(main)
