"""Every network namespace: three named namespaces, the lab inside each (1, 2 and 3 sets of
sockets), counts per namespace equal to `ss -N NAME -Htan`, trends per namespace exact at raw and
minute resolution, the dashboard's namespace selector switching the page to each, and a namespace
deleted mid-run disappears with its history kept and still served by trends?netns=."""
import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lingerd_test import BIN, SS_STATES, Daemon, check, check_eq, done, skip  # noqa: E402

# States the lab holds for as long as it runs (TIME_WAIT and FIN_WAIT_2 expire on their own).
STEADY = ["CLOSE_WAIT", "LISTEN"]
INTERVAL = 0.5


def ss_counts(ns):
    out = subprocess.run(["ss", "-N", ns, "-Htan"], capture_output=True, text=True, check=True).stdout
    counts = {}
    for line in out.splitlines():
        st = SS_STATES.get(line.split()[0], line.split()[0])
        counts[st] = counts.get(st, 0) + 1
    return counts


def nonzero(c):
    return {k: v for k, v in c.items() if v}


def trend(d, ns, states, resolution, step, t_from, t_to):
    """trends?netns=ns as {state: {t: (mean, max)}}, and the answer itself."""
    tr = d.json("/api/v1/trends?netns=%s&states=%s&resolution=%s&step=%d&from=%d&to=%d"
                % (urllib.parse.quote(ns, safe=""), ",".join(states), resolution, step, t_from, t_to))
    return tr, {s["state"]: {p[0]: (p[1], p[2]) for p in s["points"]} for s in tr["series"]}


def check_raw_trend(d, ns, want, zero_state, t_from, t_to):
    """Every 1-second raw bucket of [t_from, t_to] holds the namespace's steady counts exactly."""
    tr, got = trend(d, ns, STEADY + [zero_state], "raw", 1, t_from, t_to)
    check_eq((tr["resolution"], tr["netns"]), ("raw", ns), "trends?netns=%s answers raw for it" % ns)
    buckets = 0
    for st in STEADY + [zero_state]:
        pts = got.get(st, {})
        buckets = max(buckets, len(pts))
        bad = {t: v for t, v in pts.items() if v != (want.get(st, 0), want.get(st, 0))}
        check_eq(bad, {}, "raw %s of %s: every bucket is %d" % (st, ns, want.get(st, 0)))
        check(len(pts) >= min(3, t_to - t_from), "raw %s of %s has points in %d..%d (%d buckets)"
              % (st, ns, t_from, t_to, len(pts)))
        print("trends?netns=%s raw %s: %d buckets, each (mean, max) = %r"
              % (ns, st, len(pts), sorted(set(pts.values()))))
    return buckets


def check_minute_trend(d, ns, want, zero_state, minute):
    """The first minute the daemon saw: the namespace was there, steady, in every snapshot of it."""
    tr, got = trend(d, ns, STEADY + [zero_state], "minute", 60, minute, minute + 59)
    check_eq(tr["resolution"], "minute", "minute resolution for %s" % ns)
    for st in STEADY + [zero_state]:
        check_eq(got.get(st), {minute: (want.get(st, 0), want.get(st, 0))},
                 "minute rollup %s of %s at %d" % (st, ns, minute))
        print("trends?netns=%s minute %s: %r" % (ns, st, got.get(st)))


TW_RANGE = (40000, 40049)
TW_COUNT = 45

# Inside a namespace: 45 connections to one listener, each closed first by the client, so its
# ends wait in TIME_WAIT on ports of the namespace's own range; prints the listener's port.
TW_SCRIPT = r"""
import socket, sys, time
n = int(sys.argv[1])
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(64)
for _ in range(n):
    c = socket.create_connection(l.getsockname())
    a, _ = l.accept()
    c.close()
    a.recv(1)
    a.close()
time.sleep(0.3)
print(l.getsockname()[1])
"""


def make_time_waits(ns, port_range, n):
    subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w",
                    "net.ipv4.ip_local_port_range=%d %d" % port_range], check=True)
    out = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", TW_SCRIPT, str(n)],
                         capture_output=True, text=True, check=True).stdout
    return int(out.split()[-1])


