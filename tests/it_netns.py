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
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lingerd_test import DaemonCase, LabProc, count_by_state, main, poll, ss_rows  # noqa: E402

# States the lab holds for as long as it runs (TIME_WAIT and FIN_WAIT_2 expire on their own).
STEADY = ["CLOSE_WAIT", "LISTEN"]
INTERVAL = 0.5


def ss_counts(ns):
    return count_by_state(ss_rows(netns=ns))


def nonzero(c):
    return {k: v for k, v in c.items() if v}


def trend(d, ns, states, resolution, step, t_from, t_to):
    """trends?netns=ns as {state: {t: (mean, max)}}, and the answer itself."""
    tr = d.json("/api/v1/trends?netns=%s&states=%s&resolution=%s&step=%d&from=%d&to=%d"
                % (urllib.parse.quote(ns, safe=""), ",".join(states), resolution, step, t_from, t_to))
    return tr, {s["state"]: {p[0]: (p[1], p[2]) for p in s["points"]} for s in tr["series"]}


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


class Namespaces(DaemonCase):
    """Three named namespaces, each with a lab (1, 2 and 3 sets of sockets); the last also with
    a port range of its own and 45 TIME_WAITs towards one destination.  One daemon follows them
    all; the last test deletes the first namespace."""

    daemon_args = ("--interval", str(INTERVAL), "--netns", "all", "--persist-after", "0",
                   "--metrics-netns")
    first_snapshots = 0

    @classmethod
    def setUpClass(cls):
        cls.names = names = ["lingerd-t%d-%s" % (os.getpid(), x) for x in "abc"]
        cls.made = []
        probe = subprocess.run(["ip", "netns", "add", names[0]], capture_output=True, text=True)
        if probe.returncode != 0:
            raise unittest.SkipTest("cannot create named network namespaces here: %s"
                                    % probe.stderr.strip())
        cls.made.append(names[0])
        cls.addClassCleanup(lambda: [subprocess.run(["ip", "netns", "del", n]) for n in cls.made])
        cls.labs = []
        cls.addClassCleanup(lambda: [lab.stop() for lab in cls.labs])
        for n in names[1:]:
            subprocess.run(["ip", "netns", "add", n], check=True)
            cls.made.append(n)
        for i, n in enumerate(names):
            subprocess.run(["ip", "netns", "exec", n, "ip", "link", "set", "lo", "up"], check=True)
            # Its report says every socket is in place.
            cls.labs.append(LabProc("--count", str(i + 1), "--port", "0",
                                    prefix=["ip", "netns", "exec", n]))
        # The last namespace gets a port range of its own, 50 ports, and 45 of them in TIME_WAIT
        # towards one destination: its sysctls, counters and findings are its own.
        cls.tw_port = make_time_waits(names[2], TW_RANGE, TW_COUNT)
        super().setUpClass()
        cls.started = time.time()
        # Every namespace of the host is dumped: on a busy machine a snapshot takes a while.
        cls.d.wait_snapshots(2, timeout=90)
        cls.first_minute = int(cls.started) // 60 * 60
        cls.listing = cls.d.json("/api/v1/netns")["namespaces"]
        cls.by_name = {x["name"]: x for x in cls.listing}
        cls.ns_id = cls.by_name.get(names[0], {}).get("id")
        cls.window = None

    @classmethod
    def trend_window(cls):
        """The namespaces' steady counts, a state none of the labs holds, and a window of
        several seconds all of it with the labs in place, for the trend tests."""
        if cls.window:
            return cls.window
        want = {n: ss_counts(n) for n in cls.names}
        # A state none of the labs holds: its minute rollups have no rows, and must read as 0.
        zero_state = next((st for st in ("CLOSED", "CLOSING", "SYN_RECV", "LAST_ACK", "FIN_WAIT_1")
                           if all(not want[n].get(st) for n in cls.names)), None)
        if time.time() < cls.started + 10:
            time.sleep(cls.started + 10 - time.time())
        t_to = int(time.time()) - 1
        t_from = max(int(cls.started) + 2, t_to - 20)
        # The sampler publishes before it writes: on a slow run (ThreadSanitizer, every
        # namespace of a busy host) the history of the window may still be on its way.
        poll(lambda: all(len(trend(cls.d, n, ["CLOSE_WAIT"], "raw", 1, t_from, t_to)[1]
                             .get("CLOSE_WAIT", {})) >= min(3, t_to - t_from) for n in cls.names),
             60, 0.5)
        cls.window = want, zero_state, t_from, t_to
        return cls.window

    def test_listing(self):
        d = self.d
        self.assertEqual(self.listing[0]["name"], "self", "own namespace listed first")
        for n in self.names:
            with self.subTest(netns=n):
                self.assertTrue(n in self.by_name, "namespace %s is listed by its file name" % n)
                x = self.by_name[n]
                self.assertEqual(x["kind"], "named", "%s kind" % n)
                self.assertEqual(x["error"], None, "%s dumped without error" % n)
                want = ss_counts(n)
                self.assertEqual(nonzero(x["counts"]), want, "%s counts equal ss -N %s" % (n, n))
                snap = d.json("/api/v1/snapshot?netns=%s" % n)
                self.assertEqual(nonzero(snap["counts"]), want, "snapshot?netns=%s equals ss" % n)
                self.assertEqual(snap["netns"], n, "snapshot names its namespace")
                socks = d.json("/api/v1/sockets?netns=%s&limit=10000" % n)["sockets"]
                self.assertEqual(len(socks), sum(want.values()), "sockets?netns=%s lists them all" % n)
                self.assertTrue(all(s["netns"] == n for s in socks), "sockets carry their namespace")
                leak = d.json("/api/v1/lingering?group_by=process&states=CLOSE_WAIT&netns=%s" % n)["groups"]
                self.assertTrue(any(g.get("comm") == "lab-leaker" for g in leak),
                                "process attribution inside %s finds lab-leaker" % n)
                f = d.json("/api/v1/findings?min_age=0&netns=%s" % n)["findings"]
                self.assertTrue(any(x["id"].startswith("close_wait_leak/") and x["subject"].get("comm") == "lab-leaker"
                                    for x in f), "findings per namespace: the leak in %s" % n)

    def test_metrics_per_namespace(self):
        """Per-namespace series, opted in, agree with ss."""
        _, _, metrics = self.d.get("/metrics")
        text = metrics.decode()
        for n in self.names:
            want = ss_counts(n)
            got = {}
            for line in text.splitlines():
                if line.startswith('lingerd_netns_tcp_sockets{netns="%s",' % n):
                    st = line.split('state="')[1].split('"')[0]
                    got[st] = int(line.rsplit(" ", 1)[1])
            with self.subTest(netns=n):
                self.assertEqual({k: v for k, v in got.items() if v},
                                 {k.lower().replace("_wait_", "_wait").replace("fin_wait_", "fin_wait"): v
                                  for k, v in want.items()}, "metrics for %s" % n)

    def test_own_view_apart(self):
        """The own namespace's view is not polluted by the others; netns=all adds them."""
        self_total = self.d.json("/api/v1/snapshot")["total"]
        all_total = self.d.json("/api/v1/snapshot?netns=all")["total"]
        self.assertTrue(all_total >= self_total + sum(sum(ss_counts(n).values()) for n in self.names) - 2,
                        "netns=all adds the namespaces (%d vs %d)" % (all_total, self_total))

    def test_namespace_kernel(self):
        self.check_namespace_kernel(self.names[2], self.tw_port)

    def test_process_named(self):
        self.check_process_named()

    def test_unknown_namespace(self):
        st, _, body = self.d.get("/api/v1/snapshot?netns=no-such-namespace")
        self.assertEqual(st, 404, "an unknown namespace is a 404")

    def test_raw_trends(self):
        """Trends per namespace.  The labs hold their CLOSE_WAIT and LISTEN sockets all along."""
        want, zero_state, t_from, t_to = self.trend_window()
        self.assertTrue(zero_state, "some state is empty in every lab: %r" % want)
        for n in self.names:
            self.check_raw_trend(n, want[n], zero_state, t_from, t_to)
        # The own namespace keeps its own series: not one of the namespaces'.
        own = self.d.json("/api/v1/trends?states=CLOSE_WAIT&resolution=raw&step=1&from=%d&to=%d"
                          % (t_from, t_to))
        self.assertEqual(own["netns"], "self", "trends without netns= are lingerd's own")
        if self.ns_id:
            tr = self.d.json("/api/v1/trends?netns=%d&states=CLOSE_WAIT&resolution=raw&step=1&from=%d&to=%d"
                             % (self.ns_id, t_from, t_to))
            self.assertEqual(tr["netns"], self.names[0], "a namespace id is answered under its name")

    def test_trend_parameters(self):
        for q, param, status in (("netns=all", "netns", 400), ("netns=", "netns", 400),
                                 ("netns=%s&by=process" % self.names[1], "by", 400),
                                 ("netns=never-was-%d" % os.getpid(), "netns", 404)):
            with self.subTest(query=q):
                st, _, body = self.d.get("/api/v1/trends?" + q)
                self.assertTrue(st == status and body["error"]["parameter"] == param,
                                "trends?%s is a %d naming %s (%d %r)" % (q, status, param, st, body.get("error")))
        st, _, body = self.d.get("/api/v1/trends?netns=self&by=process&from=-5m")
        self.assertEqual(st, 200, "by= works with netns=self")

    def test_minute_trends(self):
        """The first minute is rolled up once a snapshot falls in the next one."""
        want, zero_state, _, _ = self.trend_window()
        wait = self.first_minute + 60 + 3 * INTERVAL - time.time()
        if wait > 0:
            time.sleep(wait)
        self.d.wait_snapshots(2, timeout=90)
        for n in self.names:
            self.check_minute_trend(n, want[n], zero_state or "CLOSED", self.first_minute)

    def test_page_namespace_selector(self):
        want, _, _, _ = self.trend_window()
        self.browser_check(self.names[1:], want)

    def test_deleted_namespace(self):
        """Delete one namespace mid-run: it disappears, its history stays."""
        d, names = self.d, self.names
        want, zero_state, t_from, t_to = self.trend_window()
        zero_state = zero_state or "CLOSED"
        self.labs[0].stop()
        subprocess.run(["ip", "netns", "del", names[0]], check=True)
        self.made.remove(names[0])
        gone = poll(lambda: names[0] not in {x["name"] for x in d.json("/api/v1/netns")["namespaces"]},
                    10, 0.25)
        t_gone = time.time()
        self.assertTrue(gone, "a deleted namespace disappears")
        d.wait_snapshots(2, timeout=90)
        self.assertEqual(d.get("/healthz")[2]["db"], "ok", "still recording after the deletion")
        c = sqlite3.connect(d.db)
        rows = c.execute("select count(*), sum(last_seen is null) from sockets where netns = ?",
                         (self.ns_id,)).fetchone() if self.ns_id else (0, 0)
        c.close()
        self.assertTrue(rows[0] > 0, "its sockets' history is kept (%d rows)" % rows[0])
        self.assertEqual(rows[1], 0, "and every one of them has ended")
        # Its counts over time are still served, by name, though it is followed no more.
        st, _, body = d.get("/api/v1/snapshot?netns=%s" % names[0])
        self.assertEqual(st, 404, "the deleted namespace has no snapshot any more")
        self.check_raw_trend(names[0], want[names[0]], zero_state, t_from, t_to)
        self.check_minute_trend(names[0], want[names[0]], zero_state, self.first_minute)
        # from must be earlier than to, even when all of the above took less than a second.
        tr, got = trend(d, names[0], ["CLOSE_WAIT"], "raw", 1, int(t_gone) + 1,
                        max(int(time.time()) + 1, int(t_gone) + 2))
        self.assertEqual(got.get("CLOSE_WAIT", {}), {}, "and no points after it vanished")

    def check_raw_trend(self, ns, want, zero_state, t_from, t_to):
        """Every 1-second raw bucket of [t_from, t_to] holds the namespace's steady counts exactly."""
        d = self.d
        tr, got = trend(d, ns, STEADY + [zero_state], "raw", 1, t_from, t_to)
        self.assertEqual((tr["resolution"], tr["netns"]), ("raw", ns), "trends?netns=%s answers raw for it" % ns)
        buckets = 0
        for st in STEADY + [zero_state]:
            pts = got.get(st, {})
            buckets = max(buckets, len(pts))
            bad = {t: v for t, v in pts.items() if v != (want.get(st, 0), want.get(st, 0))}
            with self.subTest(netns=ns, state=st, resolution="raw"):
                self.assertEqual(bad, {}, "raw %s of %s: every bucket is %d" % (st, ns, want.get(st, 0)))
                self.assertTrue(len(pts) >= min(3, t_to - t_from), "raw %s of %s has points in %d..%d (%d buckets)"
                                % (st, ns, t_from, t_to, len(pts)))
            print("trends?netns=%s raw %s: %d buckets, each (mean, max) = %r"
                  % (ns, st, len(pts), sorted(set(pts.values()))))
        return buckets

    def check_minute_trend(self, ns, want, zero_state, minute):
        """The first minute the daemon saw: the namespace was there, steady, in every snapshot of it."""
        d = self.d
        tr, got = trend(d, ns, STEADY + [zero_state], "minute", 60, minute, minute + 59)
        self.assertEqual(tr["resolution"], "minute", "minute resolution for %s" % ns)
        for st in STEADY + [zero_state]:
            with self.subTest(netns=ns, state=st, resolution="minute"):
                self.assertEqual(got.get(st), {minute: (want.get(st, 0), want.get(st, 0))},
                                 "minute rollup %s of %s at %d" % (st, ns, minute))
            print("trends?netns=%s minute %s: %r" % (ns, st, got.get(st)))

    def check_namespace_kernel(self, ns, tw_port):
        """/api/v1/system and the kernel findings of one namespace are that namespace's own."""
        d = self.d
        def setting(body, name):
            return {x["name"]: x["value"] for x in body["settings"]}.get(name)

        def counter(body, name):
            return {x["name"]: x["value"] for x in body["counters"]}.get(name)

        mine = d.json("/api/v1/system?netns=%s" % ns)
        own = d.json("/api/v1/system")
        self.assertEqual(mine["netns"], ns, "system?netns= names its namespace")
        self.assertEqual((setting(mine, "ip_local_port_range_low"), setting(mine, "ip_local_port_range_high")),
                 TW_RANGE, "system?netns=%s: its own ip_local_port_range" % ns)
        self.assertTrue(setting(own, "ip_local_port_range_low") != TW_RANGE[0],
              "the own namespace keeps its range: %r" % setting(own, "ip_local_port_range_low"))
        opens = counter(mine, "ActiveOpens")
        self.assertTrue(opens is not None and TW_COUNT <= opens < 10000,
              "system?netns=%s: its own Tcp ActiveOpens (%r)" % (ns, opens))
        gauges = {x["name"]: x["value"] for x in mine["gauges"]}
        self.assertTrue(gauges.get("tw", 0) >= TW_COUNT, "its sockstat tw counts its TIME_WAITs: %r" % gauges.get("tw"))
        print("system?netns=%s: ip_local_port_range %r, ActiveOpens %r, tw %r"
              % (ns, TW_RANGE, opens, gauges.get("tw")))
        f = d.json("/api/v1/findings?min_age=0&netns=%s" % ns)["findings"]
        fid = "time_wait_pressure/%s/127.0.0.1>127.0.0.1:%d" % (ns, tw_port)
        hit = [x for x in f if x["id"] == fid]
        self.assertTrue(len(hit) == 1, "findings?netns=%s: TIME_WAIT pressure against its own range (%r)"
              % (ns, [x["id"] for x in f]))
        if hit:
            ev = hit[0]["evidence"]
            self.assertEqual((ev["ports_available"], ev["time_wait"], hit[0]["severity"], hit[0]["subject"].get("netns")),
                     (TW_RANGE[1] - TW_RANGE[0] + 1, TW_COUNT, "critical", ns), "the finding's evidence")
            print("finding %s: %s" % (fid, hit[0]["title"]))
        own_f = d.json("/api/v1/findings?min_age=0")["findings"]
        self.assertTrue(not any(x["id"].startswith("time_wait_pressure/%s/" % ns) for x in own_f),
              "the own namespace's findings do not carry it")
        st, _, body = d.get("/api/v1/system?netns=all")
        self.assertTrue(st == 400 and body["error"]["parameter"] == "netns", "system?netns=all is a 400 naming netns")

    def check_process_named(self):
        """A namespace known only through its processes is named after the first one found, and
        keeps that name when the process exits: history and labels are keyed by it."""
        d = self.d
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
            self.assertTrue(x and x["kind"] == "process" and x["pid"] == p.pid,
                  "a namespace of processes is named after the first: %r" % x)
            p.kill()
            p.wait()
            deadline = time.time() + 30
            while x and x["pid"] != second and time.time() < deadline:
                time.sleep(0.2)
                x = entry()
            self.assertTrue(x and x["pid"] == second and x["comm"] == "sleep",
                  "when that process exits the name %s stays, another process represents it: %r" % (name, x))
        finally:
            p.kill()
            p.wait()
            if second:
                subprocess.run(["kill", str(second)], capture_output=True)

    def browser_check(self, names, want):
        """The page's namespace selector, in chromium: each namespace's CLOSE_WAIT on the card."""
        d = self.d
        try:
            import it_dashboard
        except ImportError as e:
            self.assertTrue(False, "it_dashboard helpers: %s" % e)
        problem = it_dashboard.tools_problem()
        self.assertEqual(problem, "", "the browser tools")
        env = dict(os.environ, LINGERD_URL=d.base, NETNS=",".join(names),
                   CHROMIUM=it_dashboard.chromium_path(), ARTIFACTS=it_dashboard.artifacts_dir())
        p = subprocess.run(["node", os.path.join(it_dashboard.NODE_DIR, "netns.mjs")], capture_output=True,
                           text=True, env=env, timeout=90, cwd=it_dashboard.NODE_DIR)
        lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
        self.assertTrue(p.returncode == 0 and lines, "netns.mjs ran (rc %d): %s" % (p.returncode, p.stderr[-1500:]))
        res = json.loads(lines[-1])
        self.assertTrue("fatal" not in res, "browser: %s" % res.get("fatal"))
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
        self.assertEqual(console, [], "page console errors")
        self.assertEqual(res["page_errors"], [], "uncaught page errors")
        self.assertEqual(res["csp_violations"], [], "CSP violations")
        self.assertEqual([u for u in res["bad_responses"] if u not in stalled], [], "failed or 4xx/5xx requests")

        def step(name):
            s = res["steps"].get(name)
            with self.subTest(step=name):
                self.assertTrue(s and s.get("ok"), "browser step %s: %s" % (name, s and s.get("error")))
            return s if s and s.get("ok") else None

        s = step("load")
        if s:
            self.assertTrue(not s["disabled"], "the namespace selector is enabled with --netns all")
            self.assertEqual(s["value"], "", "the page starts on lingerd's own namespace")
            self.assertTrue(all(n in s["options"] for n in names), "the selector lists %s: %r" % (names, s["options"]))
            self.assertEqual(s["self"]["card"], s["self"]["api"], "own namespace: CLOSE_WAIT card is /snapshot's")
        cards = []
        for n in names:
            s = step("switch:" + n)
            if not s:
                continue
            cards.append(s["card"])
            self.assertEqual(s["card"], want[n].get("CLOSE_WAIT", 0), "switched to %s: the CLOSE_WAIT card is ss -N %s's" % (n, n))
            self.assertTrue("netns=" + urllib.parse.quote(n) in s["hash"], "the choice is kept in the URL: %r" % s["hash"])
            self.assertEqual(s["endpoints"], ["findings", "lingering", "snapshot", "sockets", "trends"],
                     "every panel reloads for %s" % n)
            self.assertEqual(s["unscoped"], [], "every API call after the switch carries netns=%s" % n)
            self.assertTrue(s["split_disabled"], "split by process/port is off while a namespace is shown")
        self.assertEqual(len(set(cards)), len(names), "the card changes with the namespace: %r" % cards)
        s = step("layout")
        if s:
            self.assertTrue(s["scroll_width"] <= s["client_width"], "with the selector nothing overflows sideways (%d > %d)"
                  % (s["scroll_width"], s["client_width"]))
        s = step("reload")
        if s:
            self.assertEqual(s["value"], names[-1], "a reload keeps the namespace")
            self.assertEqual(s["card"], want[names[-1]].get("CLOSE_WAIT", 0), "and its CLOSE_WAIT count")
        s = step("back_to_self")
        if s:
            self.assertTrue("netns=" not in s["hash"], "back on the own namespace the URL has no netns: %r" % s["hash"])
            self.assertTrue(not s["split_disabled"], "split is back")
            self.assertEqual(s["card"], s["api"], "own namespace's CLOSE_WAIT on the card again")


if __name__ == "__main__":
    main()
