#!/usr/bin/python3
"""The actorrent command-line contract implemented with libtorrent.

It exists to check the end-to-end tests themselves: run them with
ACTORRENT_BIN=tools/swarm/lt_cli.py and a failure points at the test, not the
client.  Expected exceptions: the CANCEL check of test_endgame.py, because
libtorrent 2.0.8 finishes by dropping the connection to the slow seed without
cancelling the requests it duplicated elsewhere; and test_hostile_leechers.py,
because libtorrent ignores bad requests instead of disconnecting the peer.

  lt_cli.py TORRENT -d DIR [-a HOST:PORT]... [-p PORT] [--bind ADDR] [--seed]
            [--seed-time SEC] [--seed-ratio R] [--stall-timeout SEC] [-v]
  lt_cli.py seed TORRENT -d DIR [same options]
  lt_cli.py show TORRENT

As actorrent: listens on ADDR:PORT, checks what DIR already holds (prints
`checked: N of M pieces present`), downloads, then with --seed (always with
`seed`) keeps seeding until a signal, --seed-time seconds after completion or
an upload of R x the torrent size.  The last stdout line is always
`stats: downloaded=N uploaded=M wasted=W` (payload bytes of this run).  On
exit the resume data is written to DIR/.actorrent/<infohash>.resume, but it
is never read back: every start hashes the data, which a resume file may
only make faster.
Exit status: 0 complete, 1 error, 2 usage, 3 gave up (no progress for the
stall timeout), 130 interrupted before completion.
"""

import argparse
import os
import signal
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swarm  # noqa: E402


def show(path: str) -> int:
    try:
        ti = swarm.read_torrent(path)
    except (OSError, swarm.BencodeError, KeyError, UnicodeDecodeError, TypeError) as e:
        print(f"error: cannot read {path}: {e}", file=sys.stderr)
        return 1
    print(f"name: {ti.name}")
    print(f"info hash: {ti.info_hash_hex}")
    print(f"piece length: {ti.piece_length}")
    print(f"pieces: {ti.num_pieces}")
    print(f"total size: {ti.total_size}")
    print("files:")
    for rel, size in ti.files:
        print(f"  {size:>14}  {rel}")
    print("trackers:")
    for u in ti.announce:
        print(f"  {u}")
    return 0


def save_resume(lt, ses, h, path: str) -> None:
    """Ask libtorrent for its resume data and write it; bounded to a few seconds."""
    h.save_resume_data()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for a in ses.pop_alerts():
            if isinstance(a, lt.save_resume_data_alert):
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path + ".tmp", "wb") as f:
                    f.write(lt.write_resume_data_buf(a.params))
                os.replace(path + ".tmp", path)
                return
            if isinstance(a, lt.save_resume_data_failed_alert):
                return
        ses.wait_for_alert(100)


