#!/usr/bin/python3
"""An HTTP (or, with --cert/--key, HTTPS) tracker on 127.0.0.1 that answers
the way broken or hostile trackers do, for end-to-end tests.

The behaviour is --mode, or the first word of --mode-file read again at each
request (so one tracker can change its behaviour between runs of a client;
a second word there overrides --count):

  good           a compact peer list of the --peer addresses, interval 30 s,
                 after --delay seconds (IPv6 ones, written [addr]:port, in "peers6")
  garbage        status 200 and 4 KiB of random bytes
  html200        status 200 and an HTML error page
  html500        status 500 and an HTML error page
  big            status 200, Content-Length and 5 MiB of body (--size)
  big-close      status 200, no Content-Length, 5 MiB of body, then close
  peers-compact  a compact peer list of --count (100000) addresses: the --peer
                 ones at index 500, the others in 127.1.0.0/16 and up, port 2
  peers-dict     the same as a list of dictionaries
  redirect-loop  302 back to the very URL asked for, forever
  redirect-plain 302 to the same URL as http:// (a downgrade from https)
  headers        a status line, then header lines without end
  trickle        status 200, Content-Length 1000000, then a byte every 0.5 s
  silent         reads the request and never answers

Every request is logged to --log as one JSON object per line ({"t", "mode",
"peer_id", "event", "path", "sni"}; a refused TLS handshake as {"t", "tls_error"}). Standard library only. Every connection ends by itself
within --max-seconds, and the whole process after --deadline seconds.
"""

import argparse
import json
import os
import random
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from swarm import bencode  # noqa: E402

HEAD_LIMIT = 16 * 1024

HTML = (b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n"
        b"<body><h1>Bad Gateway</h1><p>The upstream tracker is down for maintenance."
        b"</p></body></html>\n")


def fake_peer(i: int) -> tuple:
    """The i-th address of a list: 127.1.0.0 upwards, port 2 (nothing listens there)."""
    n = (1 << 16) + i
    return f"127.{n >> 16}.{(n >> 8) & 255}.{n & 255}", 2


