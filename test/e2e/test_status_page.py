#!/usr/bin/python3
"""actorrent --status-port during a real download from a rate-limited
libtorrent seeder found through opentracker.

Over HTTP: /api/torrents shows the torrent, its file, its tracker (with the
seeder count opentracker gave), the seeder as a peer, and progress that
moves; with --status-token a POST without the token (401) or with a wrong
one (403) changes nothing, and pause/resume with it stop and restart the
progress; malformed and oversized requests get 400 and 413 while the server
keeps serving; the page itself is served at /."""

import os
import sys
import time

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
import status_page  # noqa: E402
from swarm import MiB, check, check_run_ok, log, wait_until  # noqa: E402

TOKEN = "e2e-token-0123"
SIZE = 32 * MiB
RATE = 2 * MiB   # the seeder's upload limit: 16 s of download or more, pauses aside


def main():
    swarm.need_libtorrent()
    with swarm.Swarm("status") as sw:
        tracker_port = swarm.free_port()
        torrent, save, content, ih = sw.make_single(
            SIZE, 256 * 1024, announce=f"http://127.0.0.1:{tracker_port}/announce")
        url = sw.start_opentracker([ih], port=tracker_port)
        seeder = sw.start_lt_seeder(torrent, save, upload_limit=RATE)
        sw.wait_tracker_lists(url, ih, [seeder])
        out = sw.mkdir("out")
        h = sw.start_actorrent(torrent, out, extra_args=[
            "--status-port", "0", "--status-token", TOKEN, "--stall-timeout", "60"])
        base = status_page.wait_url(h)
        check(base.startswith("http://127.0.0.1:"), f"not on loopback by default: {base}")
        port = int(base.rsplit(":", 1)[1].rstrip("/"))
        log(f"status page at {base}")

        def one():
            ts = status_page.torrents(base)
            check(len(ts) == 1, f"expected one torrent, got {len(ts)}")
            return ts[0]

        t = one()
        check(t["name"] == "payload.bin", f"name {t['name']!r}")
        check(t["info_hash"] == ih, f"info_hash {t['info_hash']} != {ih}")
        check(t["bytes_total"] == SIZE, f"bytes_total {t['bytes_total']}")
        check([f["path"] for f in t["files"]] == ["payload.bin"], f"files {t['files']}")
        check([k["url"] for k in t["trackers"]] == [url], f"trackers {t['trackers']}")

        # Progress moves, the seeder is listed as a peer, the tracker answered.
        box = {}

        def moving():
            t = one()
            box["t"] = t
            box.setdefault("first", t["bytes_done"])
            return t["bytes_done"] > box["first"] and t["bytes_done"] > 0
        wait_until(moving, 30, "progress to move on the status page", interval=0.2)
        t = box["t"]
        check(t["state"] == "downloading", f"state {t['state']}")
        check(t["bytes_done"] < SIZE, "finished before the test could watch it")
        wait_until(lambda: any("libtorrent" in p["client"] for p in one()["peers"]), 15,
                   "the seeder to appear among the peers", interval=0.2)
        peers = one()["peers"]
        check(any(p["address"] == f"127.0.0.1:{seeder}" for p in peers), f"peers {peers}")
        wait_until(lambda: one()["trackers"][0]["last_result"] == "ok", 20,
                   "the tracker's answer on the status page", interval=0.2)
        tr = one()["trackers"][0]
        check(tr["seeders"] is not None and tr["seeders"] >= 1, f"tracker {tr}")
        check(tr["next_announce"] is not None and tr["next_announce"] > 0, f"tracker {tr}")
        log(f"progress {t['bytes_done']} of {SIZE}, peers {[p['address'] for p in peers]}, tracker {tr}")

        # State changes need the token.
        pause = f"{base}api/torrents/{ih}/pause"
        resume = f"{base}api/torrents/{ih}/resume"
        status, hdrs, _ = status_page.request(pause, "POST")
        check(status == 401, f"POST without a token answered {status}")
        check(hdrs.get("WWW-Authenticate") == "Bearer", f"401 without WWW-Authenticate: {hdrs}")
        status, _, _ = status_page.request(pause, "POST", {"Authorization": "Bearer wrong"})
        check(status == 403, f"POST with a wrong token answered {status}")
        time.sleep(1.5)
        check(one()["state"] == "downloading", "a refused POST paused the torrent")

        status, _, body = status_page.request(pause, "POST", {"Authorization": f"Bearer {TOKEN}"})
        check(status == 200, f"pause with the token answered {status}: {body!r}")
        wait_until(lambda: one()["state"] == "paused", 10, "the torrent to pause", interval=0.1)
        wait_until(lambda: not one()["peers"], 10, "the connections to close", interval=0.1)
        # Pieces whose blocks all arrived before the pause may still pass
        # their hash check: let that settle, then the figure must stand.
        time.sleep(1.0)
        held = one()["bytes_done"]
        time.sleep(2.5)
        t = one()
        check(t["bytes_done"] == held, f"progress moved while paused: {held} -> {t['bytes_done']}")
        check(t["bytes_done"] < SIZE, "finished before the pause")
        log(f"paused at {held} bytes")

        status, _, body = status_page.request(resume, "POST", {"X-Actorrent-Token": TOKEN})
        check(status == 200, f"resume with the token answered {status}: {body!r}")
        wait_until(lambda: one()["bytes_done"] > held, 30, "progress to continue after resume",
                   interval=0.2)
        log("resumed: progress continues")

        # Bad requests get clear answers and the server goes on.
        r = status_page.raw("127.0.0.1", port, b"GARBAGE\r\n\r\n")
        check(status_page.status_code(r) == 400, f"malformed request answered {r[:80]!r}")
        r = status_page.raw("127.0.0.1", port, b"GET /" + b"a" * (64 * 1024) + b" HTTP/1.1\r\n\r\n")
        check(status_page.status_code(r) == 413, f"oversized request answered {r[:80]!r}")
        r = status_page.raw("127.0.0.1", port, b"POST /api/torrents/" + ih.encode() +
                            b"/pause HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 999999\r\n\r\n")
        check(status_page.status_code(r) == 413, f"oversized body answered {r[:80]!r}")
        status, _, _ = status_page.request(base + "api/nothing")
        check(status == 404, f"unknown path answered {status}")
        status, hdrs, _ = status_page.request(base + "api/torrents", "PUT", data=b"")
        check(status == 405 and hdrs.get("Allow") == "GET, HEAD", f"PUT answered {status} {hdrs}")
        status, hdrs, body = status_page.request(base)
        check(status == 200 and hdrs.get("Content-Type", "").startswith("text/html"),
              f"GET / answered {status} {hdrs}")
        check(b"/api/torrents" in body and b"<script" in body, "the page does not poll the API")
        check(one()["state"] == "downloading", "bad requests changed the torrent's state")
        log("400, 413, 404 and 405 answered; the server still serves")

        r = h.finish(120)
        check_run_ok(r)
        problems = swarm.verify_files(os.path.join(out, "payload.bin"), content)
        check(not problems, "downloaded data is wrong: " + "; ".join(problems))
        check(f"status page: {base}" in r.stdout, "the URL line is missing from stdout")


if __name__ == "__main__":
    swarm.e2e_main(main)
