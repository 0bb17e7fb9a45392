#!/usr/bin/env python3
"""The page as an operator meets it at 3 a.m.: Debian's headless chromium (playwright-core,
tests/dashboard/page.mjs) against lingerd and the lab in a private network namespace.

Checked: the headline names the lab's leaking process within two intervals of the API naming it,
above the fold, with its count, a severity and the first thing to do, and its verdict is the
worst finding's severity; only states that are a problem are highlighted; the default trend
range fits a young history; the sockets table is not fetched before it is scrolled to; trends
after the first fetch ask only for what is new; /?lang=ko serves the page in Korean; at 390 px
nothing sticks out sideways and the state explanation is not clipped, "What to do" first; axe-core
finds nothing in the light, dark, Korean and phone views; layout shift on first load stays under
0.1; the page's files and large answers are gzip-compressed and its files revalidated by ETag
(304); after lingerd is killed the page turns stale: health red, every panel saying the age of its
data, the verdict "unknown", and no all-clear. With the eBPF teardown tracer: a real close (the
lab's linger demo, run after lingerd started) picked in the sockets table is drawn as the four
segments of the four-way close in order, the closing process (the demo) at the first; the closers
table names it; the CLOSE_WAIT histogram shows the buckets the API counted. Without the tracer,
those checks are skipped and the panel must say why it is off instead. Screenshots land in $LINGERD_BUILD/test-artifacts/
(with LINGERD_SCREENSHOTS=DIR also in DIR, with findings from 5 s on: that is how
docs/screenshots/ is made)."""
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from lingerd_test import BIN, Daemon, LabProc, check, check_eq, done, in_private_netns, skip  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
NODE_DIR = os.path.join(HERE, "dashboard")
INTERVAL = 1
DRIVER_TIMEOUT_S = 150
HANGUL = re.compile("[\uac00-\ud7a3]")
CLS_MAX = 0.1


def artifacts_dir():
    build = os.path.abspath(os.environ.get("LINGERD_BUILD") or os.path.join(TOP, "build"))
    d = os.path.join(build, "test-artifacts")
    os.makedirs(d, exist_ok=True)
    return d


def chromium_path():
    return shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)


def tools_ready():
    """node, npm and chromium; playwright-core and axe-core as tests/dashboard's lockfile pins them."""
    ok = check(shutil.which("node") and shutil.which("npm"), "node and npm are needed (scripts/deps-web.sh)")
    ok = check(chromium_path(), "Debian's chromium is needed (scripts/deps-web.sh)") and ok
    if not ok:
        return False
    mods = os.path.join(NODE_DIR, "node_modules")
    if not all(os.path.exists(os.path.join(mods, m, "package.json")) for m in ("playwright-core", "axe-core")):
        p = subprocess.run(["npm", "ci", "--prefix", NODE_DIR, "--ignore-scripts", "--no-audit", "--no-fund",
                            "--loglevel=error"], capture_output=True, text=True, timeout=300)
        if not check_eq(p.returncode, 0, "npm ci in tests/dashboard (%s)" % p.stderr.strip()[-500:]):
            return False
    return True


def step(res, name):
    s = res["steps"].get(name)
    if not check(s and s.get("ok"), "browser step %s: %s" % (name, s and s.get("error"))):
        return None
    return s


def no_violations(views):
    for name, v in views:
        check_eq([(x["id"], x["nodes"], x["targets"]) for x in (v or [])], [], "axe-core violations in the %s view" % name)


