#!/usr/bin/python3
"""The status page in a real browser (headless Chromium driven through
chromedriver's WebDriver API) during a download from a rate-limited
libtorrent seeder: the page loads with no external assets, shows the
torrent's name, the seeder in its peers table, the file in its files table,
a rate chart, and progress that moves between two readings; its Pause
and Resume buttons work (the server is on loopback without a token).

Skips (exit 77) only when chromium or chromedriver is not installed."""

import os
import sys

ROOT = os.environ.get("ACTORRENT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "tools", "swarm"))
import swarm  # noqa: E402
import status_page  # noqa: E402
import webdriver  # noqa: E402
from swarm import MiB, check, check_run_ok, log, wait_until  # noqa: E402

SIZE = 16 * MiB
RATE = 1 * MiB   # about 16 s of download: long enough to watch it move


def main():
    swarm.need_libtorrent()
    chromium, chromedriver = webdriver.find_browser()
    if not chromium or not chromedriver:
        raise swarm.Skip("chromium or chromedriver is not installed "
                         "(apt-get install chromium chromium-driver)")
    with swarm.Swarm("status-browser") as sw:
        torrent, save, content, ih = sw.make_single(SIZE, 256 * 1024, name="page test <&>.bin")
        seeder = sw.start_lt_seeder(torrent, save, upload_limit=RATE)
        out = sw.mkdir("out")
        h = sw.start_actorrent(torrent, out, peers=[seeder],
                               extra_args=["--status-port", "0", "--stall-timeout", "60"])
        base = status_page.wait_url(h)
        log(f"status page at {base}")
        browser = webdriver.WebDriver(sw, chromium, chromedriver)
        try:
            browser.get(base)
            box = {}

            def named():
                names = [browser.text(e) for e in browser.find_all(".torrent .name")]
                box["names"] = names
                return names == ["page test <&>.bin"]
            wait_until(named, 20, "the page to show the torrent's name", interval=0.2)

            def bytes_done():
                els = browser.find_all(".torrent .progress-text")
                if not els:
                    return None
                v = browser.attribute(els[0], "data-bytes-done")
                return int(v) if v else None

            wait_until(lambda: (bytes_done() or 0) > 0, 30, "the page to show progress",
                       interval=0.2)
            first = bytes_done()
            text_first = browser.text(browser.find_all(".torrent .progress-text")[0])
            wait_until(lambda: bytes_done() > first, 30, "the progress shown to move", interval=0.2)
            second = bytes_done()
            text_second = browser.text(browser.find_all(".torrent .progress-text")[0])
            check(second < SIZE, "the download finished before the second reading")
            check(text_first != text_second, f"the text did not change: {text_first!r}")
            log(f"page readings: {text_first!r} then {text_second!r}")

            wait_until(lambda: "libtorrent" in " ".join(
                browser.text(e) for e in browser.find_all(".torrent .peers td")), 15,
                "the seeder in the peers table", interval=0.2)
            peers = " ".join(browser.text(e) for e in browser.find_all(".torrent .peers td"))
            check(f"127.0.0.1:{seeder}" in peers, f"peers table: {peers!r}")
            files = " ".join(browser.text(e) for e in browser.find_all(".torrent .files td"))
            check("page test <&>.bin" in files, f"files table: {files!r}")
            points = browser.attribute(browser.find_all(".torrent svg.chart polyline")[0], "points")
            check(points and len(points.split()) >= 2, f"the rate chart has no points: {points!r}")

            # Nothing but the page and its API was fetched: no external assets.
            urls = browser.execute(
                "return performance.getEntriesByType('resource').map(e => e.name)"
                ".concat([location.href]);")
            foreign = [u for u in urls if not u.startswith(base)]
            check(not foreign, f"the page fetched from elsewhere: {foreign}")
            browser.screenshot(os.path.join(sw.log_dir, "status-page.png"))

            # The buttons: the page's own POSTs pass the server's checks.
            def state():
                return status_page.torrents(base)[0]["state"]
            browser.click(browser.find_all(".torrent button.pause")[0])
            wait_until(lambda: state() == "paused", 10, "the Pause button to pause", interval=0.1)
            wait_until(lambda: "paused" in browser.text(browser.find_all(".torrent .meta")[0]), 10,
                       "the page to show the pause", interval=0.2)
            browser.click(browser.find_all(".torrent button.resume")[0])
            wait_until(lambda: state() == "downloading", 10, "the Resume button to resume",
                       interval=0.1)
            log("Pause and Resume buttons work")
        finally:
            browser.quit()

        r = h.finish(120)
        check_run_ok(r)
        problems = swarm.verify_files(os.path.join(out, "page test <&>.bin"), content)
        check(not problems, "downloaded data is wrong: " + "; ".join(problems))


if __name__ == "__main__":
    swarm.e2e_main(main)
