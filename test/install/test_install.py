#!/usr/bin/python3
"""Installs actorrent into a temporary directory and builds a program against it.

  test_install.py --build-root DIR --source-root DIR --version V --torrent FILE

Steps, each bounded in time; any failure fails the test:
  1. meson install -C BUILD --no-rebuild --destdir TMP/dest
  2. every header of include/actorrent/ and libactorrent.a are installed
  3. pkg-config (PKG_CONFIG_PATH and PKG_CONFIG_SYSROOT_DIR into TMP/dest)
     reports the version, -I/-L paths inside TMP/dest, and -lssl -lcrypto
  4. every installed header compiles on its own include path (no header of
     src/ or actors/ is needed)
  5. test/install/consumer.cpp compiles with `pkg-config --cflags`; every
     actorrent header it used came from TMP/dest; it links with
     `pkg-config --libs --static` and with plain `--libs`
  6. both programs run and print the expected names and info-hashes
The temporary directory is removed at the end. No network.
"""

import argparse
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

CXX = os.environ.get("ACTORRENT_INSTALL_CXX", "g++")


class Failure(Exception):
    pass


def run(cmd, timeout, env=None, cwd=None):
    """Runs cmd (a list), prints it, returns stdout; raises Failure on error."""
    print("$ " + shlex.join(cmd), flush=True)
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout, env=env, cwd=cwd)
    except subprocess.TimeoutExpired:
        raise Failure(f"timed out after {timeout} s: {shlex.join(cmd)}")
    except OSError as e:
        raise Failure(f"cannot run {cmd[0]}: {e}")
    if p.returncode != 0:
        raise Failure(f"exit status {p.returncode}: {shlex.join(cmd)}\n"
                      f"--- stdout\n{p.stdout}--- stderr\n{p.stderr}")
    return p.stdout


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def inside(path, root):
    path, root = os.path.realpath(path), os.path.realpath(root)
    return os.path.commonpath([path, root]) == root


def files_under(root):
    """Paths of the files below root, relative to it, sorted."""
    return sorted(os.path.relpath(os.path.join(d, f), root)
                  for d, _, fs in os.walk(root) for f in fs)


def info_dict_span(data):
    """The raw bytes of the top-level "info" dictionary of a bencoded torrent."""
    def skip(i):
        c = data[i:i + 1]
        if c == b"i":
            return data.index(b"e", i) + 1
        if c in (b"l", b"d"):
            i += 1
            while data[i:i + 1] != b"e":
                i = skip(i)
            return i + 1
        colon = data.index(b":", i)
        return colon + 1 + int(data[i:colon])

    check(data[:1] == b"d", "torrent is not a dictionary")
    i = 1
    while data[i:i + 1] != b"e":
        key_end = skip(i)
        key = data[data.index(b":", i) + 1:key_end]
        value_end = skip(key_end)
        if key == b"info":
            return data[key_end:value_end]
        i = value_end
    raise Failure("torrent has no info dictionary")