def check_namespace_kernel(d, ns, tw_port):
    """/api/v1/system and the kernel findings of one namespace are that namespace's own."""
    def setting(body, name):
        return {x["name"]: x["value"] for x in body["settings"]}.get(name)

    def counter(body, name):
        return {x["name"]: x["value"] for x in body["counters"]}.get(name)

    mine = d.json("/api/v1/system?netns=%s" % ns)
    own = d.json("/api/v1/system")
    check_eq(mine["netns"], ns, "system?netns= names its namespace")
    check_eq((setting(mine, "ip_local_port_range_low"), setting(mine, "ip_local_port_range_high")),
             TW_RANGE, "system?netns=%s: its own ip_local_port_range" % ns)
    check(setting(own, "ip_local_port_range_low") != TW_RANGE[0],
          "the own namespace keeps its range: %r" % setting(own, "ip_local_port_range_low"))
    opens = counter(mine, "ActiveOpens")
    check(opens is not None and TW_COUNT <= opens < 10000,
          "system?netns=%s: its own Tcp ActiveOpens (%r)" % (ns, opens))
    gauges = {x["name"]: x["value"] for x in mine["gauges"]}
    check(gauges.get("tw", 0) >= TW_COUNT, "its sockstat tw counts its TIME_WAITs: %r" % gauges.get("tw"))
    print("system?netns=%s: ip_local_port_range %r, ActiveOpens %r, tw %r"
          % (ns, TW_RANGE, opens, gauges.get("tw")))
    f = d.json("/api/v1/findings?min_age=0&netns=%s" % ns)["findings"]
    fid = "time_wait_pressure/%s/127.0.0.1>127.0.0.1:%d" % (ns, tw_port)
    hit = [x for x in f if x["id"] == fid]
    check(len(hit) == 1, "findings?netns=%s: TIME_WAIT pressure against its own range (%r)"
          % (ns, [x["id"] for x in f]))
    if hit:
        ev = hit[0]["evidence"]
        check_eq((ev["ports_available"], ev["time_wait"], hit[0]["severity"], hit[0]["subject"].get("netns")),
                 (TW_RANGE[1] - TW_RANGE[0] + 1, TW_COUNT, "critical", ns), "the finding's evidence")
        print("finding %s: %s" % (fid, hit[0]["title"]))
    own_f = d.json("/api/v1/findings?min_age=0")["findings"]
    check(not any(x["id"].startswith("time_wait_pressure/%s/" % ns) for x in own_f),
          "the own namespace's findings do not carry it")
    st, _, body = d.get("/api/v1/system?netns=all")
    check(st == 400 and body["error"]["parameter"] == "netns", "system?netns=all is a 400 naming netns")


def check_process_named(d):
    """A namespace known only through its processes is named after the first one found, and
    keeps that name when the process exits: history and labels are keyed by it."""
    p = subprocess.Popen(["unshare", "-n", "sh", "-c", "sleep 300 & echo $!; exec sleep 300"],
                         stdout=subprocess.PIPE, text=True)
    second = None
    try:
        second = int(p.stdout.readline())
        name = "pid:%d" % p.pid

        def entry():
            return next((x for x in d.json("/api/v1/netns")["namespaces"] if x["name"] == name), None)

        deadline = time.time() + 30
        x = entry()
        while (not x or x["pid"] != p.pid) and time.time() < deadline:
            time.sleep(0.2)
            x = entry()
        check(x and x["kind"] == "process" and x["pid"] == p.pid,
              "a namespace of processes is named after the first: %r" % x)
        p.kill()
        p.wait()
        deadline = time.time() + 30
        while x and x["pid"] != second and time.time() < deadline:
            time.sleep(0.2)
            x = entry()
        check(x and x["pid"] == second and x["comm"] == "sleep",
              "when that process exits the name %s stays, another process represents it: %r" % (name, x))
    finally:
        p.kill()
        p.wait()
        if second:
            subprocess.run(["kill", str(second)], capture_output=True)


