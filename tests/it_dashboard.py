#!/usr/bin/env python3
"""Dashboard: the page lingerd embeds, opened in Debian's headless chromium (driven by playwright-core
from npm, tests/dashboard/drive.mjs) against a real daemon with the lab running, inside a private
network namespace so that the counts are exactly the lab's.

Checked: the page loads with zero console errors, zero CSP violations and no failed request; the
CLOSE_WAIT card shows the lab's count (and the API's); the namespace selector stays hidden with
only lingerd's own namespace (tests/it_netns.py switches it with --netns all); the trend chart is drawn; the findings panel
names the lab's leak by process; clicking CLOSE_WAIT in the diagram (and Enter on another state)
opens its explanation from the API; the Korean switch shows the API's Korean text; the sockets
table filters and pages; dark mode applies. The screenshots land in
$LINGERD_BUILD/test-artifacts/ (dashboard.png, dashboard-ko.png, dashboard-dark.png).

Needs node, npm and chromium (scripts/deps-web.sh); the pinned playwright-core is installed into
tests/dashboard/node_modules by this script with npm ci."""
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import lingerd_test  # noqa: E402
from lingerd_test import DaemonCase, LabProc, main, npm_ci, poll  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
NODE_DIR = os.path.join(HERE, "dashboard")
DRIVER_TIMEOUT_S = 80
HANGUL = re.compile("[\uac00-\ud7a3]")


def artifacts_dir():
    build = os.environ.get("LINGERD_BUILD") or os.path.join(TOP, "build")
    d = os.path.join(build, "test-artifacts")
    os.makedirs(d, exist_ok=True)
    return d


def chromium_path():
    return shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)


def tools_problem():
    """"" when node, npm and chromium are installed and the pinned playwright-core is in
    tests/dashboard/node_modules (npm ci puts it there), else what is missing."""
    if not (shutil.which("node") and shutil.which("npm")):
        return "node and npm are needed (scripts/deps-web.sh installs them)"
    if not chromium_path():
        return "Debian's chromium is needed (scripts/deps-web.sh installs it)"
    return npm_ci(NODE_DIR, os.path.join("playwright-core", "package.json"))


def check_page_source(tc, d):
    """What the server sends: the page under its CSP, no inline script or style, every asset."""
    status, hdrs, body = d.get("/")
    tc.assertEqual(status, 200, "GET /")
    tc.assertTrue(hdrs.get("Content-Type", "").startswith("text/html"), "/ is HTML: %r" % hdrs.get("Content-Type"))
    csp = hdrs.get("Content-Security-Policy", "")
    for directive in ("default-src 'none'", "script-src 'self'", "style-src 'self'"):
        tc.assertTrue(directive in csp, "page CSP has %s: %r" % (directive, csp))
    tc.assertTrue("unsafe-inline" not in csp and "unsafe-eval" not in csp, "page CSP allows nothing inline: %r" % csp)
    html = body.decode()
    tc.assertTrue(not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "no inline <script> in index.html")
    tc.assertTrue(not re.search(r"<style\b", html), "no <style> element in index.html")
    tc.assertTrue(not re.search(r"\sstyle\s*=", html), "no style= attribute in index.html")
    tc.assertTrue(not re.search(r"\son[a-z]+\s*=", html), "no inline event handler in index.html")
    for ref in re.findall(r'(?:src|href)="(/[^"]*)"', html):
        with tc.subTest(asset=ref):
            st, h, b = d.get(ref)
            tc.assertEqual(st, 200, "asset %s linked from the page is served" % ref)
    st, h, b = d.get("/vendor/uPlot.iife.min.js")
    tc.assertTrue(st == 200 and b"uPlot" in b, "uPlot is embedded from the npm lockfile")
    # Kernel and process text reaches the page through textContent only.
    for name in ("app.js", "diagram.js", "i18n.js"):
        with open(os.path.join(TOP, "web", name), encoding="utf-8") as f:
            src = f.read()
        tc.assertTrue(not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", src),
              "web/%s builds no markup from strings" % name)


