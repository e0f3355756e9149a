#!/usr/bin/python3
"""actorrent announces to https:// trackers and checks who it talks to.

A test CA and server certificates are made on the spot with the openssl
command; an HTTPS tracker (tools/swarm/hostile_tracker.py, mode good, Python's
ssl) hands out the address of a python3-libtorrent seeder.

1. The tracker's certificate (IP SAN 127.0.0.1) is signed by the CA given
   with --tracker-ca: actorrent finds the seeder through the tracker alone
   and downloads; the tracker saw the announces over TLS.
2. The same through https://localhost: the certificate is checked against
   the DNS name, which also went out as SNI.
3. A tracker whose certificate comes from another CA: the handshake is
   refused, stderr names the reason, the tracker never gets a request, and
   with no other source the torrent gives up at its stall timeout.
4. A certificate of the right CA for another name: refused as an IP address
   mismatch; the download completes through -a alone.
5. Without --tracker-ca the test CA is not trusted (the system store does
   not know it): refused.
6. A trusted tracker that redirects to plain http://: the redirect is
   refused and nothing is sent without TLS.
"""

import json
import os
import socket
import subprocess
import sys

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import MiB, check, log  # noqa: E402


def openssl(*args, cwd):
    r = subprocess.run(["openssl", *args], cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    if r.returncode != 0:
        raise swarm.HarnessError(f"openssl {' '.join(args)}: {r.stdout.decode(errors='replace')}")


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2",
            "-subj", f"/CN=actorrent test {name}", cwd=d)
    return os.path.join(d, f"{name}.pem")


