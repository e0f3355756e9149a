#!/usr/bin/python3
"""Web seeds (BEP 19): actorrent downloads from HTTP servers named in the
torrent's url-list, with byte ranges, next to peers or alone.

Scenarios (the first argument):
  single  one file, web seed only (no tracker, no peer): the base URL ends
          in '/', the file's name is appended; one connection carries many
          range requests
  multi   a multi-file tree with an empty file, nested directories and names
          that need percent-encoding: pieces that cross files are fetched
          as one range per file
  bad     a web seed that serves inverted bytes, and one that does so only
          for its first range (a file being replaced), beside a good one:
          the download is right, the bad seed is dropped at its second hash
          failure, the other is forgiven its one and keeps serving, leaving
          the piece it spoiled to the good seed; alone, it fetches that piece
          again itself after a second
  peer    a rate-limited libtorrent seeder and a slow web seed: both deliver
  redirect a web seed that moved (302 to another server): the new URL is kept
          for the file; one that redirects to itself is cut off after 5
  https    an HTTPS web seed whose certificate chains to --tracker-ca, beside
          one of another CA that is refused at the handshake
  failing web seeds answering 404, 500, a short body, or refusing the
          connection, beside a slow good one: the download completes, each
          failing seed pauses after a failure and is dropped after five
  ratelimit a web seed alone under --max-down: the download takes the time
          the limit says, give or take 10%, where without it it is much faster
  magnet  a magnet link with x.pe= an actorrent seeder held to --max-up 16K
          (it gives the metadata) and ws= a web seed: the web seed serves
          most of the data, and the saved .torrent keeps it as url-list; a
          later link with another ws uses the saved .torrent and that ws
"""

import json
import os
import sys
import urllib.parse

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
from swarm import MiB, check, check_run_ok, describe, log  # noqa: E402

KiB = 1024


def requests_of(log_path: str) -> list:
    with open(log_path) as f:
        return [json.loads(line) for line in f if line.strip()]


def served_bytes(reqs: list) -> int:
    total = 0
    for r in reqs:
        if r.get("status") == 206:
            first, last = r["range"].split("=")[1].split("-")
            total += int(last) - int(first) + 1
    return total


def check_ranged(reqs: list, what: str) -> None:
    check(reqs, f"{what}: no request reached the web seed")
    no_range = [r for r in reqs if not (r.get("range") or "").startswith("bytes=")]
    check(not no_range, f"{what}: requests without a byte range: {no_range[:3]}")


def run(sw, torrent, out, peers=(), extra=()):
    # The stall timeout bounds a run that gets nothing at all.
    r = sw.run_actorrent(torrent, out, peers=peers, extra_args=["-v", "--stall-timeout", "20"] + list(extra),
                         timeout=60)
    log(describe(r))
    return r


def single(sw):
    content = sw.mkdir("content")
    swarm.make_content(content, [("one file.bin", 4 * MiB + 1234)])
    url, seed_log = sw.start_web_seed(content)
    torrent = sw.path("single.torrent")
    swarm.make_torrent(os.path.join(content, "one file.bin"), torrent, 256 * KiB, web_seeds=[url])
    out = sw.mkdir("out")
    r = run(sw, torrent, out)
    check_run_ok(r)
    problems = swarm.verify_files(os.path.join(out, "one file.bin"), os.path.join(content, "one file.bin"))
    check(not problems, "downloaded data is wrong: " + "; ".join(problems))
    reqs = requests_of(seed_log)
    check_ranged(reqs, "single")
    check(all(r["path"] == "/one%20file.bin" for r in reqs), f"unexpected paths: {reqs[:3]}")
    conns = {r["conn"] for r in reqs}
    log(f"{len(reqs)} range requests on {len(conns)} connection(s), {served_bytes(reqs)} bytes")
    check(len(conns) < len(reqs), f"no connection was kept alive: {len(reqs)} requests, {len(conns)} connections")
    check(served_bytes(reqs) >= 4 * MiB + 1234, "the web seed served less than the file")


