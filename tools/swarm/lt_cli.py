#!/usr/bin/python3
"""The actorrent command-line contract implemented with libtorrent.

It exists to check the end-to-end tests themselves: run them with
ACTORRENT_BIN=tools/swarm/lt_cli.py and a failure points at the test, not the
client.  One expected exception: the CANCEL check of test_endgame.py, because
libtorrent 2.0.8 finishes by dropping the connection to the slow seed without
cancelling the requests it duplicated elsewhere.

  lt_cli.py TORRENT -d DIR [-a HOST:PORT]... [-p PORT] [--seed] [-v]
  lt_cli.py show TORRENT
"""

import argparse
import os
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swarm  # noqa: E402

STALL_LIMIT = 60.0     # seconds without any progress before giving up


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


def download(args) -> int:
    import libtorrent as lt
    s = lt.default_settings()
    s.update({
        "listen_interfaces": f"127.0.0.1:{args.port or 0}",
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
        "enable_incoming_utp": False, "enable_outgoing_utp": False,
        "allow_multiple_connections_per_ip": True,
        "out_enc_policy": int(lt.enc_policy.pe_disabled),
        "alert_mask": int(lt.alert.category_t.error_notification
                          | lt.alert.category_t.tracker_notification),
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
    connected = False
    last_progress, last_change = -1, time.monotonic()
    last_status = 0.0
    while True:
        for a in ses.pop_alerts():
            if args.verbose:
                print(f"{a.what()}: {a.message()}", file=sys.stderr, flush=True)
        st = h.status()
        now = time.monotonic()
        if not connected and st.state != lt.torrent_status.checking_files:
            for p in args.a:
                host, port = p.rsplit(":", 1)
                h.connect_peer((host, int(port)))
            connected = True
        if st.total_wanted_done != last_progress:
            last_progress, last_change = st.total_wanted_done, now
        if now - last_status >= 1.0:
            print(f"{st.progress * 100:5.1f}% peers={st.num_peers} "
                  f"down={st.download_rate / 1e6:.1f}MB/s", flush=True)
            last_status = now
        if st.is_seeding or st.state in (lt.torrent_status.finished, lt.torrent_status.seeding):
            print("complete", flush=True)
            if not args.seed:
                return 0
            while True:
                time.sleep(1)
        if now - last_change > STALL_LIMIT:
            print(f"error: no progress for {STALL_LIMIT:.0f} s "
                  f"({st.progress * 100:.1f}% done, {st.num_peers} peers)", file=sys.stderr)
            return 1
        ses.wait_for_alert(50)


def main() -> int:
    if len(sys.argv) >= 2 and sys.argv[1] == "show":
        if len(sys.argv) != 3:
            print("usage: show TORRENT", file=sys.stderr)
            return 2
        return show(sys.argv[2])
    ap = argparse.ArgumentParser()
    ap.add_argument("torrent")
    ap.add_argument("-d", dest="dir", default=".")
    ap.add_argument("-a", action="append", default=[])
    ap.add_argument("-p", dest="port", type=int, default=0)
    ap.add_argument("--seed", action="store_true")
    ap.add_argument("-v", dest="verbose", action="store_true")
    args = ap.parse_args()
    if not os.path.isfile(args.torrent):
        print(f"error: {args.torrent}: no such file", file=sys.stderr)
        return 1
    return download(args)


if __name__ == "__main__":
    sys.exit(main())