def run(args) -> int:
    import libtorrent as lt
    s = lt.default_settings()
    s.update({
        "listen_interfaces": f"{args.bind}:{args.port}",
        "outgoing_interfaces": args.bind if args.bind not in ("0.0.0.0", "::") else "",
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
        "enable_incoming_utp": False, "enable_outgoing_utp": False,
        "allow_multiple_connections_per_ip": True,
        "out_enc_policy": int(lt.enc_policy.pe_disabled),
        "alert_mask": int(lt.alert.category_t.error_notification
                          | lt.alert.category_t.tracker_notification
                          | lt.alert.category_t.storage_notification
                          | lt.alert.category_t.status_notification),
    })
    try:
        ti = lt.torrent_info(args.torrent)
    except RuntimeError as e:
        print(f"error: {args.torrent}: {e}", file=sys.stderr)
        return 1
    ses = lt.session(s)
    atp = lt.add_torrent_params()
    atp.ti = ti
    atp.save_path = args.dir
    atp.flags &= ~(lt.torrent_flags.auto_managed | lt.torrent_flags.paused)
    h = ses.add_torrent(atp)
    resume_path = os.path.join(args.dir, ".actorrent", swarm.info_hash(args.torrent) + ".resume")
    total = ti.total_size()
    seeding_wanted = args.seed or args.command == "seed"

    stop = {"sig": False}

    def on_signal(*_):
        stop["sig"] = True
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def finish(code: int) -> int:
        st = h.status()
        save_resume(lt, ses, h, resume_path)
        print(f"stats: downloaded={st.total_payload_download} uploaded={st.total_payload_upload} "
              f"wasted={st.total_redundant_bytes + st.total_failed_bytes}", flush=True)
        return code

    checking = (lt.torrent_status.checking_files, lt.torrent_status.checking_resume_data)
    checked = False
    completed_at = None
    last_progress, last_change = -1, time.monotonic()
    last_status = 0.0
    while True:
        for a in ses.pop_alerts():
            if args.verbose:
                print(f"{a.what()}: {a.message()}", file=sys.stderr, flush=True)
        st = h.status()
        now = time.monotonic()
        if stop["sig"]:
            if completed_at is None:
                print("interrupted; stopping (files stay as they are)", file=sys.stderr,
                      flush=True)
            return finish(0 if completed_at is not None else 130)
        if not checked:
            if st.state in checking:
                ses.wait_for_alert(50)
                continue
            checked = True
            print(f"checked: {st.num_pieces} of {ti.num_pieces()} pieces present", flush=True)
            for p in args.a:
                host, port = p.rsplit(":", 1)
                h.connect_peer((host, int(port)))
            last_change = now
        if st.total_wanted_done != last_progress:
            last_progress, last_change = st.total_wanted_done, now
        if now - last_status >= 1.0:
            print(f"{st.progress * 100:5.1f}% peers={st.num_peers} "
                  f"down={st.download_rate / 1e6:.1f}MB/s up={st.upload_rate / 1e6:.1f}MB/s",
                  flush=True)
            last_status = now
        done = st.is_seeding or st.state in (lt.torrent_status.finished,
                                             lt.torrent_status.seeding)
        if done and completed_at is None:
            completed_at = now
            print("complete", flush=True)
            if not seeding_wanted:
                return finish(0)
        if completed_at is not None:
            if args.seed_time is not None and now - completed_at >= args.seed_time:
                return finish(0)
            if args.seed_ratio is not None and st.total_payload_upload >= args.seed_ratio * total:
                return finish(0)
        elif now - last_change > args.stall_timeout:
            print(f"error: no progress for {args.stall_timeout:.0f} s "
                  f"({st.progress * 100:.1f}% done, {st.num_peers} peers)", file=sys.stderr)
            return finish(3)
        ses.wait_for_alert(50)


def main() -> int:
    argv = sys.argv[1:]
    if argv and argv[0] == "show":
        if len(argv) != 2:
            print("usage: show TORRENT", file=sys.stderr)
            return 2
        return show(argv[1])
    command = "download"
    if argv and argv[0] == "seed":
        command, argv = "seed", argv[1:]
    ap = argparse.ArgumentParser()
    ap.add_argument("torrent")
    ap.add_argument("-d", dest="dir", default=".")
    ap.add_argument("-a", action="append", default=[])
    ap.add_argument("-p", dest="port", type=int, default=0)
    ap.add_argument("--bind", default="0.0.0.0")
    ap.add_argument("--seed", action="store_true")
    ap.add_argument("--seed-time", type=float)
    ap.add_argument("--seed-ratio", type=float)
    ap.add_argument("--stall-timeout", type=float, default=120)
    ap.add_argument("-v", dest="verbose", action="store_true")
    # Its libtorrent session never runs a DHT: accepted for actorrent's sake.
    ap.add_argument("--no-dht", action="store_true")
    args = ap.parse_args(argv)
    args.command = command
    if not os.path.isfile(args.torrent):
        print(f"error: {args.torrent}: no such file", file=sys.stderr)
        return 1
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