def multi(sw):
    content = sw.mkdir("content")
    p = 32 * KiB
    spec = swarm.multifile_spec("tree", p) + [("tree/sub dir/x&y %.bin", 3 * p + 5)]
    swarm.make_content(content, spec)
    url, seed_log = sw.start_web_seed(content)
    torrent = sw.path("tree.torrent")
    swarm.make_torrent(os.path.join(content, "tree"), torrent, p, web_seeds=[url.rstrip("/")])
    out = sw.mkdir("out")
    r = run(sw, torrent, out)
    check_run_ok(r)
    problems = swarm.verify_files(os.path.join(out, "tree"), os.path.join(content, "tree"))
    check(not problems, "downloaded data is wrong: " + "; ".join(problems))
    reqs = requests_of(seed_log)
    check_ranged(reqs, "multi")
    bad = [r for r in reqs if r["status"] != 206]
    check(not bad, f"requests the web seed could not serve: {bad[:3]}")
    paths = {r["path"] for r in reqs}
    check("/tree/sub%20dir/x%26y%20%25.bin" in paths, f"percent-encoded path not asked for: {sorted(paths)}")
    check("/tree/nested/deeper/e_mid.bin" in paths, f"nested path not asked for: {sorted(paths)}")
    log(f"{len(reqs)} range requests for {len(paths)} files")


def bad(sw):
    content = sw.mkdir("content")
    # Large enough that end-game, where blocks go to every seed and the
    # fastest answer wins, comes only after the bad seed's second piece.
    swarm.make_content(content, [("payload.bin", 8 * MiB)])
    good_url, good_log = sw.start_web_seed(content, mode="slow", extra=["--delay", "0.01"])
    bad_url, bad_log = sw.start_web_seed(content, mode="wrong")
    once_url, once_log = sw.start_web_seed(content, mode="wrong-once")
    torrent = sw.path("payload.torrent")
    swarm.make_torrent(os.path.join(content, "payload.bin"), torrent, 256 * KiB,
                       web_seeds=[bad_url, once_url, good_url])
    out = sw.mkdir("out")
    r = run(sw, torrent, out)
    check_run_ok(r)
    problems = swarm.verify_files(os.path.join(out, "payload.bin"), os.path.join(content, "payload.bin"))
    check(not problems, "downloaded data is wrong: " + "; ".join(problems))
    check(requests_of(bad_log), "the bad web seed was never asked")
    text = r.stdout + r.stderr
    dropped = f"web seed {bad_url} dropped: it sent data that failed the hash check"
    check(dropped in text, f"no line saying the bad web seed was dropped; output tail:\n{swarm.tail(text, 20)}")
    check(f"web seed {good_url} dropped" not in text, "the good web seed was dropped")
    check("failed its hash check" in text, "no hash failure was reported")
    once = requests_of(once_log)
    check(once and once[0].get("inverted"), f"the once-wrong web seed did not start wrong: {once[:2]}")
    check(f"web seed {once_url} dropped" not in text,
          f"the web seed wrong only once was dropped; output tail:\n{swarm.tail(text, 20)}")
    later = [r for r in once[1:] if r.get("status") == 206 and not r.get("inverted")]
    check(later, "the web seed wrong only once was not asked again after its failure")
    # The piece it spoiled is left to the other sources for a second before
    # it would fetch it again itself (whether the picker offers it back to
    # it at all is the picker's choice; it must not take it within that
    # second).
    spoiled = once[0]
    again = [r for r in once[1:] if r["range"] == spoiled["range"] and r["t"] - spoiled["t"] < 0.9]
    check(not again, f"the once-wrong web seed fetched its failed range again at once: {again}")
    elsewhere = [r for r in requests_of(good_log) if r["range"] == spoiled["range"]]
    left = f"web seed {once_url}: piece " in text and "leaving it to other sources" in text
    log(f"its failed range {spoiled['range']}: left to others {left}, fetched again from the good seed "
        f"{bool(elsewhere)}")
    log(f"bad web seed dropped; the once-wrong one served {len(later)} ranges after its failure; "
        "data verified")

    # Alone, the once-wrong seed is the only source left: after its second
    # of grace it fetches the piece again itself, and the download completes.
    alone_url, alone_log = sw.start_web_seed(content, mode="wrong-once")
    alone_torrent = sw.path("alone.torrent")
    swarm.make_torrent(os.path.join(content, "payload.bin"), alone_torrent, 256 * KiB, web_seeds=[alone_url])
    out = sw.mkdir("out-alone")
    r = run(sw, alone_torrent, out)
    check_run_ok(r)
    problems = swarm.verify_files(os.path.join(out, "payload.bin"), os.path.join(content, "payload.bin"))
    check(not problems, "alone: downloaded data is wrong: " + "; ".join(problems))
    text = r.stdout + r.stderr
    check(f"web seed {alone_url} dropped" not in text, "alone: the once-wrong web seed was dropped")
    reqs = requests_of(alone_log)
    refetched = [q for q in reqs[1:] if q["range"] == reqs[0]["range"]]
    check(refetched, f"alone: the failed range {reqs[0]['range']} was never fetched again")
    log(f"alone: the failed range was fetched again {refetched[0]['t'] - reqs[0]['t']:.2f} s later")


