#!/usr/bin/python3
"""A torrent whose only tracker is udp://127.0.0.1:PORT (BEP 15), served by
opentracker; a libtorrent seeder announces to it.

actorrent must learn the seeder through the UDP tracker alone, download,
exit 0 and leave a byte-identical file; its log must show the UDP
tracker's answer and no tracker failure."""

import os
import re
import sys

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import MiB, check, check_run_ok, describe, log  # noqa: E402


def main():
    swarm.need_libtorrent()
    swarm.need_tool("opentracker")
    with swarm.Swarm("udp-tracker") as sw:
        port = swarm.free_port()
        udp_url = f"udp://127.0.0.1:{port}/announce"
        log("making 16 MiB content and a torrent whose only tracker is " + udp_url)
        torrent, save, content, ih = sw.make_single(16 * MiB, 256 * 1024, announce=udp_url)
        # opentracker serves HTTP on -p and UDP on -P, the same port here;
        # the HTTP side only tells the harness when the seeder is listed.
        http_url = sw.start_opentracker([ih], port=port)
        seed_port = sw.start_lt_seeder(torrent, save)
        sw.wait_tracker_lists(http_url, ih, [seed_port])
        out = sw.mkdir("out")
        log("actorrent downloads, learning the seeder from the UDP tracker only")
        r = sw.run_actorrent(torrent, out, extra_args=["-v", "--stall-timeout", "30"], timeout=120)
        log(describe(r))
        check_run_ok(r)
        problems = swarm.verify_files(os.path.join(out, os.path.basename(content)), content)
        check(not problems, "downloaded data is wrong: " + "; ".join(problems))
        answered = re.findall(re.escape("tracker " + udp_url) + r": (\d+) peers", r.stderr)
        check(answered and int(answered[0]) >= 1,
              "the log shows no answer from the UDP tracker:\n" + swarm.tail(r.stderr))
        failures = [l for l in r.stderr.splitlines() if udp_url in l and
                    ("unreachable" in l or "failure" in l or "not supported" in l)]
        check(not failures, "the UDP tracker failed: " + "; ".join(failures))
        log(f"16 MiB verified by sha256; the UDP tracker named {answered[0]} peer(s)")


if __name__ == "__main__":
    swarm.e2e_main(main)
