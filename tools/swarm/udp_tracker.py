#!/usr/bin/env python3
"""A UDP tracker (BEP 15) that misbehaves on purpose, for tests.

Listens on --host:--port (127.0.0.0/8 or ::1 only) and answers connect,
announce and scrape requests; announce replies name the --peer addresses
(6-byte entries on 127.x, 18-byte IPv6 entries, [addr]:port, on ::1), scrape replies count them all as seeders.  Misbehaviour:
  --drop N        ignore the first N requests (any action)
  --delay SEC     wait SEC before each reply
  --duplicate     send each reply twice
  --garble        before each real reply send three bad datagrams: a short
                  one, the reply with a wrong transaction id, and the reply
                  cut in the middle of a peer entry
  --silent        never answer
  --error TEXT    answer every announce with an error (action 3)
Every datagram received is written to --log as a JSON line: arrival time
(time.monotonic()), action, transaction id, length, event (announce) and
whether it was answered.  Prints READY once listening; exits after
--deadline seconds at the latest.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import struct
import sys
import threading
import time

PROTOCOL_ID = 0x41727101980
EVENTS = {0: "none", 1: "completed", 2: "started", 3: "stopped"}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--peer", action="append", default=[], help="HOST:PORT to hand out")
    ap.add_argument("--interval", type=int, default=1800)
    ap.add_argument("--drop", type=int, default=0)
    ap.add_argument("--delay", type=float, default=0.0)
    ap.add_argument("--duplicate", action="store_true")
    ap.add_argument("--garble", action="store_true")
    ap.add_argument("--silent", action="store_true")
    ap.add_argument("--error", default=None)
    ap.add_argument("--log", required=True)
    ap.add_argument("--deadline", type=float, default=300.0)
    args = ap.parse_args()
    if not (args.host.startswith("127.") or args.host == "::1"):
        print("loopback only", file=sys.stderr)
        return 2
    v6 = args.host == "::1"

    # BEP 15: a tracker answers over IPv6 with IPv6 peers only.
    peers = b""
    for p in args.peer:
        host, port = p.rsplit(":", 1)
        host = host.strip("[]")
        if v6 != (":" in host):
            continue
        addr = socket.inet_pton(socket.AF_INET6, host) if v6 else socket.inet_aton(host)
        peers += addr + struct.pack(">H", int(port))
    peer_entry = 18 if v6 else 6

    sock = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((args.host, args.port))
    sock.settimeout(0.2)
    log = open(args.log, "a", buffering=1)
    log_lock = threading.Lock()
    connections: set = set()
    received = 0
    print("READY", flush=True)

    def record(entry: dict) -> None:
        with log_lock:
            log.write(json.dumps(entry) + "\n")

    def send(reply: bytes, addr) -> None:
        if args.delay:
            time.sleep(args.delay)
        if args.garble:
            sock.sendto(reply[:5], addr)
            wrong = bytearray(reply)
            wrong[4] ^= 0xFF
            sock.sendto(bytes(wrong), addr)
            if len(reply) > 20:
                sock.sendto(reply[:-1], addr)
        sock.sendto(reply, addr)
        if args.duplicate:
            sock.sendto(reply, addr)

    end = time.monotonic() + args.deadline
    while time.monotonic() < end:
        try:
            data, addr = sock.recvfrom(65536)
        except socket.timeout:
            continue
        t = time.monotonic()
        received += 1
        entry = {"t": t, "len": len(data), "from": f"{addr[0]}:{addr[1]}"}
        reply = None
        if len(data) >= 16:
            cid, action, tid = struct.unpack(">QII", data[:16])
            entry.update(action=action, tid=tid)
            if action == 0 and cid == PROTOCOL_ID and len(data) == 16:
                new = int.from_bytes(os.urandom(8), "big")
                connections.add(new)
                reply = struct.pack(">IIQ", 0, tid, new)
            elif action == 1 and len(data) >= 98:
                entry["event"] = EVENTS.get(struct.unpack(">I", data[80:84])[0], "?")
                entry["known_connection"] = cid in connections
                if args.error is not None:
                    reply = struct.pack(">II", 3, tid) + args.error.encode()
                elif cid in connections:
                    reply = struct.pack(">IIiii", 1, tid, args.interval, 0, len(peers) // peer_entry) + peers
            elif action == 2 and cid in connections:
                n = (len(data) - 16) // 20
                reply = struct.pack(">II", 2, tid) + struct.pack(">iii", len(peers) // peer_entry, 0, 0) * n
        answered = reply is not None and not args.silent and received > args.drop
        entry["answered"] = answered
        record(entry)
        if answered:
            # Delays must not hold up the next request: they are what is measured.
            threading.Thread(target=send, args=(reply, addr), daemon=True).start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
