#!/usr/bin/python3
"""What the resume file claims survives a power cut: the order of the system
calls of a real download, recorded with strace.

actorrent downloads a multi-file torrent (about 13 MB, nine files in nested
directories) from a slow seeder (tools/swarm/mock_peers.py, mode `slow`), so
the download lasts long enough for resume saves while pieces pass as well as
the final one.  strace -f -y records openat, mkdirat, pwrite64/pwritev,
fdatasync, fsync, close and rename*; the trace must show, for every resume
file put in place (renameat of <info-hash>.resume.tmp over <info-hash>.resume):

1. every data file written before it was synced (fdatasync or fsync) after
   its last write and before the rename: the pieces the file names are on
   disk;
2. every directory in which a data file or directory was created was synced
   before the rename, so the files' names are on disk too;
3. the temporary was written, fsynced and only then renamed; the directory
   holding it is fsynced right after the rename;
4. the cost stays per save, not per block: data file syncs <= (saves + 1) x
   files, far fewer than the block writes.

Needs strace (tools/setup.sh --test installs it): exits 77 (SKIP) without it
or where ptrace is not permitted.
"""

import os
import re
import subprocess
import sys

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import check, describe, log  # noqa: E402

PIECE = 256 * 1024
BLOCK_DELAY = 0.012            # about 1.3 MiB/s: a download of about 10 s
SYSCALLS = "openat,mkdirat,pwrite64,pwritev,fdatasync,fsync,close,rename,renameat,renameat2"

CALL_RE = re.compile(r"^(\d+)\s+(\w+)\((.*)$")
FD_RE = re.compile(r"^-?\d+<([^>]*)>")


