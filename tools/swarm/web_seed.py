#!/usr/bin/python3
"""A web seed (BEP 19) for end-to-end tests: an HTTP/1.1 server on 127.0.0.1
that serves the files under --dir with single byte ranges ("Range:
bytes=A-B", answered 206 with Content-Range) and keeps connections alive.
Python's http.server answers ranges with the whole file, hence this one.

--mode makes it misbehave, for every file request:

  good     serve what is asked
  404      404 Not Found
  500      500 Internal Server Error
  wrong    the right status and headers, but every byte of the body inverted
  wrong-once  as wrong for the first range served, then good (a file caught
           while it was being replaced)
  short    Content-Length of the range, half the body, then close
  slow     serve, 16 KiB at a time with --delay seconds between chunks
  norange  ignore Range: 200 and the whole file
  redirect 302 to the same path under --redirect-to (a base URL; itself
           for a redirect loop)

With --cert/--key it serves HTTPS. Every request is logged to --log as one JSON object per line ({"t",
"conn", "path", "range", "status"}; "conn" numbers the connections, so a
test sees how many requests one connection carried). Standard library
only. Idle connections close after --idle seconds; the whole process exits
after --deadline seconds.
"""

import argparse
import http.server
import itertools
import json
import os
import re
import ssl
import sys
import threading
import time
import urllib.parse

CHUNK = 16 * 1024
RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--mode", default="good",
                    choices=["good", "404", "500", "wrong", "wrong-once", "short", "slow", "norange",
                             "redirect"])
    ap.add_argument("--redirect-to", default="")
    ap.add_argument("--cert", help="PEM certificate chain: serve HTTPS")
    ap.add_argument("--key", help="PEM private key of --cert")
    ap.add_argument("--delay", type=float, default=0.05)
    ap.add_argument("--log", required=True)
    ap.add_argument("--idle", type=float, default=10)
    ap.add_argument("--deadline", type=float, default=300)
    args = ap.parse_args()
    root = os.path.realpath(args.dir)
    log_lock = threading.Lock()
    conn_ids = itertools.count(1)
    bodies_served = itertools.count(0)  # next() is atomic under the GIL

    def record(entry):
        entry["t"] = round(time.time(), 3)
        with log_lock, open(args.log, "a") as f:
            f.write(json.dumps(entry) + "\n")

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = args.idle

        def setup(self):
            super().setup()
            self.conn_id = next(conn_ids)

        def log_message(self, fmt, *a):  # the JSON log says it all
            pass

        def local_path(self):
            rel = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
            path = os.path.realpath(os.path.join(root, rel))
            if path != root and not path.startswith(root + os.sep):
                return None
            return path if os.path.isfile(path) else None

        def answer_error(self, status):
            body = f"{status}\n".encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            rng = self.headers.get("Range")
            entry = {"conn": self.conn_id, "path": self.path, "range": rng}
            path = self.local_path()
            if args.mode == "redirect":
                target = (args.redirect_to or f"http://127.0.0.1:{args.port}/").rstrip("/") + self.path
                entry["status"] = 302
                record(entry)
                self.send_response(302)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if path is None or args.mode in ("404", "500"):
                status = 404 if path is None or args.mode == "404" else 500
                entry["status"] = status
                record(entry)
                self.answer_error(status)
                return
            size = os.path.getsize(path)
            first, last, status = 0, size - 1, 200
            m = RANGE.match(rng or "")
            if m and args.mode != "norange":
                first = int(m.group(1))
                last = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
                if first > last or first >= size:
                    entry["status"] = 416
                    record(entry)
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status = 206
            length = last - first + 1
            entry["status"] = status
            invert = args.mode == "wrong" or (args.mode == "wrong-once" and next(bodies_served) == 0)
            if invert:
                entry["inverted"] = True
            record(entry)
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(length))
            if status == 206:
                self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
            self.end_headers()
            send = length // 2 if args.mode == "short" else length
            with open(path, "rb") as f:
                f.seek(first)
                while send > 0:
                    data = f.read(min(CHUNK, send))
                    if not data:
                        break
                    if invert:
                        data = bytes(b ^ 0xFF for b in data)
                    self.wfile.write(data)
                    send -= len(data)
                    if args.mode == "slow":
                        time.sleep(args.delay)
            if args.mode == "short":
                self.close_connection = True

    tls = None
    if args.cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.cert, args.key)

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True

        def finish_request(self, request, client_address):
            # The TLS handshake runs on the connection's own thread: a
            # client that refuses the certificate costs only that thread.
            if tls is not None:
                try:
                    request.settimeout(args.idle)
                    request = tls.wrap_socket(request, server_side=True)
                except (OSError, ssl.SSLError) as e:
                    record({"tls_error": str(e)})
                    return
            super().finish_request(request, client_address)

    server = Server(("127.0.0.1", args.port), Handler)
    threading.Timer(args.deadline, lambda: os._exit(0)).start()
    print("READY", flush=True)
    server.serve_forever(poll_interval=0.2)


if __name__ == "__main__":
    sys.exit(main())