def check_events(res, linger):
    s = step(res, "events")
    if not s:
        return
    if s["events"] != "bpf":
        skip("the teardown tracer is off here (%s): its timeline and histograms are not checked" % s["events"])
        why = s["events"][len("off: "):]
        check(s["off_visible"] and why in (s["off_text"] or "") and not s["body_visible"],
              "the panel says why the tracer is off instead of empty panels: %r" % s["off_text"])
        return
    check(linger, "lingerd lab linger ran")
    segs = [(r["seg"], r["dir"]) for r in s["rows"]]
    check_eq(segs, [("FIN", "out"), ("ACK", "in"), ("FIN", "in"), ("ACK", "out")],
             "the timeline shows the four segments of the four-way close in order")
    check_eq(s["svg_arrows"], 4, "four arrows in the drawing")
    closer = "lingerd (pid %d)" % linger["pid"]
    if s["rows"]:
        check(closer in s["rows"][0]["cells"][-1], "the first step names the closing process %r: %r" % (closer, s["rows"][0]["cells"]))
        after = [float(re.sub(r"[^0-9.]", "", r["cells"][2])) for r in s["rows"]]
        check(after == sorted(after), "the steps' times only go forward: %r" % after)
        steps = s["api"]["timeline"] or []
        check(steps and steps[0]["pid"] == linger["pid"], "the API's first step is the demo's close: %r" % steps[:1])
    check("pid %d" % linger["pid"] in (s["closer"] or ""), "the timeline says who closed it: %r" % s["closer"])
    check(any("lingerd" in c and "pid %d" % linger["pid"] in c for c in s["closers"]),
          "the closers table names the demo: %r" % s["closers"])
    check_eq(s["try_it"], ["lingerd lab linger", "lingerd lab reuseaddr"], "TIME_WAIT's explanation names its demos")
    check("pid %d" % linger["pid"] in (s["demo_closer"] or "") and len(s["demo_segs"]) >= 3
          and s["demo_segs"][0] == "FIN" and s["demo_segs"][-1] == "ACK",
          "'Draw a real one' draws the demo's close: %r %r" % (s["demo_closer"], s["demo_segs"]))
    cw = next((x for x in s["hist"] if x["state"] == "CLOSE_WAIT"), None)
    api_cw = s["events_api"]["durations"]["CLOSE_WAIT"]["log2_us_buckets"]
    if check(cw, "a CLOSE_WAIT histogram"):
        check(cw["count"] >= 3, "the demo's peers' CLOSE_WAIT time is counted (%d >= 3)" % cw["count"])
        check(cw["bars"] and all(0 < n <= api_cw[b] for b, n in cw["bars"]),
              "the CLOSE_WAIT bars are the API's buckets: %r vs %r" % (cw["bars"], api_cw))
        check_eq(sum(n for _, n in cw["bars"]), cw["count"], "the CLOSE_WAIT bars add up to its count")


def check_transfer(d):
    """The page's files and large answers: gzip for a client that takes it, an ETag to revalidate."""
    for path in ("/app.js", "/vendor/uPlot.iife.min.js", "/style.css", "/api/v1/openapi.json", "/api/v1/states"):
        _, plain_h, plain = d.get(path, raw=True)
        status, h, body = d.get(path, headers={"Accept-Encoding": "gzip, deflate"}, raw=True)
        check_eq((status, h.get("Content-Encoding")), (200, "gzip"), "%s is gzip-compressed" % path)
        check(gzip.decompress(body) == plain and len(body) * 2 < len(plain),
              "%s: %d bytes instead of %d, the same after gunzip" % (path, len(body), len(plain)))
        check_eq(h.get("Vary"), "Accept-Encoding", "%s varies by Accept-Encoding" % path)
    _, h, _ = d.get("/app.js", headers={"Accept-Encoding": "gzip;q=0"}, raw=True)
    check_eq(h.get("Content-Encoding"), None, "gzip;q=0 is refused gzip")
    _, h, _ = d.get("/app.js", raw=True)
    etag = h.get("ETag")
    check(etag and h.get("Cache-Control") == "no-cache", "an embedded file is cacheable, revalidated: %r %r" % (etag, h.get("Cache-Control")))
    status, _, body = d.get("/app.js", headers={"If-None-Match": etag or "-"}, raw=True)
    check_eq((status, body), (304, b""), "a matching If-None-Match gets a 304 without a body")
    _, h, _ = d.get("/api/v1/snapshot", raw=True)
    check_eq((h.get("ETag"), h.get("Cache-Control")), (None, "no-store"), "live answers are never cached")


def run_linger(d):
    """lingerd lab linger after lingerd started, so that the tracer sees its closes."""
    if d.json("/healthz").get("events") != "bpf":
        return None
    p = subprocess.run([BIN, "lab", "linger", "--json", "--linger", "1"], capture_output=True, text=True, timeout=60)
    check_eq(p.returncode, 0, "lingerd lab linger: %s" % p.stderr.strip()[-300:])
    time.sleep(2 * INTERVAL + 0.5)  # in a snapshot, joined to its closer
    return json.loads(p.stdout) if p.returncode == 0 else None