def need_strace() -> str:
    exe = swarm.need_tool("strace")
    r = subprocess.run([exe, "-f", "-qq", "-o", "/dev/null", "true"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=20)
    if r.returncode != 0:
        raise swarm.Skip(f"strace cannot trace here: {r.stdout.decode(errors='replace').strip()}")
    return exe


def read_calls(path: str) -> list:
    """[(tid, name, args text, result text)], each call once, in the order it started;
    a call interrupted by another thread's line is joined with its '<... resumed>' part."""
    calls, open_calls = [], {}
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            m = re.match(r"^(\d+)\s+<\.\.\. (\w+) resumed>(.*)$", line)
            if m:
                idx = open_calls.pop(m.group(1), None)
                if idx is not None:
                    tid, name, args, _ = calls[idx]
                    rest = args + m.group(3)
                    calls[idx] = (tid, name) + split_result(rest)
                continue
            m = CALL_RE.match(line)
            if not m:
                continue
            tid, name, rest = m.groups()
            if rest.endswith("<unfinished ...>"):
                open_calls[tid] = len(calls)
                calls.append((tid, name, rest[:-len("<unfinished ...>")], ""))
            else:
                calls.append((tid, name) + split_result(rest))
    return calls


def split_result(rest: str) -> tuple:
    """(arguments, result) of `args) = result`; strace pads short lines before '='."""
    m = None
    for m in re.finditer(r"\)\s+= ", rest):
        pass
    if m is None:
        return rest, ""
    return rest[:m.start()], rest[m.end():]


def fd_path(args: str) -> str:
    m = FD_RE.match(args.strip())
    return m.group(1) if m else ""


def string_args(args: str) -> list:
    return re.findall(r'"((?:[^"\\]|\\.)*)"', args)


def analyse(calls: list, data_root: str, resume_dir: str, num_files: int) -> dict:
    dirty: dict = {}             # data file -> index of its first write since the last sync
    unsynced_dirs: dict = {}     # directory -> what was created in it, not yet synced
    tmp_state = None             # None, "written", "synced"
    expect_dir_sync = None       # (tid, index of the rename) awaiting fsync(resume dir)
    saves = pwrites = data_syncs = 0
    for i, (tid, name, args, res) in enumerate(calls):
        if expect_dir_sync and tid == expect_dir_sync[0] and name not in ("close",):
            check(name == "fsync" and fd_path(args) == resume_dir,
                  f"after resume save {saves} the next call is {name}({args[:80]}), not "
                  f"fsync of {resume_dir}: the rename may not survive a crash")
            expect_dir_sync = None
            continue
        path = fd_path(args)
        if name in ("pwrite64", "pwritev") and path.startswith(data_root + "/"):
            pwrites += 1
            dirty.setdefault(path, i)
        elif name in ("fdatasync", "fsync") and res.startswith("0"):
            if path in dirty:
                del dirty[path]
                data_syncs += 1
            elif path.startswith(data_root + "/"):
                data_syncs += 1
            unsynced_dirs.pop(path, None)
            if path.endswith(".resume.tmp") and tmp_state == "written":
                tmp_state = "synced"
        elif name in ("openat", "mkdirat"):
            strings = string_args(args)
            if not strings or res.startswith("-1"):
                continue
            target = os.path.normpath(os.path.join(path, strings[0])) if path else strings[0]
            if name == "openat" and target.endswith(".resume.tmp"):
                tmp_state = "written"          # O_TRUNC: new content follows
                continue
            creates = name == "mkdirat" or "O_EXCL" in args
            if creates and (target.startswith(data_root + "/") or target == data_root):
                unsynced_dirs.setdefault(os.path.dirname(target), target)
        elif name in ("rename", "renameat", "renameat2"):
            strings = string_args(args)
            if len(strings) < 2 or not strings[1].endswith(".resume") or not res.startswith("0"):
                continue
            saves += 1
            check(tmp_state == "synced",
                  f"resume save {saves}: the temporary was renamed before it was fsynced")
            check(not dirty, f"resume save {saves}: data written and not synced before the "
                             f"resume file was put in place: {sorted(dirty)[:3]}")
            check(not unsynced_dirs, f"resume save {saves}: directories holding new entries "
                                     f"not synced: {sorted(unsynced_dirs.items())[:3]}")
            tmp_state = None
            expect_dir_sync = (tid, i)
    check(expect_dir_sync is None, "the last resume save was not followed by a directory fsync")
    check(saves >= 2, f"only {saves} resume saves in the trace: the download did not last "
                      f"long enough to save while pieces passed")
    check(data_syncs <= (saves + 1) * num_files,
          f"{data_syncs} syncs of data files for {saves} resume saves of {num_files} files: "
          f"syncing more often than once per save")
    return {"saves": saves, "pwrites": pwrites, "data_syncs": data_syncs}


def main():
    swarm.need_libtorrent()
    strace = need_strace()
    with swarm.Swarm("durability") as sw:
        torrent, save, root, ih = sw.make_multi(PIECE, announce="http://127.0.0.1:1/announce")
        info = swarm.read_torrent(torrent)
        port, _ = sw.start_mock("slow", torrent, content=root,
                                extra=["--block-delay", str(BLOCK_DELAY)])
        out = sw.mkdir("out")
        trace = sw.path("strace.txt")
        argv = [strace, "-f", "-qq", "-y", "--seccomp-bpf", "-e", "trace=" + SYSCALLS,
                "-o", trace, swarm.find_actorrent(), torrent, "-d", out, "-a", f"127.0.0.1:{port}",
                "--bind", "127.0.0.1", "-p", str(swarm.free_port()), "--no-dht"]
        log("run: " + " ".join(argv))
        r = swarm.run_measured(argv, 120, sw.log_dir, "traced")
        log(f"traced download: {describe(r)}")
        swarm.check_run_ok(r, "the traced download")
        problems = swarm.verify_files(os.path.join(out, info.name), root)
        check(not problems, "; ".join(problems))
        calls = read_calls(trace)
        log(f"{len(calls)} calls traced")
        data_root = os.path.realpath(os.path.join(out, info.name))
        resume_dir = os.path.realpath(os.path.join(out, ".actorrent"))
        files = sum(1 for _, size in info.files if size > 0)
        st = analyse(calls, data_root, resume_dir, files)
        log(f"{st['saves']} resume saves, {st['pwrites']} block writes, {st['data_syncs']} data "
            f"file syncs for {files} files: every save followed the syncs of what it names")


if __name__ == "__main__":
    swarm.e2e_main(main)
