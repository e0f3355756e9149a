"""Talking to actorrent's status page (--status-port): its URL from the
client's output, JSON over HTTP, and raw bytes for malformed requests.
Standard library only; every call is bounded in time."""

import json
import re
import socket
import time
import urllib.error
import urllib.request

from swarm import HarnessError, wait_until

_URL_RE = re.compile(r"^status page: (http://\S+/)$", re.M)


def wait_url(handle, timeout: float = 20) -> str:
    """The URL a Background actorrent printed ("status page: http://...")."""
    box = {}

    def printed():
        if not handle.running():
            r = handle.result()
            raise HarnessError(f"actorrent exited with {r.returncode}:\n{r.stdout}\n{r.stderr}")
        m = _URL_RE.search(handle.stdout())
        if m:
            box["url"] = m.group(1)
        return "url" in box
    wait_until(printed, timeout, "the status page URL", interval=0.05)
    return box["url"]


def request(url: str, method: str = "GET", headers: dict | None = None,
            data: bytes | None = None, timeout: float = 10) -> tuple:
    """(status, headers, body bytes); HTTP errors are answers, not exceptions."""
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def torrents(base: str) -> list:
    status, _, body = request(base + "api/torrents")
    if status != 200:
        raise HarnessError(f"GET /api/torrents answered {status}: {body[:200]!r}")
    return json.loads(body)["torrents"]


def raw(host: str, port: int, data: bytes, timeout: float = 10) -> bytes:
    """Sends bytes as they are and reads until the server closes (bounded)."""
    deadline = time.monotonic() + timeout
    out = b""
    with socket.create_connection((host, port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before all is sent
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            except socket.timeout:
                break
            if not chunk:
                break
            out += chunk
    return out


def status_code(response: bytes) -> int:
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", response)
    return int(m.group(1)) if m else 0