def check_results(res, lab, linger):
    if not check("fatal" not in res, "driver: %s" % res.get("fatal")):
        return
    # Once lingerd is killed every poll fails: those failures are the point of the last step.
    refused = re.compile(r"ERR_CONNECTION_REFUSED|Failed to load resource: net::")
    check_eq([e for e in res["console_errors"] if not refused.search(e)], [], "console errors")
    check_eq(res["page_errors"], [], "uncaught page errors")
    check_eq(res["csp_violations"], [], "CSP violations")
    check_eq([b for b in res["bad_responses"] if not refused.search(b)], [], "failed or 4xx/5xx requests")

    leak = lab.report["states"]["CLOSE_WAIT"]["variants"]["close_wait_leak/server"]["count"]
    s = step(res, "headline")
    if s:
        lag = s["page_at_ms"] - s["api_at_ms"]
        check(lag <= 2 * INTERVAL * 1000 + 500,
              "the headline names lab-leaker within two intervals of the API (%d ms after)" % lag)
        cells = s["cells"]
        check("lab-leaker" in cells[0] and "pid %d" % lab.report["leaker"]["pid"] in cells[0],
              "the row names lab-leaker and its pid: %r" % cells[0])
        check(re.match(r"\s*%d(?!\d)" % leak, cells[1]), "the row counts the leak's %d sockets: %r" % (leak, cells[1]))
        check(re.search(r"/min|–", cells[2]), "the row has a change per minute (or – before two samples): %r" % cells[2])
        check(re.search(r"\d\d:\d\d:\d\d", cells[3]), "the row says since when as a clock time: %r" % cells[3])
        check(re.search(r"restart lab-leaker", cells[-1]), "the row says what to do first: %r" % cells[-1])
        check(s["row_top"] is not None and s["row_top"] < s["viewport_h"],
              "the row is above the fold (%s < %s)" % (s["row_top"], s["viewport_h"]))
        # Younger than the findings' min_age the leak is "info" (it does not grow); the verdict
        # is the worst severity on the page, never "ok" while a process leaks.
        check(s["severity"] in ("info", "warning", "critical") and s["verdict"] == s["severity"],
              "the verdict is the worst severity: %r / %r" % (s["verdict"], s["severity"]))

    s = step(res, "layout_shift")
    if s:
        check(s["cls"] < CLS_MAX, "layout shift on first load %.3f < %.1f" % (s["cls"], CLS_MAX))

    s = step(res, "highlight")
    if s:
        cards = s["cards"]
        check("problem" in cards["CLOSE_WAIT"], "the CLOSE_WAIT card is highlighted: %r" % cards["CLOSE_WAIT"])
        calm = [st for st, cls in cards.items() if "problem" in cls and s["counts"][st] == 0]
        check_eq(calm, [], "no state with no sockets is highlighted")
        for st in ("ESTABLISHED", "LISTEN", "SYN_SENT"):
            check("problem" not in cards[st], "%s is not highlighted: %r" % (st, cards[st]))
        check(re.search(r"since start \d\d:\d\d", s["delta"]), "the change is against the start of history: %r" % s["delta"])
        check_eq(s["range"], "15m", "the default range fits a history of seconds")

    s = step(res, "fetching")
    if s:
        check_eq(s["sockets_before"], 0, "the sockets table is not fetched before it is visible")
        check(s["sockets_after"] >= 1, "the sockets table is fetched once scrolled to")
        later = s["trends"][1:]
        check(s["trends"] and later, "trends were polled: %r" % s["trends"])
        check(all(re.search(r"from=\d{10}", u) and "resolution=raw" in u for u in later),
              "later trend fetches ask only for what is new: %r" % later[:3])

    s = step(res, "lang_query")
    if s:
        check_eq(s["status"], 200, "/?lang=ko serves the page")
        check((s["content_type"] or "").startswith("text/html"), "/?lang=ko is HTML: %r" % s["content_type"])
        check_eq(s["html_lang"], "ko", "?lang=ko switches the page to Korean")
        check(HANGUL.search(s["counts_h"]) and HANGUL.search(s["heading"]), "Korean headings: %r" % s["heading"])
        check(HANGUL.search(s["todo"] or ""), "what to do, in Korean: %r" % s["todo"])

    s = step(res, "phone")
    if s:
        for lang in ("en", "ko"):
            p = s[lang]
            check(p["scroll_width"] <= p["client_width"],
                  "nothing overflows sideways at 390 px in %s (%d > %d)" % (lang, p["scroll_width"], p["client_width"]))
            check(not p["explain_clipped"], "the state explanation is not clipped (%s)" % lang)
        check_eq(s["en"]["remedy_first"], "What to do", "the explanation says what to do first")

    views = []
    for name, key in (("light", "axe_light"), ("dark", "axe_dark"), ("Korean", "axe_ko")):
        st = step(res, key)
        if st:
            views.append((name, st["violations"]))
    if s:
        views.append(("phone", s.get("axe")))
    no_violations(views)

    check_events(res, linger)

    s = step(res, "stale")
    if s:
        check_eq(s["before"]["health"], "ok", "health is ok while lingerd runs")
        check(s["stale_after_ms"] <= 3 * INTERVAL * 1000 + 1500, "stale within a few intervals (%d ms)" % s["stale_after_ms"])
        check("bad" in s["health_class"] and s["health"] != "ok", "health turns red: %r %r" % (s["health"], s["health_class"]))
        check_eq(s["verdict"], "unknown", "the verdict is unknown, not an all-clear")
        check_eq(s["aged_panels"], s["panels"], "every panel says how old its data is")
        check(re.search(r"as of \d\d:\d\d:\d\d", s["panel_age"] or ""), "the age is a clock time: %r" % s["panel_age"])
        check("does not answer" in s["note"], "the page says lingerd does not answer: %r" % s["note"])
        check(s["card"].strip() not in ("", "–"), "the last counts stay on screen: %r" % s["card"])
        check("grayscale" in (s["filter"] or ""), "stale panels are greyed: %r" % s["filter"])
        check("No findings" not in s["findings"] and "No problems" not in s["verdict_text"], "no all-clear while stale")
        check(HANGUL.search(s.get("note_ko") or "") and s.get("verdict_ko") == "알 수 없음",
              "stale in Korean too: %r / %r" % (s.get("note_ko"), s.get("verdict_ko")))


