"""A small W3C WebDriver client for chromedriver over its HTTP API, standard
library only (urllib + json): enough to load a page in headless Chromium and
read elements.  Every call is bounded in time; the driver process is
started and stopped by PID through the Swarm that owns it.

Chromium is kept on loopback: background networking, component updates and
sync are off, and every host name but the loopback ones resolves to nothing."""

import base64
import json
import shutil
import urllib.error
import urllib.request

from swarm import HarnessError, free_port, port_accepts, wait_until

# The standard element key of the W3C WebDriver protocol.
ELEMENT_KEY = "element-6066-11e4-a52e-4f735466cecf"

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",               # tests may run as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--metrics-recording-only",
    "--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
    "--window-size=1200,900",
]


def find_browser() -> tuple:
    """(chromium, chromedriver) paths, or None for what is missing."""
    return shutil.which("chromium"), shutil.which("chromedriver")


class WebDriver:
    def __init__(self, sw, chromium: str, chromedriver: str, timeout: float = 30):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = sw.spawn(f"chromedriver-{self.port}",
                             [chromedriver, f"--port={self.port}", "--allowed-ips=127.0.0.1"])
        wait_until(lambda: port_accepts(self.port), 15, "chromedriver to listen", interval=0.1)
        wait_until(lambda: self._call("GET", "/status")["ready"], 15, "chromedriver to be ready",
                   interval=0.1)
        profile = sw.mkdir(f"chromium-profile-{self.port}")
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium,
                                   "args": CHROMIUM_ARGS + [f"--user-data-dir={profile}"]},
            "timeouts": {"pageLoad": int(timeout * 1000), "script": 10000},
        }}}
        self.session = self._call("POST", "/session", caps, timeout=timeout)["sessionId"]

    def _call(self, method: str, path: str, body=None, timeout: float = 20):
        data = json.dumps(body).encode() if body is not None else None
        if method == "POST" and data is None:
            data = b"{}"
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read())["value"]
        except urllib.error.HTTPError as e:
            raise HarnessError(f"webdriver {method} {path}: {e.code} {e.read()[:500]!r}") from e

    def _s(self, path: str) -> str:
        return f"/session/{self.session}{path}"

    def get(self, url: str) -> None:
        self._call("POST", self._s("/url"), {"url": url}, timeout=40)

    def find_all(self, css: str) -> list:
        found = self._call("POST", self._s("/elements"), {"using": "css selector", "value": css})
        return [e[ELEMENT_KEY] for e in found]

    def text(self, element: str) -> str:
        return self._call("GET", self._s(f"/element/{element}/text"))

    def attribute(self, element: str, name: str):
        return self._call("GET", self._s(f"/element/{element}/attribute/{name}"))

    def click(self, element: str) -> None:
        self._call("POST", self._s(f"/element/{element}/click"))

    def execute(self, script: str, args=None):
        return self._call("POST", self._s("/execute/sync"), {"script": script, "args": args or []})

    def screenshot(self, path: str) -> None:
        png = self._call("GET", self._s("/screenshot"), timeout=30)
        with open(path, "wb") as f:
            f.write(base64.b64decode(png))

    def quit(self) -> None:
        try:
            self._call("DELETE", self._s(""), timeout=20)
        except (HarnessError, OSError):
            pass  # the driver is stopped by PID next in any case

