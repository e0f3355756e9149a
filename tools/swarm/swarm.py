"""Real swarms on 127.0.0.1 for end-to-end tests and benchmarks.

Everything here uses the Python standard library only (plus the Debian tools
opentracker, mktorrent, aria2c and, through lt_seed.py, python3-libtorrent).
A Swarm owns every process it starts and every temporary directory it makes;
leaving the `with` block stops the processes by PID and removes the
directories, so a failing test never leaves a seeder behind.  Every wait is
bounded by a deadline.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
import urllib.request
from typing import Iterable, NamedTuple, Sequence

HERE = os.path.dirname(os.path.abspath(__file__))
# libtorrent's Python module is only visible to Debian's interpreter.
SYSTEM_PYTHON = "/usr/bin/python3"
BLOCK = 16 * 1024
MiB = 1024 * 1024

# Exit code meson treats as "skipped": used when a required system tool is absent,
# so a machine without opentracker reports SKIP rather than a misleading FAIL.
EXIT_SKIP = 77


class HarnessError(Exception):
    """The swarm itself could not be set up (not a failure of the client under test)."""


class Skip(Exception):
    """A prerequisite tool is missing on this machine."""


class TestFailure(Exception):
    """The client under test did not behave as required."""


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --------------------------------------------------------------------------- bencode

class BencodeError(ValueError):
    pass


def _bdecode_at(data: bytes, i: int, depth: int, spans: dict | None):
    if depth > 64:
        raise BencodeError(f"nesting too deep at offset {i}")
    if i >= len(data):
        raise BencodeError(f"unexpected end at offset {i}")
    c = data[i:i + 1]
    if c == b"i":
        end = data.index(b"e", i)
        return int(data[i + 1:end]), end + 1
    if c == b"l":
        i += 1
        out = []
        while data[i:i + 1] != b"e":
            v, i = _bdecode_at(data, i, depth + 1, None)
            out.append(v)
        return out, i + 1
    if c == b"d":
        i += 1
        out = {}
        while data[i:i + 1] != b"e":
            k, i = _bdecode_at(data, i, depth + 1, None)
            if not isinstance(k, bytes):
                raise BencodeError(f"dictionary key is not a string at offset {i}")
            start = i
            v, i = _bdecode_at(data, i, depth + 1, None)
            if spans is not None and depth == 0:
                spans[k] = (start, i)
            out[k] = v
        return out, i + 1
    if c.isdigit():
        colon = data.index(b":", i)
        n = int(data[i:colon])
        if n < 0 or colon + 1 + n > len(data):
            raise BencodeError(f"string length {n} runs past the end at offset {i}")
        return data[colon + 1:colon + 1 + n], colon + 1 + n
    raise BencodeError(f"unexpected byte {c!r} at offset {i}")


def bdecode(data: bytes):
    try:
        v, end = _bdecode_at(data, 0, 0, None)
    except (ValueError, IndexError) as e:
        raise BencodeError(str(e)) from e
    if end != len(data):
        raise BencodeError(f"trailing bytes at offset {end}")
    return v


def bencode(v) -> bytes:
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, list):
        return b"l" + b"".join(bencode(x) for x in v) + b"e"
    if isinstance(v, dict):
        items = sorted((k.encode() if isinstance(k, str) else k, x) for k, x in v.items())
        return b"d" + b"".join(bencode(k) + bencode(x) for k, x in items) + b"e"
    raise TypeError(f"cannot bencode {type(v)}")


class TorrentInfo(NamedTuple):
    name: str
    info_hash: bytes            # raw 20 bytes, SHA-1 of the info dict as stored
    piece_length: int
    num_pieces: int
    total_size: int
    files: list                 # [(relative path inside the torrent root, size)] in torrent order
    multi_file: bool
    announce: list              # announce URLs (announce + announce-list, deduplicated)

    @property
    def info_hash_hex(self) -> str:
        return self.info_hash.hex()


def read_torrent(path: str) -> TorrentInfo:
    with open(path, "rb") as f:
        data = f.read()
    spans: dict = {}
    try:
        top, end = _bdecode_at(data, 0, 0, spans)
    except (ValueError, IndexError) as e:
        raise BencodeError(f"{path}: {e}") from e
    if not isinstance(top, dict) or b"info" not in top:
        raise BencodeError(f"{path}: no info dictionary")
    s, e = spans[b"info"]
    info = top[b"info"]
    name = info[b"name"].decode()
    if b"files" in info:
        files = [("/".join(p.decode() for p in f[b"path"]), f[b"length"]) for f in info[b"files"]]
        multi = True
    else:
        files = [(name, info[b"length"])]
        multi = False
    urls = []
    if b"announce" in top:
        urls.append(top[b"announce"].decode())
    for tier in top.get(b"announce-list", []):
        for u in tier:
            if u.decode() not in urls:
                urls.append(u.decode())
    return TorrentInfo(
        name=name,
        info_hash=hashlib.sha1(data[s:e]).digest(),
        piece_length=info[b"piece length"],
        num_pieces=len(info[b"pieces"]) // 20,
        total_size=sum(sz for _, sz in files),
        files=files,
        multi_file=multi,
        announce=urls,
    )


def info_hash(torrent: str) -> str:
    """Hex info-hash of a .torrent file."""
    return read_torrent(torrent).info_hash_hex


# --------------------------------------------------------------------------- content

def _file_seed(seed: int, relpath: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{relpath}".encode()).digest()[:8], "big")


def make_content(directory: str, spec, seed: int = 0) -> dict:
    """Write deterministic pseudo-random files under `directory`.

    spec is a mapping or a sequence of (relative path, size in bytes); sub
    directories are created.  Returns {relative path: sha256 hex}.  The same
    (seed, path, size) always gives the same bytes, so a failure reproduces.
    """
    items = list(spec.items()) if isinstance(spec, dict) else list(spec)
    digests = {}
    for rel, size in items:
        path = os.path.join(directory, rel)
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        rng = random.Random(_file_seed(seed, rel))
        h = hashlib.sha256()
        left = size
        with open(path, "wb") as f:
            while left > 0:
                chunk = rng.randbytes(min(left, 4 * MiB))
                f.write(chunk)
                h.update(chunk)
                left -= len(chunk)
        digests[rel] = h.hexdigest()
    return digests


# Uneven sizes on purpose: files smaller than a piece, files that straddle piece
# boundaries at odd offsets, an empty file, and a nested directory.
def multifile_spec(root: str = "multi", piece_length: int = 256 * 1024) -> list:
    p = piece_length
    return [
        (f"{root}/a_big.bin", 3 * p + 12345),
        (f"{root}/b_tiny.txt", 17),
        (f"{root}/c_empty.dat", 0),
        (f"{root}/d_small.bin", p // 3),
        (f"{root}/nested/deeper/e_mid.bin", 2 * p - 1),
        (f"{root}/nested/f_one.bin", 1),
        (f"{root}/nested/g_piece.bin", p),
        (f"{root}/nested/h_large.bin", 40 * p + 4321),
        (f"{root}/z_last.bin", 5 * p + 777),
    ]


def make_torrent(content_path: str, out: str, piece_length: int = 256 * 1024,
                 announce=None, name: str | None = None, private: bool = False,
                 web_seeds: Sequence[str] = ()) -> str:
    """Create `out` from a file or directory with mktorrent; return the hex info-hash.

    announce may be None, a URL, or a list of URLs (one tier each); web_seeds
    become the url-list (BEP 19)."""
    need_tool("mktorrent")
    log2 = piece_length.bit_length() - 1
    if 1 << log2 != piece_length:
        raise ValueError("piece_length must be a power of two")
    args = ["mktorrent", "-l", str(log2), "-o", out, "-d"]
    if announce:
        for url in ([announce] if isinstance(announce, str) else announce):
            args += ["-a", url]
    if name:
        args += ["-n", name]
    if private:
        args.append("-p")
    for url in web_seeds:
        args += ["-w", url]
    if os.path.exists(out):
        os.unlink(out)
    r = subprocess.run(args + [content_path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=300)
    if r.returncode != 0:
        raise HarnessError(f"mktorrent failed: {r.stdout.decode(errors='replace')}")
    return info_hash(out)


def transmission_show_hash(torrent: str) -> str:
    need_tool("transmission-show")
    r = subprocess.run(["transmission-show", torrent], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    for line in r.stdout.decode(errors="replace").splitlines():
        line = line.strip()
        if line.startswith("Hash:"):
            return line.split()[1].lower()
    raise HarnessError(f"no Hash line in transmission-show output for {torrent}")


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(4 * MiB)
            if not b:
                return h.hexdigest()
            h.update(b)


def verify_files(out_path: str, content_path: str, allow_extra: bool = False) -> list:
    """Compare a downloaded file or tree against the original content.

    Returns a list of problems (empty when every file matches by sha256).
    Files present in the download but absent from the content are problems
    unless allow_extra (a client may keep a resume file, for example)."""
    problems = []
    if os.path.isfile(content_path):
        pairs = [(os.path.basename(content_path), content_path, out_path)]
    else:
        pairs = []
        for dirpath, _, names in os.walk(content_path):
            for n in names:
                src = os.path.join(dirpath, n)
                rel = os.path.relpath(src, content_path)
                pairs.append((rel, src, os.path.join(out_path, rel)))
        if not allow_extra and os.path.isdir(out_path):
            expected = {rel for rel, _, _ in pairs}
            for dirpath, _, names in os.walk(out_path):
                for n in names:
                    rel = os.path.relpath(os.path.join(dirpath, n), out_path)
                    if rel not in expected:
                        problems.append(f"unexpected file {rel} in {out_path}")
    for rel, src, dst in sorted(pairs):
        if not os.path.isfile(dst):
            problems.append(f"missing {rel} ({dst})")
            continue
        ssz, dsz = os.path.getsize(src), os.path.getsize(dst)
        if ssz != dsz:
            problems.append(f"{rel}: size {dsz}, expected {ssz}")
        elif sha256_file(src) != sha256_file(dst):
            problems.append(f"{rel}: content differs (sha256)")
    return problems


# --------------------------------------------------------------------------- ports

def free_port() -> int:
    """A port free for both TCP and UDP on 127.0.0.1 at the time of the call."""
    for _ in range(200):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                u.bind(("127.0.0.1", port))
            except OSError:
                continue
            finally:
                u.close()
            return port
        finally:
            t.close()
    raise HarnessError("no free port found")


def port_accepts(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(pred, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise HarnessError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def need_tool(name: str) -> str:
    path = shutil.which(name) or (name if os.path.isabs(name) and os.access(name, os.X_OK) else None)
    if not path:
        raise Skip(f"{name} is not installed")
    return path


def have_libtorrent() -> bool:
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        return False
    r = subprocess.run([SYSTEM_PYTHON, "-c", "import libtorrent"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=30)
    return r.returncode == 0


def need_libtorrent() -> None:
    if not have_libtorrent():
        raise Skip(f"python3-libtorrent is not importable by {SYSTEM_PYTHON}")


def read_jsonl(path: str) -> list:
    """The records a mock peer logged (one JSON object per line)."""
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                out.append(json.loads(line))
    return out


def find_actorrent() -> str:
    """ACTORRENT_BIN, else a built binary under the source root."""
    b = os.environ.get("ACTORRENT_BIN")
    if b:
        if not os.access(b, os.X_OK):
            raise HarnessError(f"ACTORRENT_BIN={b} is not an executable file")
        return b
    root = os.environ.get("ACTORRENT_SOURCE_ROOT", os.path.dirname(os.path.dirname(HERE)))
    for d in sorted(os.listdir(root)) if os.path.isdir(root) else []:
        cand = os.path.join(root, d, "tools", "actorrent")
        if d.startswith("build") and os.access(cand, os.X_OK):
            return cand
    raise HarnessError("actorrent binary not found: set ACTORRENT_BIN")


# --------------------------------------------------------------------------- running a downloader

class RunResult(NamedTuple):
    returncode: int | None      # None only if the process could not be reaped
    stdout: str
    stderr: str
    wall: float                 # seconds from spawn to exit
    cpu: float                  # user + system seconds of the process (os.wait4)
    maxrss_mib: float           # peak resident set size of the process
    timed_out: bool


def _reap(proc: subprocess.Popen, box: list, t0: float) -> None:
    _, status, ru = os.wait4(proc.pid, 0)
    box.append((time.monotonic() - t0, status, ru))


def stop_pid(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """SIGTERM, bounded wait, then SIGKILL: only the process we started."""
    if proc.poll() is not None:
        return
    try:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    except ProcessLookupError:
        pass


# ru_maxrss of a child forked from this interpreter counts the interpreter's
# own resident memory from before the exec (Linux keeps the high-water mark
# across exec), so a small client looks as big as Python. Benchmarks set this
# to run each client under /usr/bin/time, whose fork is small, and take the
# peak from its report instead.
EXACT_RSS = False
TIME_BIN = "/usr/bin/time"


def run_measured(argv: Sequence[str], timeout: float, log_dir: str, tag: str,
                 env: dict | None = None) -> RunResult:
    """Run argv to completion (killed at timeout) and measure it with os.wait4.

    stdout/stderr go to files (no pipe can fill up and stall the child)."""
    os.makedirs(log_dir, exist_ok=True)
    out_p = os.path.join(log_dir, f"{tag}.stdout")
    err_p = os.path.join(log_dir, f"{tag}.stderr")
    rss_p = os.path.join(log_dir, f"{tag}.maxrss")
    exact = EXACT_RSS and os.access(TIME_BIN, os.X_OK)
    if exact:
        argv = [TIME_BIN, "-f", "%M", "-o", rss_p] + list(argv)
    with open(out_p, "wb") as out, open(err_p, "wb") as err:
        t0 = time.monotonic()
        # Its own session, so a timeout can end the client and its wrapper together.
        proc = subprocess.Popen(list(argv), stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=exact)
    box: list = []
    # A thread blocked in wait4 gets the exit time and the child's own rusage
    # exactly, without polling.
    th = threading.Thread(target=_reap, args=(proc, box, t0), daemon=True)
    th.start()
    th.join(timeout)
    timed_out = th.is_alive()
    if timed_out:
        kill = (lambda sig: os.killpg(proc.pid, sig)) if exact else \
            (lambda sig: os.kill(proc.pid, sig))
        try:
            kill(signal.SIGTERM)
        except ProcessLookupError:
            pass
        th.join(5)
        if th.is_alive():
            try:
                kill(signal.SIGKILL)
            except ProcessLookupError:
                pass
            th.join(5)
    if box:
        wall, status, ru = box[0]
        rc = os.waitstatus_to_exitcode(status)
        proc.returncode = rc  # already reaped; keep Popen from waiting again
        cpu = ru.ru_utime + ru.ru_stime
        rss = ru.ru_maxrss / 1024.0
        if exact:
            try:
                with open(rss_p) as f:
                    rss = int(f.read().split()[-1]) / 1024.0
            except (OSError, ValueError, IndexError):
                pass
    else:
        wall, rc, cpu, rss = time.monotonic() - t0, None, 0.0, 0.0
    with open(out_p, "rb") as f:
        so = f.read().decode(errors="replace")
    with open(err_p, "rb") as f:
        se = f.read().decode(errors="replace")
    return RunResult(rc, so, se, wall, cpu, rss, timed_out)


def tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.splitlines()[-lines:])


class Background:
    """A client process left running while the test does other things.

    Output goes to files (no pipe can fill up and stall it).  A thread waits
    for the exit without reaping (waitid WNOWAIT), then reaps with wait4
    under a lock: the exit status and rusage are exact, and a signal sent
    under the same lock can never reach a recycled PID."""

    def __init__(self, argv: Sequence[str], log_dir: str, tag: str, env: dict | None = None):
        os.makedirs(log_dir, exist_ok=True)
        self.tag = tag
        self.argv = list(argv)
        self.out_path = os.path.join(log_dir, f"{tag}.stdout")
        self.err_path = os.path.join(log_dir, f"{tag}.stderr")
        self.port: int | None = None       # the listen port, when the caller chose one
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._exit: tuple | None = None     # (monotonic time, wait status, rusage)
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.t0 = time.monotonic()
            self.proc = subprocess.Popen(self.argv, stdout=out, stderr=err,
                                         stdin=subprocess.DEVNULL, env=env)
        self.pid = self.proc.pid
        self._thread = threading.Thread(target=self._reaper, daemon=True)
        self._thread.start()

    def _reaper(self) -> None:
        try:
            os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOWAIT)
        except ChildProcessError:
            pass
        with self._lock:
            try:
                _, status, ru = os.wait4(self.pid, 0)
            except ChildProcessError:
                status, ru = 0, None
            self._exit = (time.monotonic(), status, ru)
            # Keep Popen from ever waiting on (or signalling) the PID itself.
            self.proc.returncode = os.waitstatus_to_exitcode(status)
        self._done.set()

    def running(self) -> bool:
        return not self._done.is_set()

    def send_signal(self, sig: int) -> bool:
        """Signal the process if it has not been reaped; True if sent."""
        with self._lock:
            if self._exit is not None:
                return False
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                return False
            return True

    def kill9(self) -> None:
        self.send_signal(signal.SIGKILL)
        self._done.wait(10)

    def wait(self, timeout: float) -> bool:
        """Wait at most timeout seconds for the exit; True if it exited."""
        return self._done.wait(max(0.0, timeout))

    def stdout(self) -> str:
        with open(self.out_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stderr(self) -> str:
        with open(self.err_path, "rb") as f:
            return f.read().decode(errors="replace")

    def result(self, timed_out: bool = False) -> RunResult:
        if self._exit is None:
            return RunResult(None, self.stdout(), self.stderr(), time.monotonic() - self.t0,
                             0.0, 0.0, True)
        t, status, ru = self._exit
        rc = os.waitstatus_to_exitcode(status)
        cpu = (ru.ru_utime + ru.ru_stime) if ru else 0.0
        rss = (ru.ru_maxrss / 1024.0) if ru else 0.0
        return RunResult(rc, self.stdout(), self.stderr(), t - self.t0, cpu, rss, timed_out)

    def finish(self, timeout: float, grace: float = 5.0) -> RunResult:
        """Wait for the exit; past timeout, SIGTERM, then SIGKILL (timed_out is set)."""
        if self.wait(timeout):
            return self.result()
        self.send_signal(signal.SIGTERM)
        if not self.wait(grace):
            self.send_signal(signal.SIGKILL)
            self.wait(grace)
        return self.result(timed_out=True)

    def stop(self, sig: int = signal.SIGTERM, grace: float = 10.0) -> RunResult:
        """Send sig and wait for the exit (SIGKILL after grace); the exit code is the
        process's own unless it had to be killed (then timed_out is set)."""
        if self.running():
            self.send_signal(sig)
            if not self.wait(grace):
                self.send_signal(signal.SIGKILL)
                self.wait(grace)
                return self.result(timed_out=True)
        return self.result()