def expected_output(torrent):
    """What consumer.cpp must print, computed here independently."""
    hello = b"hello"
    info = (b"d6:lengthi5e4:name9:hello.txt12:piece lengthi16384e6:pieces20:"
            + hashlib.sha1(hello).digest() + b"e")
    with open(torrent, "rb") as f:
        file_hash = hashlib.sha1(info_dict_span(f.read())).hexdigest()
    return [
        f"memory: name=hello.txt info_hash={hashlib.sha1(info).hexdigest()} pieces=1 length=5",
        f"file: name=testfile.bin info_hash={file_hash} pieces=1 length=1128",
        "session: listen_port=0 peer_id_prefix=-AR0100-",
        "ok",
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-root", required=True)
    ap.add_argument("--source-root", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--torrent", required=True)
    args = ap.parse_args()
    build = os.path.abspath(args.build_root)
    source = os.path.abspath(args.source_root)
    meson = shutil.which(os.environ.get("MESON", "meson"))
    check(meson is not None, "meson not found on PATH")
    expected = expected_output(args.torrent)

    tmp = tempfile.mkdtemp(prefix="actorrent-install-")
    try:
        dest = os.path.join(tmp, "dest")
        os.mkdir(dest)

        # 1. Install.
        env = dict(os.environ)
        env.pop("DESTDIR", None)
        out = run([meson, "install", "-C", build, "--no-rebuild", "--destdir", dest],
                  timeout=300, env=env)
        print("    " + out.strip().replace("\n", "\n    "))

        # 2. What landed.
        pcs = [os.path.join(d, f) for d, _, fs in os.walk(dest) for f in fs if f == "actorrent.pc"]
        check(len(pcs) == 1, f"expected one actorrent.pc under {dest}, found {pcs}")
        pc = pcs[0]
        print(f"installed {os.path.relpath(pc, dest)}:")
        with open(pc) as f:
            print("    " + f.read().strip().replace("\n", "\n    "))

        env["PKG_CONFIG_PATH"] = os.path.dirname(pc)
        env["PKG_CONFIG_SYSROOT_DIR"] = dest
        pkg_config = ["pkg-config"]

        version = run(pkg_config + ["--modversion", "actorrent"], timeout=30, env=env).strip()
        check(version == args.version, f"pkg-config version {version!r}, project {args.version!r}")
        cflags = shlex.split(run(pkg_config + ["--cflags", "actorrent"], timeout=30, env=env))
        libs_static = shlex.split(
            run(pkg_config + ["--libs", "--static", "actorrent"], timeout=30, env=env))
        libs = shlex.split(run(pkg_config + ["--libs", "actorrent"], timeout=30, env=env))
        print(f"cflags: {shlex.join(cflags)}\nlibs --static: {shlex.join(libs_static)}\n"
              f"libs: {shlex.join(libs)}")

        # The library calls libssl (https trackers) and libcrypto (SHA-1)
        # itself: a consumer linking it statically needs both.
        for lib in ("-lssl", "-lcrypto"):
            check(lib in libs and lib in libs_static, f"pkg-config --libs lacks {lib}")

        # 3. The include and library paths are the installed copy.
        incdirs = [f[2:] for f in cflags if f.startswith("-I")]
        check(incdirs, "pkg-config --cflags gives no -I")
        for d in incdirs:
            check(inside(d, dest), f"include path {d} is outside {dest}")
        libdirs = [f[2:] for f in libs_static if f.startswith("-L")]
        check(libdirs and all(inside(d, dest) for d in libdirs),
              f"library paths {libdirs} not inside {dest}")
        check(any(os.path.isfile(os.path.join(d, "libactorrent.a")) for d in libdirs),
              f"libactorrent.a is not in {libdirs}")

        public = os.path.join(source, "include", "actorrent")
        installed_dir = next((os.path.join(d, "actorrent") for d in incdirs
                              if os.path.isdir(os.path.join(d, "actorrent"))), None)
        check(installed_dir is not None, f"no actorrent/ under {incdirs}")
        installed = files_under(installed_dir)
        missing = sorted(set(files_under(public)) - set(installed))
        check(not missing, f"public headers not installed: {missing}")
        print(f"headers in {os.path.relpath(installed_dir, dest)}: {' '.join(installed)}")

        # 4. Each installed header compiles with the installed include path
        #    alone: none of them needs a header of src/ or actors/.
        for h in installed:
            if not h.endswith((".hpp", ".h")):
                continue
            tu = os.path.join(tmp, "check_" + h.replace("/", "_") + ".cpp")
            with open(tu, "w") as f:
                f.write(f"#include <actorrent/{h}>\n")
            run([CXX, "-std=c++20", "-fsyntax-only", *cflags, tu], timeout=300, cwd=tmp)

        # 5. Build the consumer; every actorrent header it read is installed.
        consumer = os.path.join(source, "test", "install", "consumer.cpp")
        obj = os.path.join(tmp, "consumer.o")
        deps = os.path.join(tmp, "consumer.d")
        run([CXX, "-std=c++20", "-Wall", "-Wextra", *cflags, "-MD", "-MF", deps,
             "-c", consumer, "-o", obj], timeout=600, cwd=tmp)
        with open(deps) as f:
            used = [p for p in f.read().replace("\\\n", " ").split()
                    if "/actorrent/" in p and p.endswith((".hpp", ".h"))]
        check(used, "the consumer read no actorrent header")
        outside = [p for p in used if not inside(p, dest)]
        check(not outside, f"headers read from outside the install: {outside}")
        print(f"consumer read {len(used)} actorrent headers, all under {dest}")

        exe_static = os.path.join(tmp, "consumer_static")
        exe_plain = os.path.join(tmp, "consumer")
        run([CXX, obj, "-o", exe_static, *libs_static], timeout=300, cwd=tmp)
        run([CXX, obj, "-o", exe_plain, *libs], timeout=300, cwd=tmp)

        # 6. Run both.
        for exe in (exe_static, exe_plain):
            out = run([exe, os.path.abspath(args.torrent)], timeout=60, cwd=tmp)
            print(out, end="")
            lines = out.splitlines()
            check(lines == expected,
                  f"{os.path.basename(exe)} printed\n{out}expected\n" + "\n".join(expected))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    check(not os.path.exists(tmp), f"could not remove {tmp}")
    print("install test passed")


if __name__ == "__main__":
    try:
        main()
    except Failure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