def run():
    out_dir = artifacts_dir()
    lab = LabProc("--count", "3", "--port", "0")
    # LINGERD_EVENTS=off runs lingerd without its tracer: the panel's "off" message is checked then.
    events = ["--events", os.environ["LINGERD_EVENTS"]] if os.environ.get("LINGERD_EVENTS") else []
    d = Daemon("--interval", str(INTERVAL), *events)
    try:
        d.wait_snapshots(1)
        check_transfer(d)
        linger = run_linger(d)
        if os.environ.get("LINGERD_SCREENSHOTS"):
            time.sleep(8)  # the screenshots show the lab's findings, due at 5 s
        env = dict(os.environ, LINGERD_URL=d.base, ARTIFACTS=out_dir, CHROMIUM=chromium_path(),
                   INTERVAL=str(INTERVAL), LEAKER="lab-leaker", DAEMON_PID=str(d.proc.pid),
                   SCREENSHOTS=os.path.abspath(os.environ["LINGERD_SCREENSHOTS"]) if os.environ.get("LINGERD_SCREENSHOTS") else "",
                   LINGER=json.dumps(linger),
                   MIN_AGE="5" if os.environ.get("LINGERD_SCREENSHOTS") else "")
        t0 = time.monotonic()
        p = subprocess.run(["node", os.path.join(NODE_DIR, "page.mjs")], capture_output=True, text=True,
                           env=env, timeout=DRIVER_TIMEOUT_S, cwd=NODE_DIR)
        print("browser run: %.1f s" % (time.monotonic() - t0), flush=True)
        lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
        if check(p.returncode == 0 and lines, "page.mjs ran (rc %d): %s" % (p.returncode, p.stderr[-1500:])):
            res = json.loads(lines[-1])
            with open(os.path.join(out_dir, "it_page.json"), "w") as f:
                json.dump(res, f, indent=1)
            check_results(res, lab, linger)
    finally:
        d.close()
        lab.stop()


def main():
    if "--in-netns" in sys.argv:
        run()
        done()
    if not tools_ready():
        done()
    rc = in_private_netns(__file__)
    if rc is None:
        skip("no private network namespace here (unshare -n): the page needs the lab's exact sockets")
        done()
    sys.exit(rc)


if __name__ == "__main__":
    main()