_STATS_RE = re.compile(r"^stats: downloaded=(\d+) uploaded=(\d+) wasted=(\d+)\b")


def parse_stats(stdout: str) -> dict | None:
    """The payload counters of actorrent's last stdout line
    (`stats: downloaded=N uploaded=M wasted=W`), or None if that line is absent."""
    lines = [ln.strip() for ln in stdout.splitlines() if ln.strip()]
    if not lines:
        return None
    m = _STATS_RE.match(lines[-1])
    if not m:
        return None
    return {"downloaded": int(m.group(1)), "uploaded": int(m.group(2)),
            "wasted": int(m.group(3))}


def stats_of(r: RunResult, what: str = "actorrent") -> dict:
    st = parse_stats(r.stdout)
    if st is None:
        raise TestFailure(f"{what}: the last stdout line is not 'stats: downloaded=N uploaded=M "
                          f"wasted=W'; stdout tail:\n{tail(r.stdout, 5)}")
    return st


def parse_checked(stdout: str, num_pieces: int) -> int | None:
    """Pieces found present by the start-up check: the first line containing
    'checked' (e.g. `checked: 127 of 128 pieces present`, `checked 127/128`).
    Without an "N of M" or "N/M" with M = num_pieces on it, of the whole
    numbers on that line that can be a piece count, the total is set aside
    when another one is there; the smallest remaining is the count present."""
    for line in stdout.splitlines():
        if "checked" not in line:
            continue
        for m in re.finditer(r"(\d+)\s*(?:of|/)\s*(\d+)", line):
            if int(m.group(2)) == num_pieces and int(m.group(1)) <= num_pieces:
                return int(m.group(1))
        text = re.sub(r"\d+\.\d+", " ", line)       # durations, rates
        nums = [int(x) for x in re.findall(r"\d+", text) if int(x) <= num_pieces]
        if not nums:
            continue
        others = list(nums)
        if num_pieces in others and len(others) > 1:
            others.remove(num_pieces)
        return min(others)
    return None