def peer(sw):
    swarm.need_libtorrent()
    content = sw.mkdir("content")
    size = 4 * MiB
    swarm.make_content(content, [("payload.bin", size)])
    url, seed_log = sw.start_web_seed(content, mode="slow", extra=["--delay", "0.05"])
    torrent = sw.path("payload.torrent")
    swarm.make_torrent(os.path.join(content, "payload.bin"), torrent, 256 * KiB, web_seeds=[url])
    seeder = sw.start_lt_seeder(torrent, content, upload_limit=512 * KiB)
    out = sw.mkdir("out")
    r = run(sw, torrent, out, peers=[seeder])
    check_run_ok(r)
    problems = swarm.verify_files(os.path.join(out, "payload.bin"), os.path.join(content, "payload.bin"))
    check(not problems, "downloaded data is wrong: " + "; ".join(problems))
    reqs = requests_of(seed_log)
    check_ranged(reqs, "peer")
    web = served_bytes(reqs)
    log(f"web seed served {web} of {size} bytes; the peer the rest")
    check(web > 0, "the web seed delivered nothing")
    check(web < size, "the libtorrent peer delivered nothing: the web seed served everything")


def failing(sw):
    content = sw.mkdir("content")
    swarm.make_content(content, [("payload.bin", 3 * MiB)])
    broken = {mode: sw.start_web_seed(content, mode=mode) for mode in ("404", "500", "short")}
    dead = swarm.free_port()  # nothing listens here: connection refused
    check(not swarm.port_accepts(dead), f"port {dead} unexpectedly accepts connections")
    # Slow enough (about 10 s) that the broken seeds fail five times, with
    # pauses of 0.5, 1, 2 and 4 s between, and are dropped meanwhile.
    good_url, good_log = sw.start_web_seed(content, mode="slow", extra=["--delay", "0.05"])
    urls = [u for u, _ in broken.values()] + [f"http://127.0.0.1:{dead}/", good_url]
    torrent = sw.path("payload.torrent")
    swarm.make_torrent(os.path.join(content, "payload.bin"), torrent, 256 * KiB, web_seeds=urls)
    out = sw.mkdir("out")
    r = run(sw, torrent, out)
    check_run_ok(r)
    problems = swarm.verify_files(os.path.join(out, "payload.bin"), os.path.join(content, "payload.bin"))
    check(not problems, "downloaded data is wrong: " + "; ".join(problems))
    text = r.stdout + r.stderr
    for mode, (url, seed_log) in broken.items():
        reqs = requests_of(seed_log)
        check(reqs, f"the {mode} web seed was never asked")
        # Five failures, each with at most 4 runs in flight (and a resend
        # when the connection ended), then nothing.
        check(len(reqs) <= 5 * 4 * 2, f"the {mode} web seed was asked {len(reqs)} times: no backoff")
        check(f"web seed {url}: " in text and "retrying in" in text,
              f"no retry line for the {mode} web seed; output tail:\n{swarm.tail(text, 20)}")
        check(f"web seed {url} dropped after 5 failures in a row" in text,
              f"the {mode} web seed was not dropped; output tail:\n{swarm.tail(text, 20)}")
    check("connection refused" in text.lower(), "the refused web seed was not reported")
    check(f"web seed http://127.0.0.1:{dead}/ dropped after 5 failures in a row" in text,
          "the refused web seed was not dropped")
    check("mid-response" in text, "the short body was not reported as such")
    check_ranged(requests_of(good_log), "good")
    log(f"download complete in {r.wall:.1f} s despite 4 failing web seeds")


