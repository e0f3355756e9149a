#!/usr/bin/python3
"""The example service (tools/examples/watch_folder.cpp) embeds actorrent in
its own actor system through the public API only.

Against a real local swarm (opentracker and a libtorrent seeder with two
torrents, one single-file, one multi-file), two .torrent files are dropped
into the watched directory one after the other; each is added, downloaded
from the seeder found through the tracker, and every session event becomes
a JSON line. The lines must tell the story: added, peers connected, the
tracker's reply, one piece_verified per piece, download finished; a .torrent
that is garbage gives a torrent_error line and the service goes on; SIGTERM
ends with session_stopped and exit 0."""

import os
import shutil
import signal
import sys
import time

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import MiB, check, describe, log  # noqa: E402


def find_watch():
    build = os.environ.get("ACTORRENT_BUILD_ROOT", os.path.join(ROOT, "build"))
    path = os.path.join(build, "tools", "examples", "actorrent-watch")
    if not os.access(path, os.X_OK):
        raise swarm.HarnessError(f"{path} is not built")
    return path


def events_of(path):
    return swarm.read_jsonl(path) if os.path.exists(path) else []


def wait_event(path, pred, timeout, what):
    found = []

    def ok():
        found[:] = [e for e in events_of(path) if pred(e)]
        return bool(found)
    swarm.wait_until(ok, timeout, what, interval=0.1)
    return found[0]


def main():
    swarm.need_tool("opentracker")
    swarm.need_libtorrent()
    watch = find_watch()
    with swarm.Swarm("watch-folder") as sw:
        tracker_port = swarm.free_port()
        url = f"http://127.0.0.1:{tracker_port}/announce"
        single, save1, content1, ih1 = sw.make_single(6 * MiB, 256 * 1024, announce=url,
                                                      name="single.bin")
        multi, save2, content2, ih2 = sw.make_multi(256 * 1024, announce=url, root="album")
        sw.start_opentracker([ih1, ih2], port=tracker_port)
        sw.start_lt_seeder(single, save1)
        sw.start_lt_seeder(multi, save2)

        inbox, out = sw.mkdir("inbox"), sw.mkdir("downloads")
        events = sw.path("events.jsonl")
        port = swarm.free_port()
        service = swarm.Background([watch, inbox, out, "--events", events, "--bind", "127.0.0.1",
                                    "--port", str(port)], sw.log_dir, "watch")
        sw.handles.append(service)
        try:
            for torrent, ih, content, name in ((single, ih1, content1, "single.bin"),
                                               (multi, ih2, content2, "album")):
                shutil.copy(torrent, os.path.join(inbox, os.path.basename(torrent)))
                added = wait_event(events, lambda e: e["event"] == "torrent_added"
                                   and e["info_hash"] == ih, 10, f"{name} to be added")
                check(added["name"] == name, f"torrent_added names {added['name']}, not {name}")
                done = wait_event(events, lambda e: e["event"] == "download_finished"
                                  and e["info_hash"] == ih, 60, f"{name} to finish")
                check(done["bytes_have"] == done["bytes_total"] > 0,
                      f"download_finished with {done['bytes_have']} of {done['bytes_total']} bytes")
                problems = swarm.verify_files(os.path.join(out, name), content)
                check(not problems, f"{name} is wrong: " + "; ".join(problems))
                mine = [e for e in events_of(events) if e.get("info_hash") == ih]
                kinds = [e["event"] for e in mine]
                num_pieces = swarm.read_torrent(torrent).num_pieces
                verified = {e["piece"] for e in mine if e["event"] == "piece_verified"}
                check(verified == set(range(num_pieces)),
                      f"{name}: piece_verified for {len(verified)} of {num_pieces} pieces")
                for kind in ("peer_connected", "tracker_reply"):
                    check(kind in kinds, f"{name}: no {kind} event among {sorted(set(kinds))}")
                check(kinds.index("torrent_added") < kinds.index("download_finished"),
                      f"{name}: events out of order: {kinds}")
                log(f"{name}: {len(mine)} events, {len(verified)} pieces verified, files correct")

            # Garbage is refused with a clear line; the service goes on.
            with open(os.path.join(inbox, "broken.torrent"), "wb") as f:
                f.write(b"this is not bencode")
            err = wait_event(events, lambda e: e["event"] == "torrent_error", 10,
                             "an error line for broken.torrent")
            check("broken.torrent" in err["message"], f"the error does not name the file: {err}")
            check(service.running(), "the service stopped after a broken .torrent")

            r = service.stop(signal.SIGTERM, grace=30)
            log("service: " + describe(r))
            check(r.returncode == 0, f"SIGTERM must end the service with 0, got {r.returncode}")
            check(events_of(events)[-1]["event"] == "session_stopped",
                  "the last event line is not session_stopped")
        finally:
            if service.running():
                service.stop(signal.SIGKILL, grace=5)


if __name__ == "__main__":
    swarm.e2e_main(main)