def browser_check(d, names, want):
    """The page's namespace selector, in chromium: each namespace's CLOSE_WAIT on the card."""
    try:
        import it_dashboard
    except ImportError as e:
        check(False, "it_dashboard helpers: %s" % e)
        return
    if not it_dashboard.tools_ready():
        return
    env = dict(os.environ, LINGERD_URL=d.base, NETNS=",".join(names),
               CHROMIUM=it_dashboard.chromium_path(), ARTIFACTS=it_dashboard.artifacts_dir())
    p = subprocess.run(["node", os.path.join(it_dashboard.NODE_DIR, "netns.mjs")], capture_output=True,
                       text=True, env=env, timeout=90, cwd=it_dashboard.NODE_DIR)
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if not check(p.returncode == 0 and lines, "netns.mjs ran (rc %d): %s" % (p.returncode, p.stderr[-1500:])):
        return
    res = json.loads(lines[-1])
    if not check("fatal" not in res, "browser: %s" % res.get("fatal")):
        return
    # /healthz says 503 while the sampler lags (every namespace of a busy host is dumped under
    # the sanitizers): the page shows that, and it is no error of the page's.  Anything else is.
    stalled = [u for u in res["bad_responses"] if u.startswith("503 ") and u.endswith("/healthz")]
    console = list(res["console_errors"])
    for _ in stalled:
        msg = "Failed to load resource: the server responded with a status of 503 (Service Unavailable)"
        if msg in console:
            console.remove(msg)
    if stalled:
        print("note: /healthz answered 503 %d times during the browser run" % len(stalled))
    check_eq(console, [], "page console errors")
    check_eq(res["page_errors"], [], "uncaught page errors")
    check_eq(res["csp_violations"], [], "CSP violations")
    check_eq([u for u in res["bad_responses"] if u not in stalled], [], "failed or 4xx/5xx requests")

    def step(name):
        s = res["steps"].get(name)
        return s if check(s and s.get("ok"), "browser step %s: %s" % (name, s and s.get("error"))) else None

    s = step("load")
    if s:
        check(not s["disabled"], "the namespace selector is enabled with --netns all")
        check_eq(s["value"], "", "the page starts on lingerd's own namespace")
        check(all(n in s["options"] for n in names), "the selector lists %s: %r" % (names, s["options"]))
        check_eq(s["self"]["card"], s["self"]["api"], "own namespace: CLOSE_WAIT card is /snapshot's")
    cards = []
    for n in names:
        s = step("switch:" + n)
        if not s:
            continue
        cards.append(s["card"])
        check_eq(s["card"], want[n].get("CLOSE_WAIT", 0), "switched to %s: the CLOSE_WAIT card is ss -N %s's" % (n, n))
        check("netns=" + urllib.parse.quote(n) in s["hash"], "the choice is kept in the URL: %r" % s["hash"])
        check_eq(s["endpoints"], ["findings", "lingering", "snapshot", "sockets", "trends"],
                 "every panel reloads for %s" % n)
        check_eq(s["unscoped"], [], "every API call after the switch carries netns=%s" % n)
        check(s["split_disabled"], "split by process/port is off while a namespace is shown")
    check_eq(len(set(cards)), len(names), "the card changes with the namespace: %r" % cards)
    s = step("layout")
    if s:
        check(s["scroll_width"] <= s["client_width"], "with the selector nothing overflows sideways (%d > %d)"
              % (s["scroll_width"], s["client_width"]))
    s = step("reload")
    if s:
        check_eq(s["value"], names[-1], "a reload keeps the namespace")
        check_eq(s["card"], want[names[-1]].get("CLOSE_WAIT", 0), "and its CLOSE_WAIT count")
    s = step("back_to_self")
    if s:
        check("netns=" not in s["hash"], "back on the own namespace the URL has no netns: %r" % s["hash"])
        check(not s["split_disabled"], "split is back")
        check_eq(s["card"], s["api"], "own namespace's CLOSE_WAIT on the card again")