def make_server_cert(d, ca, name, san):
    """A server certificate signed by `ca` with subjectAltName `san`; returns (cert, key)."""
    with open(os.path.join(d, f"{name}.ext"), "w") as f:
        f.write(f"subjectAltName={san}\nbasicConstraints=CA:FALSE\n"
                "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=d)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=d)
    return os.path.join(d, f"{name}.pem"), os.path.join(d, f"{name}.key")


def tracker_log(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def announces_from_actorrent(path):
    return [r for r in tracker_log(path) if r.get("peer_id", "").startswith("-AR")]


def main():
    swarm.need_tool("openssl")
    swarm.need_libtorrent()
    exe = swarm.find_actorrent()
    with swarm.Swarm("https-tracker") as sw:
        pki = sw.mkdir("pki")
        ca1 = make_ca(pki, "ca1")
        make_ca(pki, "ca2")
        good_cert = make_server_cert(pki, "ca1", "tracker", "IP:127.0.0.1,DNS:localhost")
        foreign_cert = make_server_cert(pki, "ca2", "foreign", "IP:127.0.0.1")
        misnamed_cert = make_server_cert(pki, "ca1", "misnamed", "DNS:tracker.example")

        seeder_port = swarm.free_port()
        good_url, good_log = sw.start_hostile_tracker(peers=[seeder_port], cert=good_cert[0],
                                                      key=good_cert[1])
        torrent, save, content, ih = sw.make_single(4 * MiB, 256 * 1024, announce=good_url)
        seeder = sw.start_lt_seeder(torrent, save, port=seeder_port)

        def download(tag, torrent_file, extra, timeout=60):
            out = sw.mkdir("out-" + tag)
            argv = [exe, torrent_file, "-d", out, "--bind", "127.0.0.1", "-p", "0", "--no-dht"] + extra
            r, peak = sw.run_peak_rss(argv, timeout, "actorrent-" + tag)
            log(f"{tag}: exit {r.returncode} in {r.wall:.1f} s, peak RSS {peak:.1f} MiB; "
                f"stderr: {swarm.tail(r.stderr, 4)}")
            # TLS loads the system's CA store at each announce: it must stay small.
            swarm.check_rss(peak, 64, tag)
            return r, out

        def file_ok(out, what):
            problems = swarm.verify_files(os.path.join(out, os.path.basename(content)), content)
            check(not problems, f"{what}: the file is wrong: " + "; ".join(problems))

        # 1. Trusted through --tracker-ca, peers from the tracker alone.
        r, out = download("trusted", torrent, ["--tracker-ca", ca1])
        swarm.check_run_ok(r, "the download through the https tracker")
        file_ok(out, "https tracker")
        asked = announces_from_actorrent(good_log)
        check(asked and asked[0]["event"] == "started", f"the tracker saw no started announce: {asked}")
        check(asked[0]["sni"] is None, "SNI was sent for an IP address")
        check(not any(good_url in ln for ln in r.stderr.splitlines()),
              f"a tracker error for the trusted tracker:\n{r.stderr}")

        # 2. The same by name: the DNS name is verified and sent as SNI.
        if socket.gethostbyname("localhost") == "127.0.0.1":
            by_name = sw.path("by-name.torrent")
            named_url = good_url.replace("127.0.0.1", "localhost")
            swarm.make_torrent(content, by_name, 256 * 1024, announce=named_url)
            before = len(announces_from_actorrent(good_log))
            r, out = download("by-name", by_name, ["--tracker-ca", ca1])
            swarm.check_run_ok(r, "the download through https://localhost")
            file_ok(out, "https://localhost")
            asked = announces_from_actorrent(good_log)[before:]
            check(asked and asked[0]["sni"] == "localhost",
                  f"the name did not go out as SNI: {asked[:1]}")
        else:
            log("localhost does not resolve to 127.0.0.1 here; the by-name case is left out")

        # 3. Another CA: refused, no request, the torrent gives up (no other source).
        foreign_url, foreign_log = sw.start_hostile_tracker(peers=[seeder], cert=foreign_cert[0],
                                                            key=foreign_cert[1])
        foreign = sw.path("foreign.torrent")
        swarm.make_torrent(content, foreign, 256 * 1024, announce=foreign_url)
        r, out = download("foreign-ca", foreign, ["--tracker-ca", ca1, "--stall-timeout", "5"])
        check(r.returncode == 3 and not r.timed_out,
              f"expected exit 3 (no data) with the only tracker refused, got {r.returncode}")
        lines = [ln for ln in r.stderr.splitlines() if foreign_url in ln]
        check(any("certificate verify failed" in ln and "unable to get local issuer certificate" in ln
                  for ln in lines), f"stderr does not name the refused certificate:\n{r.stderr}")
        check(not announces_from_actorrent(foreign_log),
              "the tracker with a foreign certificate got an announce")
        check(any("tls_error" in rec for rec in tracker_log(foreign_log)),
              "the tracker did not see the handshake refused")

        # 4. Right CA, wrong name: refused; -a still downloads.
        misnamed_url, misnamed_log = sw.start_hostile_tracker(peers=[seeder],
                                                              cert=misnamed_cert[0],
                                                              key=misnamed_cert[1])
        misnamed = sw.path("misnamed.torrent")
        swarm.make_torrent(content, misnamed, 256 * 1024, announce=misnamed_url)
        r, out = download("misnamed", misnamed, ["--tracker-ca", ca1, "-a", f"127.0.0.1:{seeder}"])
        swarm.check_run_ok(r, "the download through -a past a misnamed tracker")
        file_ok(out, "-a past a misnamed tracker")
        check(any(misnamed_url in ln and "IP address mismatch" in ln for ln in r.stderr.splitlines()),
              f"stderr does not name the name mismatch:\n{r.stderr}")
        check(not announces_from_actorrent(misnamed_log), "the misnamed tracker got an announce")

        # 5. The test CA is not in the system store.
        r, out = download("untrusted", torrent, ["-a", f"127.0.0.1:{seeder}"])
        swarm.check_run_ok(r, "the download through -a past an untrusted tracker")
        check(any(good_url in ln and "certificate verify failed" in ln
                  for ln in r.stderr.splitlines()),
              f"without --tracker-ca the test CA was trusted:\n{r.stderr}")

        # 6. No downgrade through a redirect.
        down_url, down_log = sw.start_hostile_tracker(mode="redirect-plain", cert=good_cert[0],
                                                      key=good_cert[1])
        down = sw.path("downgrade.torrent")
        swarm.make_torrent(content, down, 256 * 1024, announce=down_url)
        r, out = download("downgrade", down, ["--tracker-ca", ca1, "-a", f"127.0.0.1:{seeder}"])
        swarm.check_run_ok(r, "the download through -a past a tracker redirecting to http")
        check(any(down_url in ln and "refused redirect from https to plain http://" in ln
                  for ln in r.stderr.splitlines()), f"stderr does not name the refused redirect:\n"
              f"{r.stderr}")
        records = tracker_log(down_log)
        check(len(announces_from_actorrent(down_log)) == 1 and
              not any("tls_error" in rec for rec in records),
              f"after the redirect something reached the tracker: {records}")


if __name__ == "__main__":
    swarm.e2e_main(main)
