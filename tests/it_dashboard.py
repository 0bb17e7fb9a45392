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
from lingerd_test import Daemon, LabProc, check, check_eq, done, in_private_netns, skip  # noqa: E402

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


def tools_ready():
    """node, npm and chromium installed; the pinned playwright-core in tests/dashboard/node_modules."""
    ok = check(shutil.which("node") and shutil.which("npm"),
               "node and npm are needed (scripts/deps-web.sh installs them)")
    ok = check(chromium_path(), "Debian's chromium is needed (scripts/deps-web.sh installs it)") and ok
    if not ok:
        return False
    if not os.path.exists(os.path.join(NODE_DIR, "node_modules", "playwright-core", "package.json")):
        p = subprocess.run(["npm", "ci", "--prefix", NODE_DIR, "--ignore-scripts", "--no-audit",
                            "--no-fund", "--loglevel=error"], capture_output=True, text=True,
                           timeout=300)
        if not check_eq(p.returncode, 0, "npm ci in tests/dashboard (%s)" % p.stderr.strip()[-500:]):
            return False
    return True


def check_page_source(d):
    """What the server sends: the page under its CSP, no inline script or style, every asset."""
    status, hdrs, body = d.get("/")
    check_eq(status, 200, "GET /")
    check(hdrs.get("Content-Type", "").startswith("text/html"), "/ is HTML: %r" % hdrs.get("Content-Type"))
    csp = hdrs.get("Content-Security-Policy", "")
    for directive in ("default-src 'none'", "script-src 'self'", "style-src 'self'"):
        check(directive in csp, "page CSP has %s: %r" % (directive, csp))
    check("unsafe-inline" not in csp and "unsafe-eval" not in csp, "page CSP allows nothing inline: %r" % csp)
    html = body.decode()
    check(not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "no inline <script> in index.html")
    check(not re.search(r"<style\b", html), "no <style> element in index.html")
    check(not re.search(r"\sstyle\s*=", html), "no style= attribute in index.html")
    check(not re.search(r"\son[a-z]+\s*=", html), "no inline event handler in index.html")
    for ref in re.findall(r'(?:src|href)="(/[^"]*)"', html):
        st, h, b = d.get(ref)
        check_eq(st, 200, "asset %s linked from the page is served" % ref)
    st, h, b = d.get("/vendor/uPlot.iife.min.js")
    check(st == 200 and b"uPlot" in b, "uPlot is embedded from the npm lockfile")
    # Kernel and process text reaches the page through textContent only.
    for name in ("app.js", "diagram.js", "i18n.js"):
        with open(os.path.join(TOP, "web", name), encoding="utf-8") as f:
            src = f.read()
        check(not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", src),
              "web/%s builds no markup from strings" % name)


