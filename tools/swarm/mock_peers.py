#!/usr/bin/env python3
"""Scripted BitTorrent peers that misbehave on purpose, one mode per process.

Modes (all listen on 127.0.0.1:--port):
  silent      accept connections, never send a byte, keep them open
  garbage     send random bytes from the first moment, no handshake
  garbage-msg send a valid handshake and bitfield, then random bytes (absurd
              message lengths and ids)
  wrong-data  a correct BEP 3 seeder whose PIECE payloads are corrupted
  slow        a correct seeder that waits --block-delay seconds before each
              block it serves, one block at a time per connection
  good        a correct seeder without delay (to check the mock itself)

Every mode writes what it receives as JSON lines to --log (connect,
handshake, interested, request/cancel with piece/begin/length, ...), so a
test can see for example end-game CANCEL messages on the wire.  With
--announce URL the mock announces itself (left=0, event=started) so clients
can learn it from a tracker.  Prints READY once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import struct
import sys
import time
import urllib.error

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swarm  # noqa: E402

PSTR = b"\x13BitTorrent protocol"
HANDSHAKE_LEN = 68
# Longer than any legitimate message a downloader sends us (a bitfield of a
# huge torrent stays far below this); beyond it the stream is treated as broken.
MAX_MSG = 1 << 20
MAX_BLOCK = 128 * 1024

MSG_NAMES = {0: "choke", 1: "unchoke", 2: "interested", 3: "not_interested", 4: "have",
             5: "bitfield", 6: "request", 7: "piece", 8: "cancel", 9: "port",
             13: "suggest", 14: "have_all", 15: "have_none", 16: "reject", 17: "allowed_fast",
             20: "extended"}


class Content:
    """Reads torrent byte ranges from the original files, concatenated in torrent order."""

    def __init__(self, ti: swarm.TorrentInfo, path: str | None):
        self.ti = ti
        self.files = []           # [(start offset, size, path)]
        off = 0
        for rel, size in ti.files:
            if path is None:
                p = None
            elif ti.multi_file:
                p = os.path.join(path, rel)
            else:
                p = path if os.path.isfile(path) else os.path.join(path, rel)
            self.files.append((off, size, p))
            off += size
        self.handles: dict = {}

    def read(self, offset: int, length: int) -> bytes:
        out = bytearray()
        for start, size, p in self.files:
            if length == 0:
                break
            if offset >= start + size or size == 0:
                continue
            if offset < start:
                break
            n = min(length, start + size - offset)
            if p is None:
                out += bytes(n)
            else:
                f = self.handles.get(p)
                if f is None:
                    f = self.handles[p] = open(p, "rb")
                f.seek(offset - start)
                out += f.read(n)
            offset += n
            length -= n
        return bytes(out)


class Logger:
    def __init__(self, path: str | None):
        self.f = open(path, "a", buffering=1) if path else None

    def __call__(self, conn: int, event: str, **kw) -> None:
        if self.f:
            rec = {"t": round(time.time(), 3), "conn": conn, "event": event}
            rec.update(kw)
            self.f.write(json.dumps(rec) + "\n")


class Mock:
    def __init__(self, args):
        self.args = args
        self.ti = swarm.read_torrent(args.torrent)
        self.content = Content(self.ti, args.content)
        self.log = Logger(args.log)
        self.peer_id = b"-MK0001-" + bytes(random.choice(b"0123456789") for _ in range(12))
        self.next_conn = 0
        self.rng = random.Random(args.seed)
        n = self.ti.num_pieces
        bf = bytearray((n + 7) // 8)
        for i in range(n):
            bf[i // 8] |= 0x80 >> (i % 8)
        self.bitfield = bytes(bf)

    def piece_size(self, index: int) -> int:
        if index == self.ti.num_pieces - 1:
            return self.ti.total_size - index * self.ti.piece_length
        return self.ti.piece_length

    def handshake(self) -> bytes:
        return PSTR + bytes(8) + self.ti.info_hash + self.peer_id

    @staticmethod
    def msg(mid: int, payload: bytes = b"") -> bytes:
        return struct.pack(">IB", 1 + len(payload), mid) + payload

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        cid = self.next_conn
        self.next_conn += 1
        peer = writer.get_extra_info("peername")
        self.log(cid, "connect", peer=f"{peer[0]}:{peer[1]}")
        tasks = []
        try:
            mode = self.args.mode
            if mode == "garbage":
                tasks.append(asyncio.create_task(self.spew(writer, cid)))
            if not await self.read_handshake(reader, cid):
                # Closing at once (as a plaintext-only peer does) lets a client that
                # opened with an encrypted handshake retry in plaintext.
                if mode in ("silent", "garbage"):
                    await self.drain_silently(reader, cid)
                return
            if mode == "silent":
                await self.drain_silently(reader, cid)
                return
            if mode == "garbage":
                await self.drain_silently(reader, cid)
                return
            writer.write(self.handshake())
            writer.write(self.msg(5, self.bitfield))
            await writer.drain()
            if mode == "garbage-msg":
                tasks.append(asyncio.create_task(self.spew(writer, cid)))
                await self.read_messages(reader, cid, None)
                return
            await self.seed(reader, writer, cid)
        except (ConnectionError, asyncio.IncompleteReadError, OSError) as e:
            self.log(cid, "error", what=type(e).__name__)
        finally:
            for t in tasks:
                t.cancel()
            self.log(cid, "disconnect")
            try:
                writer.close()
            except OSError:
                pass

    async def read_handshake(self, reader, cid) -> bool:
        try:
            hs = await reader.readexactly(HANDSHAKE_LEN)
        except asyncio.IncompleteReadError as e:
            self.log(cid, "short_handshake", got=len(e.partial), data=e.partial[:68].hex())
            return False
        ok = hs[:20] == PSTR
        ih = hs[28:48]
        self.log(cid, "handshake", valid=ok, reserved=hs[20:28].hex(), info_hash=ih.hex(),
                 peer_id=hs[48:68].hex(), matches=(ih == self.ti.info_hash))
        return ok and ih == self.ti.info_hash

    async def drain_silently(self, reader, cid) -> None:
        total = 0
        while True:
            b = await reader.read(65536)
            if not b:
                self.log(cid, "eof", bytes_after_handshake=total)
                return
            total += len(b)

    async def spew(self, writer, cid) -> None:
        sent = 0
        try:
            while sent < self.args.garbage_bytes:
                chunk = self.rng.randbytes(4096)
                writer.write(chunk)
                await writer.drain()
                sent += len(chunk)
                await asyncio.sleep(0.01)
        except (ConnectionError, OSError):
            pass
        self.log(cid, "garbage_sent", bytes=sent)

    async def read_messages(self, reader, cid, on_msg) -> None:
        while True:
            hdr = await reader.readexactly(4)
            (n,) = struct.unpack(">I", hdr)
            if n == 0:
                self.log(cid, "keepalive")
                continue
            if n > MAX_MSG:
                self.log(cid, "oversized", length=n)
                return
            body = await reader.readexactly(n)
            mid, p = body[0], body[1:]
            name = MSG_NAMES.get(mid, f"unknown_{mid}")
            rec = {}
            if mid in (6, 8, 16) and len(p) == 12:
                rec = dict(zip(("piece", "begin", "length"), struct.unpack(">III", p)))
            elif mid in (4, 13, 17) and len(p) == 4:
                rec = {"piece": struct.unpack(">I", p)[0]}
            elif mid == 7 and len(p) >= 8:
                i, b = struct.unpack(">II", p[:8])
                rec = {"piece": i, "begin": b, "length": len(p) - 8}
            elif mid == 5:
                rec = {"bytes": len(p)}
            elif mid == 9 and len(p) == 2:
                rec = {"port": struct.unpack(">H", p)[0]}
            self.log(cid, name, **rec)
            if on_msg:
                await on_msg(mid, p, rec)

    async def seed(self, reader, writer, cid) -> None:
        pending: list = []            # requested blocks not yet served, in order
        wake = asyncio.Event()
        state = {"unchoked": False}

        async def on_msg(mid, p, rec):
            if mid == 2 and not state["unchoked"]:
                state["unchoked"] = True
                writer.write(self.msg(1))
                await writer.drain()
                self.log(cid, "sent_unchoke")
            elif mid == 6 and rec:
                i, b, ln = rec["piece"], rec["begin"], rec["length"]
                if i >= self.ti.num_pieces or ln == 0 or ln > MAX_BLOCK or b + ln > self.piece_size(i):
                    self.log(cid, "bad_request", **rec)
                    raise ConnectionError("invalid request")
                pending.append((i, b, ln))
                wake.set()
            elif mid == 8 and rec:
                key = (rec["piece"], rec["begin"], rec["length"])
                was = key in pending
                if was:
                    pending.remove(key)
                self.log(cid, "cancel_applied", was_pending=was, **rec)

        async def server():
            while True:
                await wake.wait()
                wake.clear()
                while pending:
                    key = pending[0]
                    if self.args.mode == "slow":
                        await asyncio.sleep(self.args.block_delay)
                        if not pending or pending[0] != key:
                            continue      # cancelled while we waited
                    pending.pop(0)
                    i, b, ln = key
                    data = self.content.read(i * self.ti.piece_length + b, ln)
                    if self.args.mode == "wrong-data":
                        # One flipped byte per block: the block looks plausible,
                        # only the piece hash can tell.
                        d = bytearray(data)
                        d[len(d) // 2] ^= 0xFF
                        data = bytes(d)
                    writer.write(self.msg(7, struct.pack(">II", i, b) + data))
                    await writer.drain()
                    self.log(cid, "sent_piece", piece=i, begin=b, length=ln)

        srv = asyncio.create_task(server())
        try:
            await self.read_messages(reader, cid, on_msg)
        finally:
            srv.cancel()

    def announce(self) -> None:
        try:
            r = swarm.http_announce(self.args.announce, self.ti.info_hash, self.peer_id,
                                    self.args.port, left=0, event="started")
        except (OSError, swarm.BencodeError, urllib.error.URLError) as e:
            print(f"announce failed: {e}", flush=True)
            return
        if b"failure reason" in r:
            print(f"announce refused: {r[b'failure reason'].decode(errors='replace')}", flush=True)
        else:
            print(f"announced to {self.args.announce}: {len(swarm.compact_peers(r))} peers",
                  flush=True)

    async def run(self) -> None:
        server = await asyncio.start_server(self.serve, "127.0.0.1", self.args.port,
                                            reuse_address=True)
        if self.args.announce:
            # Announce before READY, so a test that waits for READY finds the
            # mock in the tracker's list.
            await asyncio.get_running_loop().run_in_executor(None, self.announce)
        print(f"READY mode={self.args.mode} port={self.args.port}", flush=True)
        async with server:
            await server.serve_forever()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", required=True,
                    choices=["silent", "garbage", "garbage-msg", "wrong-data", "slow", "good"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--torrent", required=True)
    ap.add_argument("--content", help="the torrent's file (single-file) or root directory")
    ap.add_argument("--log", help="JSON-lines file of what was received")
    ap.add_argument("--announce", help="tracker announce URL to register with")
    ap.add_argument("--block-delay", type=float, default=1.0, help="slow mode: seconds per block")
    ap.add_argument("--garbage-bytes", type=int, default=256 * 1024,
                    help="garbage modes: how much to send per connection")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if args.mode in ("slow", "good") and not args.content:
        ap.error(f"--mode {args.mode} needs --content")
    try:
        asyncio.run(Mock(args).run())
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