def main():
    names = ["lingerd-t%d-%s" % (os.getpid(), x) for x in "abc"]
    made, labs = [], []
    probe = subprocess.run(["ip", "netns", "add", names[0]], capture_output=True, text=True)
    if probe.returncode != 0:
        skip("cannot create named network namespaces here: %s" % probe.stderr.strip())
        print("0 passed, 0 failed")
        return
    made.append(names[0])
    d = None
    try:
        for n in names[1:]:
            subprocess.run(["ip", "netns", "add", n], check=True)
            made.append(n)
        for i, n in enumerate(names):
            subprocess.run(["ip", "netns", "exec", n, "ip", "link", "set", "lo", "up"], check=True)
            p = subprocess.Popen(["ip", "netns", "exec", n, BIN, "lab", "--count", str(i + 1), "--port", "0"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            p.stdout.readline()  # the lab's report: every socket is in place
            labs.append(p)
        # The last namespace gets a port range of its own, 50 ports, and 45 of them in TIME_WAIT
        # towards one destination: its sysctls, counters and findings are its own.
        tw_port = make_time_waits(names[2], TW_RANGE, TW_COUNT)
        d = Daemon("--interval", str(INTERVAL), "--netns", "all", "--persist-after", "0", "--metrics-netns")
        started = time.time()
        # Every namespace of the host is dumped: on a busy machine a snapshot takes a while.
        d.wait_snapshots(2, timeout=90)
        first_minute = int(started) // 60 * 60
        listing = d.json("/api/v1/netns")["namespaces"]
        by_name = {x["name"]: x for x in listing}
        check_eq(listing[0]["name"], "self", "own namespace listed first")
        for n in names:
            check(n in by_name, "namespace %s is listed by its file name" % n)
            if n not in by_name:
                continue
            x = by_name[n]
            check_eq(x["kind"], "named", "%s kind" % n)
            check_eq(x["error"], None, "%s dumped without error" % n)
            want = ss_counts(n)
            check_eq(nonzero(x["counts"]), want, "%s counts equal ss -N %s" % (n, n))
            snap = d.json("/api/v1/snapshot?netns=%s" % n)
            check_eq(nonzero(snap["counts"]), want, "snapshot?netns=%s equals ss" % n)
            check_eq(snap["netns"], n, "snapshot names its namespace")
            socks = d.json("/api/v1/sockets?netns=%s&limit=10000" % n)["sockets"]
            check_eq(len(socks), sum(want.values()), "sockets?netns=%s lists them all" % n)
            check(all(s["netns"] == n for s in socks), "sockets carry their namespace")
            leak = d.json("/api/v1/lingering?group_by=process&states=CLOSE_WAIT&netns=%s" % n)["groups"]
            check(any(g.get("comm") == "lab-leaker" for g in leak),
                  "process attribution inside %s finds lab-leaker" % n)
            f = d.json("/api/v1/findings?min_age=0&netns=%s" % n)["findings"]
            check(any(x["id"].startswith("close_wait_leak/") and x["subject"].get("comm") == "lab-leaker"
                      for x in f), "findings per namespace: the leak in %s" % n)
        # Per-namespace series, opted in, agree with the JSON.
        _, _, metrics = d.get("/metrics")
        text = metrics.decode()
        for n in names:
            want = ss_counts(n)
            got = {}
            for line in text.splitlines():
                if line.startswith('lingerd_netns_tcp_sockets{netns="%s",' % n):
                    st = line.split('state="')[1].split('"')[0]
                    got[st] = int(line.rsplit(" ", 1)[1])
            check_eq({k: v for k, v in got.items() if v},
                     {k.lower().replace("_wait_", "_wait").replace("fin_wait_", "fin_wait"): v
                      for k, v in want.items()}, "metrics for %s" % n)
        # The own namespace's view is not polluted by the others.
        self_total = d.json("/api/v1/snapshot")["total"]
        all_total = d.json("/api/v1/snapshot?netns=all")["total"]
        check(all_total >= self_total + sum(sum(ss_counts(n).values()) for n in names) - 2,
              "netns=all adds the namespaces (%d vs %d)" % (all_total, self_total))
        check_namespace_kernel(d, names[2], tw_port)
        check_process_named(d)
        st, _, body = d.get("/api/v1/snapshot?netns=no-such-namespace")
        check_eq(st, 404, "an unknown namespace is a 404")
        ns_id = by_name.get(names[0], {}).get("id")

        # Trends per namespace.  The labs hold their CLOSE_WAIT and LISTEN sockets all along.
        want = {n: ss_counts(n) for n in names}
        # A state none of the labs holds: its minute rollups have no rows, and must read as 0.
        zero_state = next((st for st in ("CLOSED", "CLOSING", "SYN_RECV", "LAST_ACK", "FIN_WAIT_1")
                           if all(not want[n].get(st) for n in names)), None)
        check(zero_state, "some state is empty in every lab: %r" % want)
        zero_state = zero_state or "CLOSED"
        # A window of several seconds, all of it with the labs in place.
        if time.time() < started + 10:
            time.sleep(started + 10 - time.time())
        t_to = int(time.time()) - 1
        t_from = max(int(started) + 2, t_to - 20)
        for n in names:
            check_raw_trend(d, n, want[n], zero_state, t_from, t_to)
        # The own namespace keeps its own series: not one of the namespaces'.
        own = d.json("/api/v1/trends?states=CLOSE_WAIT&resolution=raw&step=1&from=%d&to=%d" % (t_from, t_to))
        check_eq(own["netns"], "self", "trends without netns= are lingerd's own")
        if ns_id:
            tr = d.json("/api/v1/trends?netns=%d&states=CLOSE_WAIT&resolution=raw&step=1&from=%d&to=%d"
                        % (ns_id, t_from, t_to))
            check_eq(tr["netns"], names[0], "a namespace id is answered under its name")
        for q, param, status in (("netns=all", "netns", 400), ("netns=", "netns", 400),
                                 ("netns=%s&by=process" % names[1], "by", 400),
                                 ("netns=never-was-%d" % os.getpid(), "netns", 404)):
            st, _, body = d.get("/api/v1/trends?" + q)
            check(st == status and body["error"]["parameter"] == param,
                  "trends?%s is a %d naming %s (%d %r)" % (q, status, param, st, body.get("error")))
        st, _, body = d.get("/api/v1/trends?netns=self&by=process&from=-5m")
        check_eq(st, 200, "by= works with netns=self")

        # The first minute is rolled up once a snapshot falls in the next one.
        wait = first_minute + 60 + 3 * INTERVAL - time.time()
        if wait > 0:
            time.sleep(wait)
        d.wait_snapshots(2, timeout=90)
        for n in names:
            check_minute_trend(d, n, want[n], zero_state, first_minute)

        browser_check(d, names[1:], want)

        # Delete one namespace mid-run: it disappears, its history stays.
        labs[0].terminate()
        labs[0].wait(15)
        subprocess.run(["ip", "netns", "del", names[0]], check=True)
        made.remove(names[0])
        gone = False
        for _ in range(40):
            if names[0] not in {x["name"] for x in d.json("/api/v1/netns")["namespaces"]}:
                gone = True
                break
            time.sleep(0.25)
        t_gone = time.time()
        check(gone, "a deleted namespace disappears")
        d.wait_snapshots(2, timeout=90)
        check_eq(d.get("/healthz")[2]["db"], "ok", "still recording after the deletion")
        c = sqlite3.connect(d.db)
        rows = c.execute("select count(*), sum(last_seen is null) from sockets where netns = ?",
                         (ns_id,)).fetchone() if ns_id else (0, 0)
        c.close()
        check(rows[0] > 0, "its sockets' history is kept (%d rows)" % rows[0])
        check_eq(rows[1], 0, "and every one of them has ended")
        # Its counts over time are still served, by name, though it is followed no more.
        st, _, body = d.get("/api/v1/snapshot?netns=%s" % names[0])
        check_eq(st, 404, "the deleted namespace has no snapshot any more")
        check_raw_trend(d, names[0], want[names[0]], zero_state, t_from, t_to)
        check_minute_trend(d, names[0], want[names[0]], zero_state, first_minute)
        tr, got = trend(d, names[0], ["CLOSE_WAIT"], "raw", 1, int(t_gone) + 1, int(time.time()) + 1)
        check_eq(got.get("CLOSE_WAIT", {}), {}, "and no points after it vanished")
    finally:
        for p in labs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
        if d:
            d.close()
        for n in made:
            subprocess.run(["ip", "netns", "del", n])
    done()


main()