def wait_for_leaker(d, timeout=20):
    """Attribution takes a few snapshots: wait until the lab-leaker owns its CLOSE_WAIT group."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        groups = d.json("/api/v1/lingering?group_by=process&states=CLOSE_WAIT")["groups"]
        if any(g.get("comm") == "lab-leaker" for g in groups):
            return True
        time.sleep(0.3)
    return False


def run_driver(d, out_dir, started):
    # Per-process trends come from 1-minute rollups: the first is written just after the first
    # minute boundary following the daemon's start.
    split_deadline = (int(started) // 60 + 1) * 60 + 6
    env = dict(os.environ, LINGERD_URL=d.base, ARTIFACTS=out_dir, CHROMIUM=chromium_path(), MIN_AGE="1",
               SPLIT_DEADLINE=str(split_deadline))
    p = subprocess.run(["node", os.path.join(NODE_DIR, "drive.mjs")], capture_output=True, text=True,
                       env=env, timeout=DRIVER_TIMEOUT_S, cwd=NODE_DIR)
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if not check(p.returncode == 0 and lines, "drive.mjs ran (rc %d): %s" % (p.returncode, p.stderr[-1500:])):
        return None
    return json.loads(lines[-1])


def step(res, name):
    s = res["steps"].get(name)
    if not check(s and s.get("ok"), "browser step %s: %s" % (name, s and s.get("error"))):
        return None
    return s


def check_results(res, d, lab, exact):
    if not check("fatal" not in res, "driver: %s" % res.get("fatal")):
        return
    check_eq(res["console_errors"], [], "console errors")
    check_eq(res["page_errors"], [], "uncaught page errors")
    check_eq(res["csp_violations"], [], "CSP violations (securitypolicyviolation events)")
    check_eq(res["bad_responses"], [], "failed or 4xx/5xx requests (favicon included)")

    hz = d.json("/healthz")
    s = step(res, "load")
    if s:
        check_eq(s["status"], 200, "page status")
        check_eq(s["health"], hz["status"], "status line health")
        check_eq(s["attribution"], hz["attribution"], "status line attribution mode")
        check(hz["source"] in s["status_line"], "status line names the capture source %r" % hz["source"])

    s = step(res, "netns")
    if s:
        check_eq(s["followed"], 1, "lingerd follows only its own namespace here")
        check(s["wrap_hidden"] and s["disabled"], "the namespace selector is hidden and disabled with one namespace")
        check_eq(s["netns_params"], [], "no API call carries netns= while the own namespace is shown")

    lab_cw = lab.report["states"]["CLOSE_WAIT"]["count"]
    leak = lab.report["states"]["CLOSE_WAIT"]["variants"]["close_wait_leak/server"]["count"]
    s = step(res, "counts")
    if s:
        check_eq(s["cards"], 11, "one card per state")
        check_eq(s["card"], s["api"], "CLOSE_WAIT card shows /api/v1/snapshot's count")
        if exact:
            check_eq(s["card"], lab_cw, "CLOSE_WAIT card shows the lab's CLOSE_WAIT count")
        check("lingering" in (s["lingering_class"] or ""), "CLOSE_WAIT card is highlighted as lingering")
        check("lingering" not in (s["established_class"] or ""), "ESTABLISHED card is not highlighted")
        check(re.search(r"(since|in 1 h)", s["delta"] or ""), "CLOSE_WAIT card shows its change: %r" % s["delta"])

    s = step(res, "findings")
    if s:
        check("lab-leaker" in s["text"], "findings panel names lab-leaker")
        check(str(lab.report["leaker"]["pid"]) in s["text"], "the finding carries the leaker's pid")
        check(re.search(r"\b%d CLOSE_WAIT" % leak, s["text"]), "the finding counts the leak's %d sockets" % leak)
        check("sev-" in s["severity"], "finding has a severity: %r" % s["severity"])

    s = step(res, "chart")
    if s:
        check(s["width"] > 100 and s["height"] > 100, "uPlot canvas has a size: %rx%r" % (s["width"], s["height"]))
        check(s["coloured"] > 0, "the chart has drawn lines (coloured pixels: %d)" % s["coloured"])
        check("CLOSE_WAIT" in (s["legend"] or ""), "chart legend lists CLOSE_WAIT")
        check_eq(s["pressed"], "true", "range button 15m is pressed")

    s = step(res, "offenders")
    if s:
        check_eq(s["total"], leak, "top offenders list lab-leaker with its leak")

    s = step(res, "diagram")
    if s:
        check_eq(s["node_count"], 11, "diagram has the 11 states")
        check_eq(s["tabindex"], "0", "diagram nodes are keyboard-focusable")
        check(re.search(r"CLOSE_WAIT\s*\d", s["node_text"]), "CLOSE_WAIT node shows a count: %r" % s["node_text"])
        fw2 = d.json("/api/v1/states/FIN_WAIT_2?lang=en")["title"]
        check_eq(s["keyboard_title"], fw2, "Enter on FIN_WAIT_2 opens its explanation")
        check_eq(s["title"], s["api_title"], "clicking CLOSE_WAIT opens its explanation")
        check(s["api_meaning"][:60] in s["explain_text"], "the explanation shows the API's meaning text")
        check_eq(s["selected"], "true", "the CLOSE_WAIT node is marked selected")

    s = step(res, "sockets")
    if s:
        check_eq(s["leak_rows"], leak, "sockets table filtered to CLOSE_WAIT + lab-leaker")
        check(not s["next_disabled"], "more than one page of sockets")
        check(s["second"] and s["second"] != s["first"], "the next page shows other sockets")
        check(s["info"] and s["info"].startswith("Page 2"), "pager says page 2: %r" % s["info"])

    s = step(res, "screenshot")
    if s:
        with open(s["file"], "rb") as f:
            head = f.read(8)
        check(head == b"\x89PNG\r\n\x1a\n" and os.path.getsize(s["file"]) > 20000,
              "screenshot written: %s" % s["file"])

    s = step(res, "korean")
    if s:
        check_eq(s["title"], s["api_title"], "Korean explanation is /api/v1/states/CLOSE_WAIT?lang=ko's")
        check(HANGUL.search(s["title"]), "Korean title has Hangul")
        all_ko = d.json("/api/v1/states?lang=ko")
        mine = [x for x in all_ko["states"] if x["state"] == "CLOSE_WAIT"]
        check(mine and mine[0]["title"] == s["title"], "matches /api/v1/states?lang=ko")
        check_eq(s["html_lang"], "ko", "html lang follows the switch")
        check(HANGUL.search(s["heading"]), "page labels switch to Korean: %r" % s["heading"])
        check(HANGUL.search(s["topics"]), "teaching topics switch to Korean")
        check(s.get("finding") and "lab-leaker" in s["finding"] and "닫지 않은 CLOSE_WAIT" in s["finding"],
              "the leak finding switches to Korean (findings?lang=ko): %r" % (s.get("finding") or "")[:200])

    s = step(res, "dark")
    if s:
        check(s["light"] != s["dark"], "dark mode changes the page: %s vs %s" % (s["light"], s["dark"]))

    s = step(res, "split")
    if s:
        check(s["api_has"], "/api/v1/trends?by=process has lab-leaker once a minute is rolled up")
        check_eq(s["split_state"], "CLOSE_WAIT", "the split follows CLOSE_WAIT by default")
        check("lab-leaker" in (s["legend"] or ""), "split by process draws lab-leaker's line: %r" % s["legend"])

    s = step(res, "layout")
    if s:
        check(s["scroll_width"] <= s["client_width"], "nothing overflows sideways at 1280 px (%d > %d)" % (s["scroll_width"], s["client_width"]))


def run(exact):
    out_dir = artifacts_dir()
    lab = LabProc("--count", "3", "--port", "0")
    started = time.time()
    d = Daemon("--interval", "1")
    try:
        d.wait_snapshots(2)
        check(wait_for_leaker(d), "lingerd attributes the leak to lab-leaker")
        check_page_source(d)
        t0 = time.monotonic()
        res = run_driver(d, out_dir, started)
        print("browser run: %.1f s" % (time.monotonic() - t0), flush=True)
        if res:
            check_results(res, d, lab, exact)
    finally:
        d.close()
        lab.stop()


def main():
    if "--in-netns" in sys.argv:
        run(exact=True)
        done()
    if not tools_ready():
        done()
    rc = in_private_netns(__file__)
    if rc is not None:
        sys.exit(rc)
    skip("no private network namespace here (unshare -n): counts checked against the API only")
    run(exact=False)
    done()


if __name__ == "__main__":
    main()
