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
  metadata-wrong      speaks the extension protocol and offers the torrent's
              metadata (BEP 9) with its true size, but every piece it sends
              has one byte flipped: the info-hash check must fail
  metadata-oversized  offers metadata of --metadata-size bytes (default
              1 GiB) in its extension handshake; answers requests with rejects
  huge-length after its handshake and bitfield, announces a message of 2^31
              bytes and sends a trickle of its "payload"
  bad-bitfield a bitfield one byte longer than the torrent needs, then seeds
  have-past-end a HAVE for piece index = number of pieces, then seeds
  unrequested a PIECE nobody asked for right after its bitfield, then only
              reads (it never unchokes)
  short-piece seeds, but every PIECE carries half the requested length
  other-hash  answers the handshake with another torrent's info-hash
  trickle     seeds correct blocks one byte per second (--trickle-rate)
  With --fast a seeder speaks the fast extension (BEP 6): the handshake bit,
  HAVE_ALL instead of its bitfield, a SUGGEST_PIECE for --suggest, and a
  REJECT for every request it drops (cancelled).  fast-choked is such a
  seeder that never unchokes but makes every piece allowed-fast, so a
  client can only download by requesting allowed-fast pieces while choked.
  pex-flood   speaks the extension protocol with ut_pex (BEP 11); once the
              client's extension handshake names its ut_pex id, sends one
              PEX message whose "added" holds 0.0.0.0, 224.0.0.1,
              255.255.255.255 and 127.0.0.1 port 0 (never to be dialled),
              then 80 addresses 127.3.0.1..80 port 9; right after it, 100
              more PEX messages of 50 addresses 127.4.x.y port 9 each (a
              flood: sooner than the BEP allows). Then only reads.

Leech modes connect to --target 127.0.0.1:PORT as a downloader (handshake,
then misbehave), log what happens and exit by themselves:
  leech-out-of-range  interested, one valid request once unchoked, then a
              request outside the torrent: piece index = number of pieces
              (--variant index) or a block running past the end of its
              piece (--variant end)
  leech-oversize      interested, one valid request once unchoked, then a
              request of --length bytes (default 256 KiB) inside piece 0
  leech-choked        never interested: sends --count (default 300) valid
              requests, --interval seconds apart, each while it is choked
              (if unchoked anyway it pauses until choked again or --deadline)
  leech-flood         interested; once unchoked sends --count (default 5000)
              requests at once while reading whatever comes back
  leech-fast          speaks the fast extension (BEP 6), sends HAVE_NONE and
              stays choked (never interested); checks what the seeder sends
              instead of a bitfield (HAVE_ALL) and its ALLOWED_FAST set, then
              a request outside the set (must be rejected), one inside it
              (must be served while choked), and one inside it cancelled at
              once (the cancel must be answered with a reject).  --variant
              nobit: the same HAVE_NONE without the handshake bit (the
              seeder must disconnect)