def proc_cpu_seconds(pid: int) -> float:
    """user + system CPU seconds consumed so far by a live process (all threads)."""
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    # The command name is in parentheses and may contain spaces: split after it.
    fields = data[data.rindex(")") + 2:].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def check_rss(peak_mib: float, limit_mib: float, what: str) -> None:
    """Peak memory within its bound; not judged under a sanitizer
    (ACTORRENT_SANITIZER set), whose shadow memory and quarantine make the
    client's resident size say nothing about the client."""
    if os.environ.get("ACTORRENT_SANITIZER"):
        log(f"{what}: peak RSS {peak_mib:.1f} MiB (not judged under {os.environ['ACTORRENT_SANITIZER']})")
        return
    check(peak_mib < limit_mib, f"{what}: peak RSS {peak_mib:.1f} MiB, over {limit_mib} MiB")


def proc_vm_hwm_mib(pid: int) -> float:
    """Peak resident set size so far of a live process (VmHWM)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def piece_hashes(torrent: str) -> list:
    """The SHA-1 of every piece, as listed in the torrent."""
    with open(torrent, "rb") as f:
        top = bdecode(f.read())
    raw = top[b"info"][b"pieces"]
    return [raw[i:i + 20] for i in range(0, len(raw), 20)]


def pieces_on_disk(torrent: str, save_dir: str) -> list:
    """Which pieces of the torrent the files under save_dir hold intact
    (missing or short files read as zeros, as a client's recheck sees them)."""
    ti = read_torrent(torrent)
    hashes = piece_hashes(torrent)
    spans = []                                  # [(start offset, size, path)]
    off = 0
    for rel, size in ti.files:
        p = os.path.join(save_dir, ti.name, rel) if ti.multi_file else os.path.join(save_dir, rel)
        spans.append((off, size, p))
        off += size
    handles: dict = {}

    def read(offset: int, length: int) -> bytes:
        out = bytearray()
        for start, size, p in spans:
            if length == 0:
                break
            if size == 0 or offset >= start + size:
                continue
            n = min(length, start + size - offset)
            chunk = b""
            if p not in handles:
                try:
                    handles[p] = open(p, "rb")
                except OSError:
                    handles[p] = None
            if handles[p] is not None:
                handles[p].seek(offset - start)
                chunk = handles[p].read(n)
            out += chunk + bytes(n - len(chunk))
            offset += n
            length -= n
        return bytes(out)

    try:
        ok = []
        for i, h in enumerate(hashes):
            n = min(ti.piece_length, ti.total_size - i * ti.piece_length)
            ok.append(hashlib.sha1(read(i * ti.piece_length, n)).digest() == h)
        return ok
    finally:
        for f in handles.values():
            if f is not None:
                f.close()


def resume_claims(out_dir: str, hex_hash: str, num_pieces: int) -> list | None:
    """The pieces actorrent's resume file in out_dir claims, or None without one."""
    path = os.path.join(out_dir, ".actorrent", hex_hash + ".resume")
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        bits = bdecode(f.read())[b"pieces"]
    return [i for i in range(num_pieces) if bits[i // 8] & (0x80 >> (i % 8))]


def check_resume_truthful(torrent: str, out_dir: str, what: str) -> None:
    """Whatever the resume file claims must be on disk, byte for byte."""
    ti = read_torrent(torrent)
    claimed = resume_claims(out_dir, ti.info_hash.hex(), ti.num_pieces)
    if claimed is None:
        log(f"{what}: no resume file")
        return
    ok = pieces_on_disk(torrent, out_dir)
    wrong = [i for i in claimed if not ok[i]]
    check(not wrong, f"{what}: the resume file claims pieces that are not on disk: {wrong[:10]}")
    log(f"{what}: the resume file claims {len(claimed)} pieces, all intact on disk")


def check_fetched_missing(st: dict, missing: int, margin: int, what: str) -> None:
    """A run that continued a download fetched what was missing (`missing`
    bytes, judged from the disk) and at most `margin` bytes more."""
    check(st["downloaded"] >= missing,
          f"{what}: downloaded={st['downloaded']} is less than the {missing} bytes missing")
    check(st["downloaded"] <= missing + margin,
          f"{what}: downloaded {st['downloaded']} bytes, but only {missing} were missing "
          f"(limit with a margin of {margin}: {missing + margin}): verified pieces were "
          f"fetched again")


def with_announce(torrent: str, url: str, out: str, tiers=None) -> str:
    """A copy of `torrent` at `out` whose only tracker is `url` (same info-hash),
    or whose BEP 12 tiers are `tiers` (lists of URLs; `url` is then the
    announce key too)."""
    with open(torrent, "rb") as f:
        meta = bdecode(f.read())
    meta.pop(b"announce-list", None)
    meta[b"announce"] = url.encode()
    if tiers:
        meta[b"announce-list"] = [[u.encode() for u in tier] for tier in tiers]
    with open(out, "wb") as f:
        f.write(bencode(meta))
    return out


def tracker_peers(url: str, hex_hash: str) -> list:
    """The peers the tracker hands out for this info-hash right now, [(host, port)]."""
    ih = bytes.fromhex(hex_hash)
    pid = b"-PROBE1-" + os.urandom(6).hex().encode()
    try:
        r = http_announce(url, ih, pid, 1, left=1, event=None)
        http_announce(url, ih, pid, 1, left=1, event="stopped")
    except (OSError, BencodeError):
        return []
    return [p for p in compact_peers(r) if p[1] != 1]


# --------------------------------------------------------------------------- the swarm

class Swarm:
    """Owns processes and temporary directories for one scenario.

    with Swarm("name") as sw:
        url = sw.start_opentracker([ih])
        port = sw.start_lt_seeder(torrent, content_dir)
        r = sw.run_actorrent(torrent, out_dir)
    """

    def __init__(self, name: str = "swarm", keep: bool | None = None):
        self.name = name
        self.keep = keep if keep is not None else os.environ.get("ACTORRENT_KEEP_TMP") == "1"
        self.root = tempfile.mkdtemp(prefix=f"actorrent-{name}-", dir="/tmp")
        self.log_dir = os.path.join(self.root, "logs")
        os.makedirs(self.log_dir)
        self.procs: list = []          # [(tag, Popen)]
        self.handles: list = []        # [Background] started with start_actorrent & co.
        self._runs = 0

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and not issubclass(exc_type, Skip):
            self.dump_logs()
        self.close()
        return False

    def close(self) -> None:
        for h in reversed(self.handles):
            h.stop(grace=5.0)
        self.handles.clear()
        for tag, p in reversed(self.procs):
            stop_pid(p)
        self.procs.clear()
        if self.keep:
            log(f"keeping {self.root}")
        else:
            shutil.rmtree(self.root, ignore_errors=True)

    def mkdir(self, name: str) -> str:
        path = os.path.join(self.root, name)
        os.makedirs(path, exist_ok=True)
        return path

    def path(self, name: str) -> str:
        return os.path.join(self.root, name)

    def make_single(self, size: int, piece_length: int = 256 * 1024, announce=None,
                    name: str = "payload.bin") -> tuple:
        """Content of one file plus its torrent: (torrent, save dir, content path, hex hash)."""
        content = self.mkdir("content")
        make_content(content, [(name, size)])
        torrent = self.path(name + ".torrent")
        ih = make_torrent(os.path.join(content, name), torrent, piece_length, announce)
        return torrent, content, os.path.join(content, name), ih

    def make_multi(self, piece_length: int = 256 * 1024, announce=None,
                   root: str = "multi") -> tuple:
        """A multi-file tree plus its torrent: (torrent, save dir, root path, hex hash)."""
        content = self.mkdir("content")
        make_content(content, multifile_spec(root, piece_length))
        torrent = self.path(root + ".torrent")
        ih = make_torrent(os.path.join(content, root), torrent, piece_length, announce)
        return torrent, content, os.path.join(content, root), ih

    # ---- background processes

    def spawn(self, tag: str, argv: Sequence[str], cwd: str | None = None) -> subprocess.Popen:
        out = open(os.path.join(self.log_dir, f"{tag}.out"), "wb")
        try:
            p = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, cwd=cwd)
        finally:
            out.close()
        self.procs.append((tag, p))
        return p

    def proc_log(self, tag: str) -> str:
        try:
            with open(os.path.join(self.log_dir, f"{tag}.out"), "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self, proc: subprocess.Popen) -> None:
        stop_pid(proc)
        self.procs = [(t, p) for t, p in self.procs if p is not proc]

    def dump_logs(self, lines: int = 25) -> None:
        """Print the end of every process log: what a failing test needs to be diagnosed."""
        for n in sorted(os.listdir(self.log_dir)):
            with open(os.path.join(self.log_dir, n), "rb") as f:
                text = f.read().decode(errors="replace")
            if text.strip():
                print(f"----- {n} (last {lines} lines) -----")
                print(tail(text, lines))
        sys.stdout.flush()

    def _wait_ready(self, tag: str, proc: subprocess.Popen, port: int, timeout: float,
                    marker: str | None = None, probe: bool = True,
                    host: str = "127.0.0.1") -> None:
        def ready():
            if proc.poll() is not None:
                raise HarnessError(f"{tag} exited with {proc.returncode}:\n{tail(self.proc_log(tag))}")
            if marker and marker not in self.proc_log(tag):
                return False
            return port_accepts(port, host) if probe else True
        wait_until(ready, timeout, f"{tag} on port {port}")

    # ---- tracker

    def start_opentracker(self, info_hashes: Iterable[str], port: int | None = None) -> str:
        """Start opentracker on 127.0.0.1 with a whitelist; return its announce URL."""
        exe = need_tool("opentracker")
        hashes = [h.lower() for h in info_hashes]
        port = port or free_port()
        d = self.mkdir(f"opentracker-{port}")
        # opentracker chroots into d and drops to 'nobody': both must still read the list.
        os.chmod(d, 0o755)
        with open(os.path.join(d, "whitelist"), "w") as f:
            f.write("".join(h + "\n" for h in hashes))
        os.chmod(os.path.join(d, "whitelist"), 0o644)
        tag = f"opentracker-{port}"
        p = self.spawn(tag, [exe, "-i", "127.0.0.1", "-p", str(port), "-P", str(port),
                             "-d", d, "-u", "nobody", "-w", "whitelist"])
        self._wait_ready(tag, p, port, 15)
        url = f"http://127.0.0.1:{port}/announce"
        # The whitelist is read asynchronously: wait until each hash is served.
        for h in hashes:
            wait_until(lambda: tracker_accepts(url, h), 15, f"opentracker to whitelist {h}",
                       interval=0.1)
        log(f"opentracker on {url} (pid {p.pid}), {len(hashes)} whitelisted")
        return url

    def start_hostile_tracker(self, mode: str = "good", port: int | None = None,
                              mode_file: str | None = None, peers: Sequence = (),
                              cert: str | None = None, key: str | None = None,
                              extra: Sequence[str] = ()) -> tuple:
        """Start hostile_tracker.py (an HTTP tracker that misbehaves as `mode`
        says, or as `mode_file` says at each request; HTTPS with cert/key);
        return (announce URL, path of its JSON-lines request log)."""
        port = port or free_port()
        tag = f"hostile_tracker-{port}"
        log_path = os.path.join(self.root, f"{tag}.jsonl")
        open(log_path, "w").close()
        argv = [sys.executable, os.path.join(HERE, "hostile_tracker.py"), "--port", str(port),
                "--mode", mode, "--log", log_path]
        if mode_file:
            argv += ["--mode-file", mode_file]
        for p in peers:
            argv += ["--peer", p if isinstance(p, str) else f"127.0.0.1:{p}"]
        if cert:
            argv += ["--cert", cert, "--key", key]
        argv += list(extra)
        p = self.spawn(tag, argv)
        # No probe connection: it would be a request in the log.
        self._wait_ready(tag, p, port, 20, marker="READY", probe=False)
        scheme = "https" if cert else "http"
        url = f"{scheme}://127.0.0.1:{port}/announce"
        log(f"hostile tracker on {url} (pid {p.pid}), mode {mode_file or mode}")
        return url, log_path

    def start_udp_tracker(self, peers: Sequence = (), extra: Sequence[str] = (),
                          port: int | None = None, host: str = "127.0.0.1") -> tuple:
        """Start udp_tracker.py (a BEP 15 tracker that can drop, delay, duplicate
        and garble) on host (127.0.0.1 or ::1) handing out 127.0.0.1:PORT for
        each port in `peers` (or the HOST:PORT given as a string); return
        (udp:// announce URL, path of its JSON-lines log of what it received)."""
        port = port or free_port()
        log_path = os.path.join(self.root, f"udp-tracker-{port}.jsonl")
        argv = [sys.executable, os.path.join(HERE, "udp_tracker.py"), "--port", str(port),
                "--log", log_path, "--host", host]
        for p in peers:
            argv += ["--peer", p if isinstance(p, str) else f"127.0.0.1:{p}"]
        argv += list(extra)
        tag = f"udp-tracker-{port}"
        p = self.spawn(tag, argv)
        self._wait_ready(tag, p, port, 20, marker="READY", probe=False)
        url = f"udp://{f'[{host}]' if ':' in host else host}:{port}/announce"
        log(f"fake UDP tracker on {url} (pid {p.pid}) {' '.join(extra)}")
        return url, log_path

    # ---- web seeds (BEP 19)

    def start_web_seed(self, directory: str, mode: str = "good", port: int | None = None,
                       extra: Sequence[str] = (), cert: str | None = None,
                       key: str | None = None) -> tuple:
        """Start web_seed.py serving `directory` with byte ranges, misbehaving
        as `mode` says (HTTPS with cert/key); return (base URL ending in '/',
        path of its JSON-lines request log)."""
        port = port or free_port()
        tag = f"web_seed-{port}"
        log_path = os.path.join(self.root, f"{tag}.jsonl")
        open(log_path, "w").close()
        argv = [sys.executable, os.path.join(HERE, "web_seed.py"), "--port", str(port),
                "--dir", directory, "--mode", mode, "--log", log_path] + list(extra)
        if cert:
            argv += ["--cert", cert, "--key", key]
        p = self.spawn(tag, argv)
        # No probe connection: it would be a connection in the log.
        self._wait_ready(tag, p, port, 20, marker="READY", probe=False)
        url = f"{'https' if cert else 'http'}://127.0.0.1:{port}/"
        log(f"web seed on {url} (pid {p.pid}) serving {directory}, mode {mode}")
        return url, log_path

    # ---- libtorrent seeder

    def start_lt_seeder(self, torrent: str, content_dir: str, port: int | None = None,
                        upload_limit: int | None = None, seed_mode: bool = False,
                        timeout: float = 120, encryption: str | None = None,
                        host: str = "127.0.0.1") -> int:
        """Start lt_seed.py; return its listen port once it is seeding.

        content_dir is the save path: the directory that holds the torrent's
        file (single-file) or its root directory (multi-file)."""
        port = port or free_port()
        argv = [SYSTEM_PYTHON, os.path.join(HERE, "lt_seed.py"), "--torrent", torrent,
                "--save-path", content_dir, "--port", str(port), "--host", host]
        if upload_limit:
            argv += ["--upload-limit", str(upload_limit)]
        if seed_mode:
            argv.append("--seed-mode")
        if encryption:
            argv += ["--encryption", encryption]
        tag = f"lt_seed-{port}"
        p = self.spawn(tag, argv)
        self._wait_ready(tag, p, port, timeout, marker="READY", host=host)
        log(f"libtorrent seeder on {host}:{port} (pid {p.pid})")
        return port

    # ---- scripted peers

    def start_mock(self, mode: str, torrent: str, content: str | None = None,
                   port: int | None = None, announce: str | None = None,
                   extra: Sequence[str] = (), host: str = "127.0.0.1") -> tuple:
        """Start mock_peers.py in `mode` on host:port; return (port, path of its
        JSON-lines log).  `host` is a loopback address: one other than
        127.0.0.1 makes the mock a host of its own (bans are per host).

        mode 'refuse' starts nothing: the port is simply left closed."""
        port = port or free_port()
        log_path = os.path.join(self.root, f"mock-{mode}-{port}.jsonl")
        if mode == "refuse":
            open(log_path, "w").close()
            log(f"mock refuse: nothing listens on 127.0.0.1:{port}")
            return port, log_path
        argv = [sys.executable, os.path.join(HERE, "mock_peers.py"), "--mode", mode,
                "--host", host, "--port", str(port), "--torrent", torrent, "--log", log_path]
        if content:
            argv += ["--content", content]
        if announce:
            argv += ["--announce", announce]
        argv += list(extra)
        tag = f"mock-{mode}-{port}"
        p = self.spawn(tag, argv)
        # No probe connection: it would show up in the mock's log as a peer.
        self._wait_ready(tag, p, port, 20, marker="READY", probe=False)
        log(f"mock {mode} on {host}:{port} (pid {p.pid})")
        return port, log_path

    def find_proc(self, tag: str) -> subprocess.Popen:
        """The process started under `tag` (e.g. f"lt_seed-{port}")."""
        for t, p in self.procs:
            if t == tag:
                return p
        raise HarnessError(f"no process tagged {tag}")

    def wait_tracker_lists(self, url: str, hex_hash: str, ports: Iterable[int],
                           timeout: float = 20) -> None:
        """Wait until the tracker hands out every one of these 127.0.0.1 ports:
        a client started after this learns them at its first announce."""
        want = {("127.0.0.1", p) for p in ports}
        wait_until(lambda: want <= set(tracker_peers(url, hex_hash)), timeout,
                   f"the tracker to list ports {sorted(p for _, p in want)}", interval=0.2)

    # ---- actorrent in the background (seeders, leechers that seed)

    def start_actorrent(self, torrent: str, out_dir: str, peers: Sequence = (),
                        extra_args: Sequence[str] = (), port: int | None = None,
                        seed_cmd: bool = False, binary: str | None = None,
                        what: str = "actorrent", dht: bool = False) -> Background:
        """Start actorrent listening on 127.0.0.1:port (a free one by default) and
        return at once; `seed_cmd` runs `actorrent seed ...`.  The handle gives the
        output, signals by PID, and the exit status and rusage once it exits;
        the swarm stops it on exit if the test did not.  The DHT is off unless
        `dht` (then extra_args must name loopback --dht-bootstrap nodes: without
        them the public routers would be asked)."""
        exe = binary or find_actorrent()
        port = port or free_port()
        argv = [exe] + (["seed"] if seed_cmd else []) + [torrent, "-d", out_dir,
                                                         "--bind", "127.0.0.1", "-p", str(port)]
        if not dht:
            argv.append("--no-dht")
        for p in peers:
            argv += ["-a", p if isinstance(p, str) else f"127.0.0.1:{p}"]
        argv += list(extra_args)
        tag = self._next_tag(what)
        log(f"start ({tag}): " + " ".join(argv))
        h = Background(argv, self.log_dir, tag)
        h.port = port
        self.handles.append(h)
        return h

    def start_actorrent_seeder(self, torrent: str, content_dir: str, port: int | None = None,
                               extra_args: Sequence[str] = (), binary: str | None = None,
                               timeout: float = 120, dht: bool = False) -> int:
        """`actorrent seed` on data already in content_dir; return its port once it
        has checked the data (its 'checked' line) and accepts connections.
        actorrent_at(port) gives the handle."""
        h = self.start_actorrent(torrent, content_dir, extra_args=extra_args, port=port,
                                 seed_cmd=True, binary=binary, what="actorrent-seed", dht=dht)

        def ready():
            if not h.running():
                r = h.result()
                raise HarnessError(f"actorrent seed exited with {r.returncode}:\n"
                                   f"{tail(r.stdout)}\n{tail(r.stderr)}")
            return "checked" in h.stdout() + h.stderr() and port_accepts(h.port)
        wait_until(ready, timeout, f"actorrent seed on port {h.port}", interval=0.1)
        log(f"actorrent seeder on 127.0.0.1:{h.port} (pid {h.pid})")
        return h.port

    def run_peak_rss(self, argv: Sequence[str], timeout: float, tag: str) -> tuple:
        """Runs argv to its exit (bounded by timeout); returns (RunResult, peak
        resident MiB from VmHWM polled every 20 ms: exact after exec, unlike
        the rusage of a child forked from this interpreter)."""
        h = Background(argv, self.log_dir, tag)
        self.handles.append(h)  # stopped by the swarm should anything below fail
        peak = 0.0
        deadline = time.monotonic() + timeout
        while h.running() and time.monotonic() < deadline:
            try:
                peak = max(peak, proc_vm_hwm_mib(h.pid))
            except OSError:
                pass  # exited between the check and the read
            h.wait(0.02)
        return h.finish(max(0.0, deadline - time.monotonic())), peak

    def actorrent_at(self, port: int) -> Background:
        for h in self.handles:
            if h.port == port:
                return h
        raise HarnessError(f"no actorrent started on port {port}")

    def start_leech_mock(self, mode: str, torrent: str, target_port: int,
                         extra: Sequence[str] = (), tag: str | None = None) -> tuple:
        """Start a misbehaving downloader (mock_peers.py leech-* mode) that connects
        to 127.0.0.1:target_port; return (Background, path of its JSON-lines log).
        The mock exits by itself once disconnected or past its --deadline."""
        tag = tag or self._next_tag(mode)
        log_path = os.path.join(self.root, f"{tag}.jsonl")
        argv = [sys.executable, os.path.join(HERE, "mock_peers.py"), "--mode", mode,
                "--target", f"127.0.0.1:{target_port}", "--torrent", torrent,
                "--log", log_path] + list(extra)
        log(f"start ({tag}): mock {mode} -> 127.0.0.1:{target_port}")
        h = Background(argv, self.log_dir, tag)
        self.handles.append(h)
        return h, log_path

    # ---- downloaders

    def _next_tag(self, what: str) -> str:
        self._runs += 1
        return f"run{self._runs:02d}-{what}"

    def run_actorrent(self, torrent: str, out_dir: str, peers: Sequence = (),
                      extra_args: Sequence[str] = (), timeout: float = 120,
                      binary: str | None = None, dht: bool = False) -> RunResult:
        """The DHT is off unless `dht` (see start_actorrent)."""
        exe = binary or find_actorrent()
        # Listen on loopback only, on a port of our own (never the default 6881).
        argv = [exe, torrent, "-d", out_dir, "--bind", "127.0.0.1", "-p", str(free_port())]
        if not dht:
            argv.append("--no-dht")
        for p in peers:
            argv += ["-a", p if isinstance(p, str) else f"127.0.0.1:{p}"]
        argv += list(extra_args)
        log("run: " + " ".join(argv))
        return run_measured(argv, timeout, self.log_dir, self._next_tag("actorrent"))

    @staticmethod
    def _aria2c_argv(torrent: str, out_dir: str, extra_args: Sequence[str]) -> list:
        exe = need_tool("aria2c")
        return [exe, "--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false",
                "--enable-peer-exchange=false", "--seed-time=0", "--file-allocation=none",
                "--listen-port", str(free_port()), "--dht-listen-port", str(free_port()),
                "--bt-require-crypto=false", "--check-integrity=false",
                "--console-log-level=warn", "--summary-interval=0", "--show-console-readout=false",
                "--dir", out_dir] + list(extra_args) + [torrent]

    def run_aria2c(self, torrent: str, out_dir: str, timeout: float = 120,
                   extra_args: Sequence[str] = ()) -> RunResult:
        argv = self._aria2c_argv(torrent, out_dir, extra_args)
        log("run: " + " ".join(argv))
        return run_measured(argv, timeout, self.log_dir, self._next_tag("aria2c"))

    def start_aria2c(self, torrent: str, out_dir: str,
                     extra_args: Sequence[str] = ()) -> Background:
        """aria2c in the background; finish(timeout) on the handle gives its RunResult."""
        argv = self._aria2c_argv(torrent, out_dir, extra_args)
        tag = self._next_tag("aria2c")
        log(f"start ({tag}): " + " ".join(argv))
        h = Background(argv, self.log_dir, tag)
        self.handles.append(h)
        return h

    @staticmethod
    def _lt_download_argv(torrent: str, out_dir: str, peers: Sequence, timeout: float,
                          encryption: str | None = None, host: str = "127.0.0.1",
                          extra_args: Sequence[str] = ()) -> list:
        source = ["--magnet" if torrent.startswith("magnet:") else "--torrent", torrent]
        argv = [SYSTEM_PYTHON, os.path.join(HERE, "lt_seed.py"), "--download"] + source + [
                "--save-path", out_dir, "--port", str(free_port()),
                "--timeout", str(int(timeout)), "--host", host] + list(extra_args)
        for p in peers:
            argv += ["--peer", p if isinstance(p, str) else f"127.0.0.1:{p}"]
        if encryption:
            argv += ["--encryption", encryption]
        return argv

    def run_lt_download(self, torrent: str, out_dir: str, peers: Sequence = (),
                        timeout: float = 120, encryption: str | None = None,
                        host: str = "127.0.0.1", extra_args: Sequence[str] = ()) -> RunResult:
        """`encryption`: "forced" (RC4 only) or "disabled" (plaintext only)."""
        argv = self._lt_download_argv(torrent, out_dir, peers, timeout, encryption, host,
                                      extra_args)
        log("run: " + " ".join(argv))
        return run_measured(argv, timeout + 10, self.log_dir, self._next_tag("libtorrent"))

    def start_lt_download(self, torrent: str, out_dir: str, peers: Sequence = (),
                          timeout: float = 120, host: str = "127.0.0.1",
                          extra_args: Sequence[str] = ()) -> Background:
        """The libtorrent downloader in the background (it gives up after timeout)."""
        argv = self._lt_download_argv(torrent, out_dir, peers, timeout, host=host,
                                      extra_args=extra_args)
        tag = self._next_tag("libtorrent")
        log(f"start ({tag}): " + " ".join(argv))
        h = Background(argv, self.log_dir, tag)
        self.handles.append(h)
        return h


# --------------------------------------------------------------------------- tracker client

def announce_url(url: str, info_hash_raw: bytes, peer_id: bytes, port: int, left: int = 0,
                 event: str | None = "started", numwant: int = 50) -> str:
    q = {
        "info_hash": info_hash_raw, "peer_id": peer_id, "port": str(port),
        "uploaded": "0", "downloaded": "0", "left": str(left), "compact": "1",
        "numwant": str(numwant),
    }
    if event:
        q["event"] = event
    parts = [f"{k}={urllib.parse.quote_from_bytes(v if isinstance(v, bytes) else v.encode(), safe='')}"
             for k, v in q.items()]
    return url + ("&" if "?" in url else "?") + "&".join(parts)


def http_announce(url: str, info_hash_raw: bytes, peer_id: bytes, port: int, left: int = 0,
                  event: str | None = "started", timeout: float = 5) -> dict:
    """One HTTP announce; returns the decoded response dictionary."""
    full = announce_url(url, info_hash_raw, peer_id, port, left, event)
    with urllib.request.urlopen(full, timeout=timeout) as r:
        return bdecode(r.read())


def scrape(url: str, hex_hash: str, timeout: float = 5) -> dict:
    """The tracker's scrape of one torrent (BEP 48): {'complete', 'incomplete',
    'downloaded'}, from the /scrape URL that goes with an /announce URL."""
    base, sep, rest = url.rpartition("/announce")
    if not sep:
        raise HarnessError(f"{url} has no /announce to turn into /scrape")
    ih = bytes.fromhex(hex_hash)
    full = (base + "/scrape" + rest + ("&" if "?" in rest else "?")
            + "info_hash=" + urllib.parse.quote_from_bytes(ih, safe=""))
    with urllib.request.urlopen(full, timeout=timeout) as r:
        reply = bdecode(r.read())
    entry = reply.get(b"files", {}).get(ih, {})
    return {k: entry.get(k.encode(), 0) for k in ("complete", "incomplete", "downloaded")}


def compact_peers(resp: dict) -> list:
    raw = resp.get(b"peers", b"")
    if isinstance(raw, list):
        return [(p[b"ip"].decode(), p[b"port"]) for p in raw]
    return [(socket.inet_ntoa(raw[i:i + 4]), int.from_bytes(raw[i + 4:i + 6], "big"))
            for i in range(0, len(raw) - 5, 6)]


def tracker_accepts(url: str, hex_hash: str) -> bool:
    """Whether the tracker serves this info-hash (opentracker's whitelist).

    opentracker skips the whitelist for event=stopped, so the probe must be a
    real announce; the stopped one that follows takes the probe peer out of
    the swarm again before any client asks for peers."""
    ih = bytes.fromhex(hex_hash)
    pid = b"-PROBE0-" + b"0" * 12
    try:
        r = http_announce(url, ih, pid, 1, event="started")
        if b"failure reason" in r:
            return False
        http_announce(url, ih, pid, 1, event="stopped")
    except (OSError, BencodeError):
        return False
    return True


# --------------------------------------------------------------------------- test entry point

def e2e_main(fn) -> None:
    """Run a test body: exit 0 on pass, 1 on failure, 77 (skip) if a tool is missing."""
    t0 = time.monotonic()
    try:
        fn()
    except Skip as e:
        log(f"SKIP: {e}")
        sys.exit(EXIT_SKIP)
    except TestFailure as e:
        log(f"FAIL: {e}")
        sys.exit(1)
    except Exception as e:  # noqa: BLE001 - a broken harness must still fail loudly
        traceback.print_exc()
        log(f"FAIL (harness error): {e}")
        sys.exit(1)
    log(f"PASS in {time.monotonic() - t0:.1f} s")
    sys.exit(0)


def check(cond: bool, msg: str) -> None:
    if not cond:
        raise TestFailure(msg)


def check_run_ok(r: RunResult, what: str = "download") -> None:
    """A download run must have exited 0 before its timeout."""
    if r.timed_out:
        raise TestFailure(f"{what} did not finish within the timeout ({r.wall:.1f} s); "
                          f"stderr tail:\n{tail(r.stderr)}")
    if r.returncode != 0:
        raise TestFailure(f"{what} exited with {r.returncode} after {r.wall:.1f} s; stderr tail:\n"
                          f"{tail(r.stderr)}\nstdout tail:\n{tail(r.stdout, 10)}")


def describe(r: RunResult) -> str:
    return (f"rc={r.returncode} wall={r.wall:.2f}s cpu={r.cpu:.2f}s "
            f"maxrss={r.maxrss_mib:.0f}MiB{' TIMEOUT' if r.timed_out else ''}")