def redirect(sw):
    content = sw.mkdir("content")
    swarm.make_content(content, [("payload.bin", 2 * MiB)])
    good_url, good_log = sw.start_web_seed(content)
    moved_url, moved_log = sw.start_web_seed(content, mode="redirect", extra=["--redirect-to", good_url])
    loop_url, loop_log = sw.start_web_seed(content, mode="redirect")  # to itself, forever
    torrent = sw.path("payload.torrent")
    swarm.make_torrent(os.path.join(content, "payload.bin"), torrent, 256 * KiB,
                       web_seeds=[loop_url, moved_url])
    out = sw.mkdir("out")
    r = run(sw, torrent, out)
    check_run_ok(r)
    problems = swarm.verify_files(os.path.join(out, "payload.bin"), os.path.join(content, "payload.bin"))
    check(not problems, "downloaded data is wrong: " + "; ".join(problems))
    moved = requests_of(moved_log)
    # Only the requests sent before the first answer moved the file.
    check(moved and len(moved) <= 4, f"the moved seed was asked {len(moved)} times: the redirect was not kept")
    check_ranged(requests_of(good_log), "redirected")
    loops = requests_of(loop_log)
    text = r.stdout + r.stderr
    check("more than 5 redirects" in text, f"the redirect loop was not cut; output tail:\n{swarm.tail(text, 20)}")
    log(f"{len(moved)} requests redirected once for good; the loop seed answered {len(loops)}")


def https(sw):
    swarm.need_tool("openssl")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from test_https_tracker import make_ca, make_server_cert  # the same test PKI
    pki = sw.mkdir("pki")
    ca = make_ca(pki, "ca1")
    make_ca(pki, "ca2")
    good_cert = make_server_cert(pki, "ca1", "seed", "IP:127.0.0.1")
    foreign_cert = make_server_cert(pki, "ca2", "foreign", "IP:127.0.0.1")
    content = sw.mkdir("content")
    swarm.make_content(content, [("payload.bin", 2 * MiB)])
    good_url, good_log = sw.start_web_seed(content, cert=good_cert[0], key=good_cert[1])
    foreign_url, foreign_log = sw.start_web_seed(content, cert=foreign_cert[0], key=foreign_cert[1])
    torrent = sw.path("payload.torrent")
    swarm.make_torrent(os.path.join(content, "payload.bin"), torrent, 256 * KiB,
                       web_seeds=[foreign_url, good_url])
    out = sw.mkdir("out")
    r = run(sw, torrent, out, extra=["--tracker-ca", ca])
    check_run_ok(r)
    problems = swarm.verify_files(os.path.join(out, "payload.bin"), os.path.join(content, "payload.bin"))
    check(not problems, "downloaded data is wrong: " + "; ".join(problems))
    check_ranged(requests_of(good_log), "https")
    foreign = requests_of(foreign_log)
    check(foreign and all("tls_error" in e for e in foreign),
          f"the seed with a certificate of another CA was not refused at the handshake: {foreign[:3]}")
    text = r.stdout + r.stderr
    check("certificate verify failed" in text, "the refused certificate was not reported")
    log("HTTPS web seed verified by the given CA; the foreign one refused")