A leech mode ends with a "result" record: whether and how fast (seconds after
the misbehaviour began) the other side disconnected, the payload bytes it
received, and whether anything it should not get was served.

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

    def fast(self) -> bool:
        return self.args.fast or self.args.mode == "fast-choked"

    def handshake(self) -> bytes:
        reserved = bytearray(8)
        if self.fast():
            reserved[7] |= 0x04
        return PSTR + bytes(reserved) + self.ti.info_hash + self.peer_id

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
            if mode.startswith("metadata-"):
                await self.offer_metadata(reader, writer, cid)
                return
            if mode == "pex-flood":
                await self.pex_flood(reader, writer, cid)
                return
            if mode == "other-hash":
                other = bytes(b ^ 0x5A for b in self.ti.info_hash)
                writer.write(PSTR + bytes(8) + other + self.peer_id)
                await writer.drain()
                await self.drain_silently(reader, cid)
                return
            writer.write(self.handshake())
            if mode == "bad-bitfield":
                writer.write(self.msg(5, self.bitfield + b"\xff"))
            elif self.fast():
                # One write: the client sees the suggestion and the whole
                # allowed-fast set together, before it can ask for anything.
                hello = self.msg(14)
                if self.args.suggest is not None:
                    hello += self.msg(13, struct.pack(">I", self.args.suggest))
                if mode == "fast-choked":
                    hello += b"".join(self.msg(17, struct.pack(">I", i))
                                      for i in range(self.ti.num_pieces))
                writer.write(hello)
            else:
                writer.write(self.msg(5, self.bitfield))
            if mode == "have-past-end":
                writer.write(self.msg(4, struct.pack(">I", self.ti.num_pieces)))
            if mode == "unrequested":
                ln = min(16384, self.piece_size(0))
                writer.write(self.msg(7, struct.pack(">II", 0, 0) + self.content.read(0, ln)))
            await writer.drain()
            if mode == "unrequested":
                await self.drain_silently(reader, cid)
                return
            if mode == "huge-length":
                # A length prefix of 2^31 and an id of PIECE; then a slow
                # trickle, as if the payload were on its way.
                writer.write(struct.pack(">IB", 1 << 31, 7))
                await writer.drain()
                self.log(cid, "sent_huge_length")
                for _ in range(600):
                    writer.write(bytes(1024))
                    await writer.drain()
                    await asyncio.sleep(0.1)
                return
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

    async def offer_metadata(self, reader, writer, cid) -> None:
        """The metadata-* modes: BEP 10 handshake, then ut_metadata answers."""
        our_id = 1
        info = swarm.bencode(swarm.bdecode(open(self.args.torrent, "rb").read())[b"info"])
        size = len(info) if self.args.mode == "metadata-wrong" else self.args.metadata_size
        reserved = bytearray(8)
        reserved[5] = 0x10
        writer.write(PSTR + bytes(reserved) + self.ti.info_hash + self.peer_id)
        writer.write(self.msg(20, b"\x00" + swarm.bencode(
            {b"m": {b"ut_metadata": our_id}, b"metadata_size": size, b"v": b"mock"})))
        await writer.drain()
        state = {"their_id": 0}

        async def on_msg(mid, p, rec):
            if mid != 20 or not p:
                return
            if p[0] == 0:
                h = swarm.bdecode(p[1:])
                state["their_id"] = h.get(b"m", {}).get(b"ut_metadata", 0)
                self.log(cid, "extension_handshake", their_ut_metadata=state["their_id"],
                         metadata_size=h.get(b"metadata_size"))
                return
            if p[0] != our_id or not state["their_id"]:
                return
            req, _ = swarm._bdecode_at(p[1:], 0, 0, None)
            piece = req.get(b"piece", 0)
            self.log(cid, "metadata_request", piece=piece, msg_type=req.get(b"msg_type"))
            if self.args.mode == "metadata-oversized":
                reply = swarm.bencode({b"msg_type": 2, b"piece": piece})
            else:
                data = bytearray(info[piece * 16384:(piece + 1) * 16384])
                data[len(data) // 2] ^= 0xFF
                reply = swarm.bencode({b"msg_type": 1, b"piece": piece,
                                       b"total_size": len(info)}) + bytes(data)
            writer.write(self.msg(20, bytes([state["their_id"]]) + reply))
            await writer.drain()
            self.log(cid, "metadata_sent", piece=piece)

        await self.read_messages(reader, cid, on_msg)

    async def pex_flood(self, reader, writer, cid) -> None:
        """The pex-flood mode: BEP 10 handshake with ut_pex, then PEX messages."""
        reserved = bytearray(8)
        reserved[5] = 0x10
        writer.write(PSTR + bytes(reserved) + self.ti.info_hash + self.peer_id)
        writer.write(self.msg(20, b"\x00" + swarm.bencode(
            {b"m": {b"ut_pex": 1}, b"p": self.args.port, b"v": b"mock"})))
        await writer.drain()
        sent = {"done": False}

        def compact(a, b, c, d, port):
            return bytes([a, b, c, d]) + struct.pack(">H", port)

        async def on_msg(mid, p, rec):
            if mid != 20 or not p or p[0] != 0 or sent["done"]:
                return
            their = swarm.bdecode(p[1:]).get(b"m", {}).get(b"ut_pex", 0)
            self.log(cid, "extension_handshake", their_ut_pex=their)
            if not their:
                return
            sent["done"] = True
            bad = (compact(0, 0, 0, 0, 6881) + compact(224, 0, 0, 1, 6881)
                   + compact(255, 255, 255, 255, 6881) + compact(127, 0, 0, 1, 0))
            good = b"".join(compact(127, 3, 0, i, 9) for i in range(1, 81))
            writer.write(self.msg(20, bytes([their]) + swarm.bencode({b"added": bad + good})))
            for k in range(100):
                flood = b"".join(compact(127, 4, k, i, 9) for i in range(1, 51))
                writer.write(self.msg(20, bytes([their]) + swarm.bencode({b"added": flood})))
            await writer.drain()
            self.log(cid, "pex_sent", messages=101)

        await self.read_messages(reader, cid, on_msg)

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
            if mid == 2 and not state["unchoked"] and self.args.mode != "fast-choked":
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
                    if self.fast():
                        writer.write(self.msg(16, struct.pack(">III", *key)))
                        await writer.drain()
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
                    if self.args.mode == "short-piece":
                        data = data[:len(data) // 2]
                    if self.args.mode == "trickle":
                        # The whole message, one byte at a time.
                        wire = self.msg(7, struct.pack(">II", i, b) + data)
                        for k in range(len(wire)):
                            writer.write(wire[k:k + 1])
                            await writer.drain()
                            await asyncio.sleep(1.0 / self.args.trickle_rate)
                        self.log(cid, "sent_piece", piece=i, begin=b, length=ln)
                        continue
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
        server = await asyncio.start_server(self.serve, self.args.host, self.args.port,
                                            reuse_address=True)
        if self.args.announce:
            # Announce before READY, so a test that waits for READY finds the
            # mock in the tracker's list.
            await asyncio.get_running_loop().run_in_executor(None, self.announce)
        print(f"READY mode={self.args.mode} port={self.args.port}", flush=True)
        async with server:
            await server.serve_forever()


class Leech:
    """One outgoing connection to a seeder, driven by a leech-* mode."""

    def __init__(self, args):
        self.args = args
        self.ti = swarm.read_torrent(args.torrent)
        self.log = Logger(args.log)
        self.peer_id = b"-MK0001-" + bytes(random.choice(b"0123456789") for _ in range(12))
        host, port = args.target.rsplit(":", 1)
        if host not in ("127.0.0.1", "localhost"):
            raise SystemExit("leech modes connect to 127.0.0.1 only")
        self.host, self.port = "127.0.0.1", int(port)
        self.choked = True
        self.unchoked_evt = asyncio.Event()
        self.closed_evt = asyncio.Event()
        self.closed_at: float | None = None
        self.close_kind = ""
        self.misbehave_at: float | None = None
        self.pieces = 0
        self.payload = 0
        self.raw = 0
        self.max_block = 0
        self.served_while_choked = 0
        self.choke_msgs = 0
        self.unchoke_msgs = 0
        self.haves = 0
        self.requests_sent = 0
        self.requests_while_choked = 0
        self.got: set = set()          # (piece, begin, length) of every block received
        self.piece_evt = asyncio.Event()
        self.have_all = False          # fast extension (BEP 6) messages received
        self.allowed: list = []
        self.rejects: set = set()
        self.fast_evt = asyncio.Event()

    def piece_size(self, index: int) -> int:
        if index == self.ti.num_pieces - 1:
            return self.ti.total_size - index * self.ti.piece_length
        return self.ti.piece_length

    def block_list(self):
        """Every valid block of the torrent, in order."""
        for i in range(self.ti.num_pieces):
            size = self.piece_size(i)
            for b in range(0, size, swarm.BLOCK):
                yield (i, b, min(swarm.BLOCK, size - b))

    def mark_closed(self, kind: str) -> None:
        if not self.closed_evt.is_set():
            self.closed_at = time.monotonic()
            self.close_kind = kind
            self.closed_evt.set()

    async def reader_loop(self, reader) -> None:
        try:
            while True:
                hdr = await reader.readexactly(4)
                (n,) = struct.unpack(">I", hdr)
                self.raw += 4
                if n == 0:
                    continue
                if n > MAX_MSG + MAX_BLOCK:
                    self.log(0, "oversized", length=n)
                    self.mark_closed("protocol")
                    return
                body = await reader.readexactly(n)
                self.raw += n
                mid, p = body[0], body[1:]
                if mid == 0:
                    self.choked = True
                    self.choke_msgs += 1
                    if self.choke_msgs <= 20:
                        self.log(0, "choke")
                elif mid == 1:
                    self.choked = False
                    self.unchoke_msgs += 1
                    self.unchoked_evt.set()
                    if self.unchoke_msgs <= 20:
                        self.log(0, "unchoke")
                elif mid == 4:
                    self.haves += 1
                elif mid == 5:
                    self.log(0, "bitfield", bytes=len(p))
                elif mid == 7 and len(p) >= 8:
                    i, b = struct.unpack(">II", p[:8])
                    ln = len(p) - 8
                    self.pieces += 1
                    self.payload += ln
                    self.max_block = max(self.max_block, ln)
                    self.got.add((i, b, ln))
                    if self.choked:
                        self.served_while_choked += 1
                    if self.pieces <= 20:
                        self.log(0, "piece", piece=i, begin=b, length=ln)
                    self.piece_evt.set()
                elif mid == 14:
                    self.have_all = True
                    self.log(0, "have_all")
                elif mid == 17 and len(p) == 4:
                    self.allowed.append(struct.unpack(">I", p)[0])
                    self.log(0, "allowed_fast", piece=self.allowed[-1])
                elif mid == 16 and len(p) == 12:
                    key = struct.unpack(">III", p)
                    self.rejects.add(key)
                    self.log(0, "reject", piece=key[0], begin=key[1], length=key[2])
                else:
                    self.log(0, MSG_NAMES.get(mid, f"unknown_{mid}"), bytes=len(p))
                if mid in (14, 16, 17):
                    self.fast_evt.set()
        except asyncio.IncompleteReadError:
            self.mark_closed("eof")
        except (ConnectionError, OSError) as e:
            self.mark_closed(type(e).__name__)

    async def send(self, writer, data: bytes) -> bool:
        if self.closed_evt.is_set():
            return False
        try:
            writer.write(data)
            await writer.drain()
            return True
        except (ConnectionError, OSError) as e:
            self.mark_closed(type(e).__name__)
            return False

    async def request(self, writer, i: int, b: int, ln: int) -> bool:
        self.requests_sent += 1
        return await self.send(writer, Mock.msg(6, struct.pack(">III", i, b, ln)))

    async def wait_unchoke(self) -> bool:
        waits = [asyncio.create_task(self.unchoked_evt.wait()),
                 asyncio.create_task(self.closed_evt.wait())]
        await asyncio.wait(waits, timeout=self.args.unchoke_timeout,
                           return_when=asyncio.FIRST_COMPLETED)
        for t in waits:
            t.cancel()
        return self.unchoked_evt.is_set() and not self.closed_evt.is_set()

    async def wait_block(self, key, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while key not in self.got and not self.closed_evt.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.piece_evt.clear()
            try:
                await asyncio.wait_for(self.piece_evt.wait(), min(left, 0.2))
            except asyncio.TimeoutError:
                pass
        return key in self.got

    async def wait_for(self, pred, timeout: float) -> bool:
        """Until pred() holds, the connection closes, or timeout seconds."""
        deadline = time.monotonic() + timeout
        while not pred() and not self.closed_evt.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.fast_evt.clear()
            self.piece_evt.clear()
            waits = [asyncio.create_task(self.fast_evt.wait()),
                     asyncio.create_task(self.piece_evt.wait())]
            await asyncio.wait(waits, timeout=min(left, 0.2), return_when=asyncio.FIRST_COMPLETED)
            for t in waits:
                t.cancel()
        return pred()

    async def fast_checks(self, writer, res: dict) -> None:
        """leech-fast: what a fast seeder must do for a peer it chokes."""
        self.misbehave_at = time.monotonic()
        await self.send(writer, Mock.msg(15))       # have_none: a fresh downloader
        if self.args.variant == "nobit":
            return
        await self.wait_for(lambda: self.have_all and len(self.allowed) >= 2, 10)
        res["have_all"] = self.have_all
        res["allowed_fast"] = list(self.allowed)
        if len(self.allowed) < 2:
            return
        a, b = self.allowed[0], self.allowed[1]
        outside = next(i for i in range(self.ti.num_pieces) if i not in self.allowed)

        def block(i: int, n: int = 0) -> tuple:
            return (i, n * swarm.BLOCK, min(swarm.BLOCK, self.piece_size(i) - n * swarm.BLOCK))

        x = block(outside)
        await self.request(writer, *x)
        res["outside_rejected"] = await self.wait_for(lambda: x in self.rejects, 10)
        res["outside_served"] = x in self.got
        y = block(a)
        await self.request(writer, *y)
        res["allowed_served"] = await self.wait_for(lambda: y in self.got, 10)
        res["allowed_served_choked"] = res["allowed_served"] and self.served_while_choked > 0
        # Request and cancel in one write: the cancel reaches the seeder
        # before it can have read the piece, so it must answer with a reject.
        z = block(b)
        self.requests_sent += 1
        await self.send(writer, Mock.msg(6, struct.pack(">III", *z))
                        + Mock.msg(8, struct.pack(">III", *z)))
        res["cancel_rejected"] = await self.wait_for(lambda: z in self.rejects, 10)
        res["cancelled_served"] = z in self.got
        res["unchoked_meanwhile"] = self.unchoke_msgs > 0

    async def run(self) -> dict:
        a = self.args
        mode = a.mode
        res = {"mode": mode,
               "variant": a.variant if mode in ("leech-out-of-range", "leech-fast") else None}
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), 10)
        except (OSError, asyncio.TimeoutError) as e:
            res.update(connected=False, error=type(e).__name__)
            return res
        self.log(0, "connect", peer=f"{self.host}:{self.port}")
        res["connected"] = True
        reserved = bytearray(8)
        if mode == "leech-fast" and a.variant != "nobit":
            reserved[7] |= 0x04
        writer.write(PSTR + bytes(reserved) + self.ti.info_hash + self.peer_id)
        try:
            await writer.drain()
            hs = await asyncio.wait_for(reader.readexactly(HANDSHAKE_LEN), 15)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError) as e:
            res.update(handshake=False, error=type(e).__name__)
            writer.close()
            return res
        ok = hs[:20] == PSTR and hs[28:48] == self.ti.info_hash
        self.log(0, "handshake", valid=ok, peer_id=hs[48:68].hex())
        res["handshake"] = ok
        res["fast_bit"] = bool(hs[27] & 0x04)
        if not ok:
            writer.close()
            return res
        rd = asyncio.create_task(self.reader_loop(reader))
        bad = None
        try:
            if mode == "leech-fast":
                await self.fast_checks(writer, res)
                if a.variant != "nobit":
                    return res
            elif mode == "leech-choked":
                # Only requests sent while choked count; a seeder that unchokes
                # us anyway (some do, interested or not) is waited out, bounded.
                self.misbehave_at = time.monotonic()
                blocks = self.block_list()
                give_up = time.monotonic() + a.deadline
                while self.requests_while_choked < (a.count or 300) \
                        and not self.closed_evt.is_set() and time.monotonic() < give_up:
                    if not self.choked:
                        await asyncio.sleep(0.05)
                        continue
                    blk = next(blocks, None)
                    if blk is None:
                        blocks = self.block_list()
                        blk = next(blocks)
                    self.requests_while_choked += 1
                    if not await self.request(writer, *blk):
                        break
                    if a.interval > 0:
                        await asyncio.sleep(a.interval)
                self.log(0, "requests_sent", count=self.requests_sent,
                         while_choked=self.requests_while_choked)
            else:
                await self.send(writer, Mock.msg(2))
                unchoked = await self.wait_unchoke()
                res["unchoked"] = unchoked
                if not unchoked:
                    self.log(0, "never_unchoked", seconds=a.unchoke_timeout)
                    return res
                if mode == "leech-flood":
                    batch = []
                    blocks = self.block_list()
                    for _ in range(a.count or 5000):
                        blk = next(blocks, None)
                        if blk is None:
                            blocks = self.block_list()
                            blk = next(blocks)
                        batch.append(Mock.msg(6, struct.pack(">III", *blk)))
                    self.misbehave_at = time.monotonic()
                    self.requests_sent += len(batch)
                    await self.send(writer, b"".join(batch))
                    self.log(0, "requests_sent", count=self.requests_sent)
                else:
                    # One valid request first: proves the seeder serves this
                    # connection, so a disconnect afterwards is about the bad one.
                    good = (1 if self.ti.num_pieces > 1 else 0, 0,
                            min(swarm.BLOCK, self.piece_size(1 if self.ti.num_pieces > 1 else 0)))
                    await self.request(writer, *good)
                    res["good_served"] = await self.wait_block(good, 10)
                    last = self.ti.num_pieces - 1
                    if mode == "leech-oversize":
                        bad = (0, 0, a.length)
                    elif a.variant == "index":
                        bad = (self.ti.num_pieces, 0, swarm.BLOCK)
                    else:
                        size = self.piece_size(last)
                        bad = (last, max(0, size - swarm.BLOCK // 2), swarm.BLOCK)
                    self.misbehave_at = time.monotonic()
                    await self.request(writer, *bad)
                    self.log(0, "bad_request", piece=bad[0], begin=bad[1], length=bad[2])
            await asyncio.wait([asyncio.create_task(self.closed_evt.wait())],
                               timeout=a.deadline)
            return res
        finally:
            if bad is not None:
                res["bad_served"] = any((i, b) == (bad[0], bad[1]) and ln > 0
                                        for i, b, ln in self.got)
            disconnected = self.closed_evt.is_set()
            res.update(
                disconnected=disconnected, close_kind=self.close_kind,
                seconds_to_disconnect=(round(self.closed_at - self.misbehave_at, 3)
                                       if disconnected and self.misbehave_at else None),
                misbehaved=self.misbehave_at is not None,
                requests_sent=self.requests_sent,
                requests_while_choked=self.requests_while_choked, pieces=self.pieces,
                bytes_received=self.payload, raw_bytes=self.raw, max_block=self.max_block,
                served_while_choked=self.served_while_choked, choke_msgs=self.choke_msgs,
                unchoke_msgs=self.unchoke_msgs, haves=self.haves)
            rd.cancel()
            try:
                writer.close()
            except OSError:
                pass


async def run_leech(args) -> None:
    leech = Leech(args)
    res = await leech.run()
    leech.log(0, "result", **res)
    print("RESULT " + json.dumps(res), flush=True)


SERVER_MODES = ["silent", "garbage", "garbage-msg", "wrong-data", "slow", "good",
                "metadata-wrong", "metadata-oversized", "huge-length", "bad-bitfield",
                "have-past-end", "unrequested", "short-piece", "other-hash", "trickle",
                "fast-choked", "pex-flood"]
LEECH_MODES = ["leech-out-of-range", "leech-oversize", "leech-choked", "leech-flood",
               "leech-fast"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", required=True, choices=SERVER_MODES + LEECH_MODES)
    ap.add_argument("--port", type=int, help="listen port (seeder modes)")
    ap.add_argument("--host", default="127.0.0.1",
                    help="listen address (seeder modes), in 127.0.0.0/8: another loopback "
                         "address makes the mock a host of its own, e.g. for bans")
    ap.add_argument("--target", help="leech modes: 127.0.0.1:PORT of the seeder to connect to")
    ap.add_argument("--variant", choices=["index", "end", "nobit"], default="index",
                    help="leech-out-of-range: piece index past the end, or block past its piece; "
                         "leech-fast: nobit sends fast messages without the handshake bit")
    ap.add_argument("--length", type=int, default=256 * 1024,
                    help="leech-oversize: request length")
    ap.add_argument("--count", type=int, default=0,
                    help="leech-choked / leech-flood: requests to send (default 300 / 5000)")
    ap.add_argument("--interval", type=float, default=0.005,
                    help="leech-choked: seconds between requests")
    ap.add_argument("--unchoke-timeout", type=float, default=30,
                    help="leech modes: give up waiting for an unchoke after this")
    ap.add_argument("--deadline", type=float, default=20,
                    help="leech modes: wait this long for the disconnect after misbehaving")
    ap.add_argument("--torrent", required=True)
    ap.add_argument("--content", help="the torrent's file (single-file) or root directory")
    ap.add_argument("--log", help="JSON-lines file of what was received")
    ap.add_argument("--announce", help="tracker announce URL to register with")
    ap.add_argument("--block-delay", type=float, default=1.0, help="slow mode: seconds per block")
    ap.add_argument("--garbage-bytes", type=int, default=256 * 1024,
                    help="garbage modes: how much to send per connection")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--fast", action="store_true",
                    help="seeder modes: speak the fast extension (BEP 6)")
    ap.add_argument("--suggest", type=int,
                    help="with --fast: send SUGGEST_PIECE for this piece after HAVE_ALL")
    ap.add_argument("--trickle-rate", type=float, default=1.0,
                    help="trickle mode: bytes per second")
    ap.add_argument("--metadata-size", type=int, default=1 << 30,
                    help="metadata-oversized: the size offered")
    args = ap.parse_args()
    if args.mode in LEECH_MODES:
        if not args.target:
            ap.error(f"--mode {args.mode} needs --target")
        try:
            asyncio.run(run_leech(args))
        except KeyboardInterrupt:
            pass
        return 0
    if args.port is None:
        ap.error(f"--mode {args.mode} needs --port")
    if not args.host.startswith("127."):
        ap.error("--host must be a loopback address (127.0.0.0/8)")
    if args.mode in ("slow", "good", "fast-choked") and not args.content:
        ap.error(f"--mode {args.mode} needs --content")
    try:
        asyncio.run(Mock(args).run())
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
