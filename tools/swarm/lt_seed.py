#!/usr/bin/python3
"""A libtorrent peer on 127.0.0.1, as a separate process.

Seeder (default): checks the content, prints READY once seeding, announces to
the torrent's trackers and serves until killed.
Downloader (--download): fetches into --save-path from the tracker and/or
--peer HOST:PORT, exits 0 once every piece has passed its hash check, 1 on
timeout.  With --magnet URI instead of --torrent it first fetches the
metadata from its peers (prints METADATA when it has it).  Used as a reference client in benchmarks and harness self-tests.

Runs under /usr/bin/python3 only (the interpreter that has python3-libtorrent).
"""

import argparse
import signal
import sys
import time

import libtorrent as lt


def bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def settings(args) -> dict:
    s = lt.high_performance_seed() if not args.download else lt.default_settings()
    s.update({
        "listen_interfaces": f"{bracketed(args.host)}:{args.port}",
        "outgoing_interfaces": args.host,
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_incoming_utp": False,
        "enable_outgoing_utp": False,
        "enable_incoming_tcp": True,
        "enable_outgoing_tcp": True,
        # Every peer of a loopback swarm has the same address.
        "allow_multiple_connections_per_ip": True,
        # Accept both, start plaintext: encryption would only add CPU cost here.
        "in_enc_policy": int(lt.enc_policy.pe_enabled),
        "out_enc_policy": int(lt.enc_policy.pe_disabled),
        "allowed_enc_level": int(lt.enc_level.pe_both),
        "prefer_rc4": False,
        "announce_to_all_trackers": True,
        "announce_to_all_tiers": True,
        "alert_mask": int(lt.alert.category_t.error_notification
                          | lt.alert.category_t.status_notification
                          | lt.alert.category_t.tracker_notification
                          | lt.alert.category_t.storage_notification),
    })
    if args.upload_limit:
        s["upload_rate_limit"] = args.upload_limit
    if args.encryption == "forced":
        # RC4-encrypted connections only, both ways.
        s.update({"in_enc_policy": int(lt.enc_policy.forced),
                  "out_enc_policy": int(lt.enc_policy.forced),
                  "allowed_enc_level": int(lt.enc_level.rc4),
                  "prefer_rc4": True})
    elif args.encryption == "disabled":
        s.update({"in_enc_policy": int(lt.enc_policy.disabled),
                  "out_enc_policy": int(lt.enc_policy.disabled)})
    if args.encryption:
        # Why connections end: the tests of encryption read it.
        s["alert_mask"] |= int(lt.alert.category_t.peer_notification
                               | lt.alert.category_t.connect_notification)
    return s


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--torrent")
    ap.add_argument("--magnet", help="download mode: a magnet link instead of --torrent")
    ap.add_argument("--save-path", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1",
                    help="loopback address to listen on and connect from (127.0.0.1 or ::1)")
    ap.add_argument("--upload-limit", type=int, default=0, help="bytes/s, 0 = unlimited")
    ap.add_argument("--seed-mode", action="store_true",
                    help="trust the data and hash pieces lazily instead of checking at start")
    ap.add_argument("--download", action="store_true", help="download, exit when complete")
    ap.add_argument("--peer", action="append", default=[], help="HOST:PORT to connect to")
    ap.add_argument("--timeout", type=float, default=120, help="download mode: give up after")
    ap.add_argument("--encryption", choices=["forced", "disabled"],
                    help="encrypted connections only (RC4), or plaintext only; "
                         "default: both accepted, plaintext first")
    ap.add_argument("--show-pex-peers", action="store_true",
                    help="download mode: print 'PEX-PEER HOST:PORT' for each peer connected "
                         "that was learned by peer exchange")
    args = ap.parse_args()
    if bool(args.torrent) == bool(args.magnet) or (args.magnet and not args.download):
        ap.error("give --torrent, or --magnet with --download")

    ses = lt.session(settings(args))
    if args.upload_limit:
        # Loopback peers fall in libtorrent's unlimited "local" peer class by
        # default; put every address in the global class so the limit applies.
        f = lt.ip_filter()
        f.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
        f.add_rule("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                   1 << lt.session.global_peer_class_id)
        ses.set_peer_class_filter(f)

    if args.magnet:
        atp = lt.parse_magnet_uri(args.magnet)
    else:
        atp = lt.add_torrent_params()
        atp.ti = lt.torrent_info(args.torrent)
    atp.save_path = args.save_path
    if args.seed_mode and not args.download:
        atp.flags |= lt.torrent_flags.seed_mode
    atp.flags &= ~lt.torrent_flags.auto_managed
    atp.flags &= ~lt.torrent_flags.paused
    h = ses.add_torrent(atp)

    stop = {"flag": False}

    def on_term(*_):
        stop["flag"] = True
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    start = time.monotonic()
    connected = False
    ready_said = False
    metadata_said = False
    pex_seen = set()
    while not stop["flag"]:
        for a in ses.pop_alerts():
            if isinstance(a, (lt.tracker_error_alert, lt.tracker_reply_alert,
                              lt.torrent_error_alert, lt.file_error_alert,
                              lt.listen_failed_alert, lt.listen_succeeded_alert,
                              lt.peer_disconnected_alert, lt.peer_error_alert,
                              lt.incoming_connection_alert, lt.peer_connect_alert)):
                print(f"[lt] {a.what()}: {a.message()}", flush=True)
        st = h.status()
        if args.magnet and not metadata_said and st.has_metadata:
            print(f"METADATA {time.monotonic() - start:.2f} s", flush=True)
            metadata_said = True
        if args.download and args.show_pex_peers:
            for p in h.get_peer_info():
                where = f"{p.ip[0]}:{p.ip[1]}"
                if p.source & lt.peer_info.pex and where not in pex_seen:
                    pex_seen.add(where)
                    print(f"PEX-PEER {where}", flush=True)
        if args.download:
            if not connected and st.state not in (lt.torrent_status.checking_files,
                                                  lt.torrent_status.checking_resume_data):
                for p in args.peer:
                    host, port = p.rsplit(":", 1)
                    h.connect_peer((host.strip("[]"), int(port)))
                connected = True
            if st.is_seeding or st.state in (lt.torrent_status.finished, lt.torrent_status.seeding):
                print(f"DONE {st.total_wanted} bytes in {time.monotonic() - start:.2f} s",
                      flush=True)
                return 0
            if time.monotonic() - start > args.timeout:
                print(f"TIMEOUT progress={st.progress:.3f} peers={st.num_peers} "
                      f"metadata={st.has_metadata}",
                      file=sys.stderr, flush=True)
                return 1
        elif not ready_said:
            if st.is_seeding or (args.seed_mode and st.state == lt.torrent_status.seeding):
                print(f"READY port={ses.listen_port()} state={st.state}", flush=True)
                ready_said = True
            elif st.state not in (lt.torrent_status.checking_files,
                                  lt.torrent_status.checking_resume_data,
                                  lt.torrent_status.allocating) and st.progress < 1.0 \
                    and time.monotonic() - start > 2:
                print(f"content incomplete: progress={st.progress:.3f} state={st.state}",
                      file=sys.stderr, flush=True)
                return 2
        ses.wait_for_alert(50 if args.download else 200)
    return 0


if __name__ == "__main__":
    sys.exit(main())