def run_driver(d, out_dir, started):
    """Runs drive.mjs against d: (its results or None, what went wrong)."""
    # Per-process trends come from 1-minute rollups: the first is written just after the first
    # minute boundary following the daemon's start.
    split_deadline = (int(started) // 60 + 1) * 60 + 6
    env = dict(os.environ, LINGERD_URL=d.base, ARTIFACTS=out_dir, CHROMIUM=chromium_path(), MIN_AGE="1",
               SPLIT_DEADLINE=str(split_deadline))
    p = subprocess.run(["node", os.path.join(NODE_DIR, "drive.mjs")], capture_output=True, text=True,
                       env=env, timeout=DRIVER_TIMEOUT_S, cwd=NODE_DIR)
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if p.returncode != 0 or not lines:
        return None, "drive.mjs ran (rc %d): %s" % (p.returncode, p.stderr[-1500:])
    return json.loads(lines[-1]), ""


class Dashboard(DaemonCase):
    """The lab (3 sets of sockets) and lingerd; the page driven once in chromium (browser()),
    each of its steps checked by a test of its own."""

    daemon_args = ("--interval", "1")
    first_snapshots = 2

    @classmethod
    def setUpClass(cls):
        problem = tools_problem()
        if problem:
            raise AssertionError(problem)
        if not lingerd_test.IN_PRIVATE_NETNS:
            print("note: no private network namespace here (unshare -n): counts checked against "
                  "the API only", flush=True)
        cls.lab = LabProc("--count", "3", "--port", "0")
        cls.addClassCleanup(cls.lab.stop)
        cls.started = time.time()
        super().setUpClass()
        cls.result = None

    def browser(self):
        """drive.mjs's results, run once for the class."""
        cls = type(self)
        if cls.result is None:
            t0 = time.monotonic()
            cls.result = run_driver(self.d, artifacts_dir(), self.started)
            print("browser run: %.1f s" % (time.monotonic() - t0), flush=True)
        res, why = cls.result
        self.assertTrue(res, why)
        self.assertNotIn("fatal", res, "driver: %s" % res.get("fatal"))
        return res

    def leak(self):
        return self.lab.report["states"]["CLOSE_WAIT"]["variants"]["close_wait_leak/server"]["count"]

    def step(self, name):
        s = self.browser()["steps"].get(name)
        self.assertTrue(s and s.get("ok"), "browser step %s: %s" % (name, s and s.get("error")))
        return s

    def test_leak_attributed(self):
        """Attribution takes a few snapshots: the lab-leaker owns its CLOSE_WAIT group."""
        def attributed():
            groups = self.d.json("/api/v1/lingering?group_by=process&states=CLOSE_WAIT")["groups"]
            return any(g.get("comm") == "lab-leaker" for g in groups)
        self.assertTrue(poll(attributed, 20, 0.3), "lingerd attributes the leak to lab-leaker")

    def test_page_source(self):
        check_page_source(self, self.d)

    def test_page_health(self):
        """Zero console errors, zero CSP violations, no failed request."""
        res = self.browser()
        self.assertEqual(res["console_errors"], [], "console errors")
        self.assertEqual(res["page_errors"], [], "uncaught page errors")
        self.assertEqual(res["csp_violations"], [], "CSP violations (securitypolicyviolation events)")
        self.assertEqual(res["bad_responses"], [], "failed or 4xx/5xx requests (favicon included)")

    def test_step_load(self):
        hz = self.d.json("/healthz")
        s = self.step('load')
        self.assertEqual(s["status"], 200, "page status")
        self.assertEqual(s["health"], hz["status"], "status line health")
        self.assertEqual(s["attribution"], hz["attribution"], "status line attribution mode")
        self.assertTrue(hz["source"] in s["status_line"], "status line names the capture source %r" % hz["source"])

    def test_step_netns(self):
        s = self.step('netns')
        self.assertEqual(s["followed"], 1, "lingerd follows only its own namespace here")
        self.assertTrue(s["wrap_hidden"] and s["disabled"], "the namespace selector is hidden and disabled with one namespace")
        self.assertEqual(s["netns_params"], [], "no API call carries netns= while the own namespace is shown")

    def test_step_counts(self):
        s = self.step('counts')
        self.assertEqual(s["cards"], 11, "one card per state")
        self.assertEqual(s["card"], s["api"], "CLOSE_WAIT card shows /api/v1/snapshot's count")
        if lingerd_test.IN_PRIVATE_NETNS:
            lab_cw = self.lab.report["states"]["CLOSE_WAIT"]["count"]
            self.assertEqual(s["card"], lab_cw, "CLOSE_WAIT card shows the lab's CLOSE_WAIT count")
        self.assertTrue("lingering" in (s["lingering_class"] or ""), "CLOSE_WAIT card is highlighted as lingering")
        self.assertTrue("lingering" not in (s["established_class"] or ""), "ESTABLISHED card is not highlighted")
        self.assertTrue(re.search(r"(since|in 1 h)", s["delta"] or ""), "CLOSE_WAIT card shows its change: %r" % s["delta"])

    def test_step_findings(self):
        s = self.step('findings')
        self.assertTrue("lab-leaker" in s["text"], "findings panel names lab-leaker")
        self.assertTrue(str(self.lab.report["leaker"]["pid"]) in s["text"], "the finding carries the leaker's pid")
        self.assertTrue(re.search(r"\b%d CLOSE_WAIT" % self.leak(), s["text"]), "the finding counts the leak's %d sockets" % self.leak())
        self.assertTrue("sev-" in s["severity"], "finding has a severity: %r" % s["severity"])

    def test_step_chart(self):
        s = self.step('chart')
        self.assertTrue(s["width"] > 100 and s["height"] > 100, "uPlot canvas has a size: %rx%r" % (s["width"], s["height"]))
        self.assertTrue(s["coloured"] > 0, "the chart has drawn lines (coloured pixels: %d)" % s["coloured"])
        self.assertTrue("CLOSE_WAIT" in (s["legend"] or ""), "chart legend lists CLOSE_WAIT")
        self.assertEqual(s["pressed"], "true", "range button 15m is pressed")

    def test_step_offenders(self):
        s = self.step('offenders')
        self.assertEqual(s["total"], self.leak(), "top offenders list lab-leaker with its leak")

    def test_step_diagram(self):
        s = self.step('diagram')
        self.assertEqual(s["node_count"], 11, "diagram has the 11 states")
        self.assertEqual(s["tabindex"], "0", "diagram nodes are keyboard-focusable")
        self.assertTrue(re.search(r"CLOSE_WAIT\s*\d", s["node_text"]), "CLOSE_WAIT node shows a count: %r" % s["node_text"])
        fw2 = self.d.json("/api/v1/states/FIN_WAIT_2?lang=en")["title"]
        self.assertEqual(s["keyboard_title"], fw2, "Enter on FIN_WAIT_2 opens its explanation")
        self.assertEqual(s["title"], s["api_title"], "clicking CLOSE_WAIT opens its explanation")
        self.assertTrue(s["api_meaning"][:60] in s["explain_text"], "the explanation shows the API's meaning text")
        self.assertEqual(s["selected"], "true", "the CLOSE_WAIT node is marked selected")

    def test_step_sockets(self):
        s = self.step('sockets')
        self.assertEqual(s["leak_rows"], self.leak(), "sockets table filtered to CLOSE_WAIT + lab-leaker")
        self.assertTrue(not s["next_disabled"], "more than one page of sockets")
        self.assertTrue(s["second"] and s["second"] != s["first"], "the next page shows other sockets")
        self.assertTrue(s["info"] and s["info"].startswith("Page 2"), "pager says page 2: %r" % s["info"])

    def test_step_screenshot(self):
        s = self.step('screenshot')
        with open(s["file"], "rb") as f:
            head = f.read(8)
        self.assertTrue(head == b"\x89PNG\r\n\x1a\n" and os.path.getsize(s["file"]) > 20000,
              "screenshot written: %s" % s["file"])

    def test_step_korean(self):
        s = self.step('korean')
        self.assertEqual(s["title"], s["api_title"], "Korean explanation is /api/v1/states/CLOSE_WAIT?lang=ko's")
        self.assertTrue(HANGUL.search(s["title"]), "Korean title has Hangul")
        all_ko = self.d.json("/api/v1/states?lang=ko")
        mine = [x for x in all_ko["states"] if x["state"] == "CLOSE_WAIT"]
        self.assertTrue(mine and mine[0]["title"] == s["title"], "matches /api/v1/states?lang=ko")
        self.assertEqual(s["html_lang"], "ko", "html lang follows the switch")
        self.assertTrue(HANGUL.search(s["heading"]), "page labels switch to Korean: %r" % s["heading"])
        self.assertTrue(HANGUL.search(s["topics"]), "teaching topics switch to Korean")
        self.assertTrue(s.get("finding") and "lab-leaker" in s["finding"] and "닫지 않은 CLOSE_WAIT" in s["finding"],
              "the leak finding switches to Korean (findings?lang=ko): %r" % (s.get("finding") or "")[:200])

    def test_step_dark(self):
        s = self.step('dark')
        self.assertTrue(s["light"] != s["dark"], "dark mode changes the page: %s vs %s" % (s["light"], s["dark"]))

    def test_step_split(self):
        s = self.step('split')
        self.assertTrue(s["api_has"], "/api/v1/trends?by=process has lab-leaker once a minute is rolled up")
        self.assertEqual(s["split_state"], "CLOSE_WAIT", "the split follows CLOSE_WAIT by default")
        self.assertTrue("lab-leaker" in (s["legend"] or ""), "split by process draws lab-leaker's line: %r" % s["legend"])

    def test_step_layout(self):
        s = self.step('layout')
        self.assertTrue(s["scroll_width"] <= s["client_width"], "nothing overflows sideways at 1280 px (%d > %d)" % (s["scroll_width"], s["client_width"]))


if __name__ == "__main__":
    main(netns=["-n"])