class Handler(socketserver.BaseRequestHandler):
    def setup(self):
        self.request.settimeout(10)
        self.t0 = time.monotonic()
        self.refused = None
        if isinstance(self.request, ssl.SSLSocket):
            try:
                self.request.do_handshake()
            except (OSError, ssl.SSLError) as e:
                self.refused = str(e)

    def expired(self) -> bool:
        return time.monotonic() - self.t0 > self.server.args.max_seconds

    def send(self, data: bytes) -> bool:
        try:
            self.request.sendall(data)
            return True
        except OSError:
            return False

    def read_head(self) -> bytes | None:
        data = b""
        while b"\r\n\r\n" not in data:
            if len(data) > HEAD_LIMIT:
                return None
            try:
                chunk = self.request.recv(4096)
            except (OSError, ssl.SSLError):
                return None
            if not chunk:
                return None
            data += chunk
        return data

    def respond(self, status: str, body: bytes, ctype: str = "text/plain", length: bool = True):
        head = f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nConnection: close\r\n"
        if length:
            head += f"Content-Length: {len(body)}\r\n"
        self.send(head.encode() + b"\r\n" + body)

    def peer_closed(self, wait: float) -> bool:
        """Waits up to `wait` s for the client; True once it closed the connection."""
        self.request.settimeout(wait)
        try:
            return self.request.recv(1024) == b""
        except socket.timeout:
            return False
        except (OSError, ssl.SSLError):
            return True

    def log(self, record: dict):
        record["t"] = time.time()
        with self.server.log_lock:
            with open(self.server.args.log, "a") as f:
                f.write(json.dumps(record) + "\n")

    def handle(self):
        if self.refused is not None:
            self.log({"tls_error": self.refused})
            return
        head = self.read_head()
        if head is None:
            return
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = line.split(" ")
        target = parts[1] if len(parts) >= 2 else "/"
        query = urllib.parse.urlsplit(target).query
        qs = urllib.parse.parse_qs(query, encoding="latin-1")
        peer_id = qs.get("peer_id", [""])[0]
        mode, self.count = self.server.mode()
        self.log({"mode": mode, "peer_id": peer_id[:8], "event": qs.get("event", [""])[0],
                  "path": target[:200], "sni": getattr(self.request, "sni_name", None)})
        getattr(self, "mode_" + mode.replace("-", "_"))(target)

    # ---- behaviours

    def mode_good(self, target):
        # A slow tracker: its peers arrive after those of faster ones.
        time.sleep(min(self.server.args.delay, self.server.args.max_seconds))
        v4 = [(h, p) for h, p in self.server.peers if ":" not in h]
        v6 = [(h, p) for h, p in self.server.peers if ":" in h]
        reply = {"interval": 30, "complete": len(self.server.peers), "incomplete": 0,
                 "peers": b"".join(socket.inet_aton(h) + struct.pack(">H", p) for h, p in v4)}
        if v6:
            reply["peers6"] = b"".join(socket.inet_pton(socket.AF_INET6, h) + struct.pack(">H", p)
                                       for h, p in v6)
        self.respond("200 OK", bencode(reply))

    def mode_garbage(self, target):
        self.respond("200 OK", random.Random(7).randbytes(4096), "application/octet-stream")

    def mode_html200(self, target):
        self.respond("200 OK", HTML, "text/html")

    def mode_html500(self, target):
        self.respond("500 Internal Server Error", HTML, "text/html")

    def stream_big(self, length: bool):
        size = self.server.args.size
        head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
        if length:
            head += f"Content-Length: {size}\r\n"
        if not self.send(head.encode() + b"\r\n"):
            return
        block = b"d" + b"x" * 65535
        sent = 0
        while sent < size and not self.expired():
            n = min(len(block), size - sent)
            if not self.send(block[:n]):
                return
            sent += n

    def mode_big(self, target):
        self.stream_big(True)

    def mode_big_close(self, target):
        self.stream_big(False)

    def long_list(self) -> list:
        """count addresses: the --peer ones among the first 500, the rest fake."""
        fake = [fake_peer(i) for i in range(max(0, self.count - len(self.server.peers)))]
        at = min(500, len(fake))
        return fake[:at] + self.server.peers + fake[at:]

    def mode_peers_compact(self, target):
        out = b"".join(socket.inet_aton(h) + struct.pack(">H", p) for h, p in self.long_list())
        self.respond("200 OK", bencode({"interval": 30, "peers": out}))

    def mode_peers_dict(self, target):
        peers = [{"ip": h, "port": p} for h, p in self.long_list()]
        self.respond("200 OK", bencode({"interval": 30, "peers": peers}))

    def mode_redirect_loop(self, target):
        scheme = "https" if self.server.tls else "http"
        where = f"{scheme}://127.0.0.1:{self.server.server_address[1]}{target}"
        self.send(("HTTP/1.1 302 Found\r\nLocation: " + where +
                   "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").encode())

    def mode_redirect_plain(self, target):
        where = f"http://127.0.0.1:{self.server.server_address[1]}{target}"
        self.send(("HTTP/1.1 302 Found\r\nLocation: " + where +
                   "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").encode())

    def mode_headers(self, target):
        if not self.send(b"HTTP/1.1 200 OK\r\n"):
            return
        i = 0
        while not self.expired() and i < 100000:
            if not self.send(b"X-Filler-%d: %s\r\n" % (i, b"y" * 200)):
                return
            i += 1

    def mode_trickle(self, target):
        if not self.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\nConnection: close\r\n\r\nd"):
            return
        while not self.expired():
            if not self.send(b"8"):
                return
            if self.peer_closed(0.5):
                return

    def mode_silent(self, target):
        while not self.expired():
            if self.peer_closed(1.0):
                return


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, args):
        self.args = args
        self.log_lock = threading.Lock()
        self.peers = []
        for p in args.peer:
            h, _, port = p.rpartition(":")
            self.peers.append((h.strip("[]"), int(port)))
        self.tls = None
        if args.cert:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(args.cert, args.key)
            self.tls.sni_callback = self.on_sni
        super().__init__(("127.0.0.1", args.port), Handler)

    @staticmethod
    def on_sni(sock, name, context):
        sock.sni_name = name  # logged with the request
        return None

    def mode(self) -> tuple:
        """(mode, peer count) for the request at hand."""
        if self.args.mode_file:
            try:
                with open(self.args.mode_file) as f:
                    words = f.read().split()
                return words[0], int(words[1]) if len(words) > 1 else self.args.count
            except (OSError, IndexError, ValueError):
                return "silent", self.args.count
        return self.args.mode, self.args.count

    def get_request(self):
        conn, addr = super().get_request()
        if self.tls:
            # The handshake happens in the handler's thread (first read), so a
            # client that refuses our certificate costs only its own thread.
            conn = self.tls.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        return conn, addr


MODES = ["good", "garbage", "html200", "html500", "big", "big-close", "peers-compact",
         "peers-dict", "redirect-loop", "redirect-plain", "headers", "trickle", "silent"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mode", choices=MODES, default="good")
    ap.add_argument("--mode-file", help="read the mode from this file at each request")
    ap.add_argument("--peer", action="append", default=[], help="HOST:PORT for mode good")
    ap.add_argument("--delay", type=float, default=0, help="seconds before a good answer")
    ap.add_argument("--count", type=int, default=100000, help="peers in peers-* modes")
    ap.add_argument("--size", type=int, default=5 * 1024 * 1024, help="body bytes in big modes")
    ap.add_argument("--cert", help="PEM certificate chain: serve HTTPS")
    ap.add_argument("--key", help="PEM private key of --cert")
    ap.add_argument("--log", default=os.devnull)
    ap.add_argument("--max-seconds", type=float, default=120, help="bound on one connection")
    ap.add_argument("--deadline", type=float, default=900, help="bound on the whole process")
    args = ap.parse_args()
    server = Server(args)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("READY", flush=True)
    time.sleep(args.deadline)
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