def ratelimit(sw):
    content = sw.mkdir("content")
    size, limit = 4 * MiB, MiB
    swarm.make_content(content, [("payload.bin", size)])
    url, seed_log = sw.start_web_seed(content)
    torrent = sw.path("payload.torrent")
    swarm.make_torrent(os.path.join(content, "payload.bin"), torrent, 256 * KiB, web_seeds=[url])

    def download(tag, extra):
        out = sw.mkdir(tag)
        r = run(sw, torrent, out, extra=extra)
        check_run_ok(r)
        problems = swarm.verify_files(os.path.join(out, "payload.bin"), os.path.join(content, "payload.bin"))
        check(not problems, f"{tag}: downloaded data is wrong: " + "; ".join(problems))
        return r.wall

    limited = download("limited", ["--max-down", "1M"])
    rate = size / limited
    log(f"--max-down 1M: {size / MiB:.0f} MiB in {limited:.2f} s = {rate / MiB:.3f} MiB/s "
        f"(ratio to the limit {rate / limit:.3f})")
    check(rate <= 1.10 * limit, f"{rate / MiB:.2f} MiB/s is over the limit by more than 10%")
    check(rate >= 0.90 * limit, f"{rate / MiB:.2f} MiB/s is under the limit by more than 10%")
    free = download("unlimited", [])
    log(f"no limit: {size / MiB:.0f} MiB in {free:.2f} s")
    check(free < 0.5 * limited, f"without a limit the download took {free:.2f} s, "
                                f"not much less than {limited:.2f} s with one")


def magnet(sw):
    content = sw.mkdir("content")
    size = 4 * MiB
    swarm.make_content(content, [("payload.bin", size)])
    url, seed_log = sw.start_web_seed(content)
    torrent = sw.path("payload.torrent")
    swarm.make_torrent(os.path.join(content, "payload.bin"), torrent, 256 * KiB)  # no url-list
    ih = swarm.info_hash(torrent)
    # At 16 KiB/s the peer alone would need over four minutes.
    peer = sw.start_actorrent_seeder(torrent, content, extra_args=["--max-up", "16K"])
    link = (f"magnet:?xt=urn:btih:{ih}&dn=payload.bin&x.pe=127.0.0.1:{peer}"
            f"&ws={urllib.parse.quote(url, safe='')}")
    out = sw.mkdir("out")
    r = run(sw, link, out)
    check_run_ok(r)
    check("metadata received" in r.stdout, "the metadata did not come from the peer")
    problems = swarm.verify_files(os.path.join(out, "payload.bin"), os.path.join(content, "payload.bin"))
    check(not problems, "downloaded data is wrong: " + "; ".join(problems))
    reqs = requests_of(seed_log)
    check_ranged(reqs, "magnet")
    web = served_bytes(reqs)
    log(f"web seed served {web} of {size} bytes in {r.wall:.1f} s; the rate-limited peer the rest")
    check(web >= 0.75 * size, f"the web seed served only {web} of {size} bytes")
    saved = swarm.bdecode(open(os.path.join(out, ".actorrent", ih + ".torrent"), "rb").read())
    check(saved.get(b"url-list") == [url.encode()], f"the saved torrent's url-list is {saved.get(b'url-list')}")

    # Again, the data gone, the peer and the first web seed stopped, with a
    # link naming another web seed: the saved .torrent gives the metadata,
    # the new ws the data.
    sw.stop(sw.find_proc(f"web_seed-{url.rsplit(':', 1)[1].strip('/')}"))
    sw.actorrent_at(peer).stop()
    os.remove(os.path.join(out, "payload.bin"))
    url2, seed_log2 = sw.start_web_seed(content)
    link2 = f"magnet:?xt=urn:btih:{ih}&dn=payload.bin&ws={urllib.parse.quote(url2, safe='')}"
    r = run(sw, link2, out)
    check_run_ok(r)
    check("using the metadata saved" in r.stdout + r.stderr, "the saved .torrent was not used")
    problems = swarm.verify_files(os.path.join(out, "payload.bin"), os.path.join(content, "payload.bin"))
    check(not problems, "downloaded data is wrong the second time: " + "; ".join(problems))
    check(served_bytes(requests_of(seed_log2)) >= size, "the second link's web seed did not serve the data")


SCENARIOS = {"magnet": magnet, "ratelimit": ratelimit, "https": https, "redirect": redirect, "single": single, "multi": multi, "bad": bad, "peer": peer, "failing": failing}


def main():
    name = sys.argv[1] if len(sys.argv) > 1 else "single"
    with swarm.Swarm("web_seed_" + name) as sw:
        SCENARIOS[name](sw)


if __name__ == "__main__":
    swarm.e2e_main(main)
