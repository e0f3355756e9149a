#!/usr/bin/python3
"""actorrent downloads from a libtorrent seeder that forces encryption.

A 4 MiB torrent whose tracker is a dead port, seeded by libtorrent 2.0 with
in/out_enc_policy = forced and allowed_enc_level = rc4: it hangs up on any
plaintext handshake.  actorrent with the default policy (prefer) is given
the seeder with -a: its plaintext attempt is refused, it connects again with
Message Stream Encryption and the download completes byte-identical, over
RC4.  Then actorrent with --encryption off: the seeder refuses it, nothing
is downloaded and actorrent gives up at its stall timeout; the seeder's log
shows the connection it dropped before it became a peer."""

import os
import sys

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import MiB, check, check_run_ok, describe, log  # noqa: E402

SIZE = 4 * MiB


def main():
    swarm.need_libtorrent()
    with swarm.Swarm("mse-lt") as sw:
        dead = swarm.free_port()
        torrent, save, content, ih = sw.make_single(
            SIZE, 256 * 1024, announce=f"http://127.0.0.1:{dead}/announce")
        name = os.path.basename(content)
        lt_port = sw.start_lt_seeder(torrent, save, encryption="forced", timeout=30)
        lt_tag = f"lt_seed-{lt_port}"

        out = sw.mkdir("out-prefer")
        r = sw.run_actorrent(torrent, out, peers=[lt_port],
                             extra_args=["-vv", "--stall-timeout", "20"], timeout=30)
        log("actorrent (prefer): " + describe(r))
        check_run_ok(r, "actorrent (prefer) from a seeder that forces encryption")
        problems = swarm.verify_files(os.path.join(out, name), content)
        check(not problems, "the encrypted download is wrong: " + "; ".join(problems))
        text = r.stdout + r.stderr
        check("trying again encrypted" in text,
              "actorrent did not retry encrypted after the plaintext refusal:\n" + swarm.tail(text))
        check(f"encryption handshake with 127.0.0.1:{lt_port}: RC4" in text,
              "actorrent did not agree on RC4 with the seeder:\n" + swarm.tail(text))

        out = sw.mkdir("out-off")
        seen = sw.proc_log(lt_tag)
        before = (seen.count("incoming_connection:"), seen.count("peer_connect:"))
        r = sw.run_actorrent(torrent, out, peers=[lt_port],
                             extra_args=["-vv", "--encryption", "off", "--stall-timeout", "4"],
                             timeout=20)
        log("actorrent (off): " + describe(r))
        check(not r.timed_out, "actorrent --encryption off did not give up at its stall timeout")
        check(r.returncode != 0, "actorrent --encryption off succeeded against a seeder that "
                                 "forces encryption")
        text = r.stdout + r.stderr
        check("encryption handshake" not in text,
              "actorrent --encryption off attempted an encrypted handshake:\n" + swarm.tail(text))
        data = os.path.join(out, name)
        got = os.path.getsize(data) if os.path.exists(data) else 0
        check(swarm.stats_of(r)["downloaded"] == 0 and got < SIZE,
              "actorrent --encryption off downloaded from a seeder that forces encryption")
        # libtorrent drops a plaintext connection before it becomes a peer of
        # the torrent: an incoming connection, and no peer_connect after it.
        seen = sw.proc_log(lt_tag)
        after = (seen.count("incoming_connection:"), seen.count("peer_connect:"))
        check(after[0] > before[0], "the libtorrent seeder saw no connection from actorrent "
                                    "--encryption off:\n" + swarm.tail(seen))
        check(after[1] == before[1], "the libtorrent seeder accepted a plaintext peer:\n"
                                     + swarm.tail(seen))

if __name__ == "__main__":
    swarm.e2e_main(main)
