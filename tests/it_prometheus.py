"""Prometheus integration: /metrics linted by promtool, scraped by a real Prometheus server,
bounded in cardinality; the alert rules unit-tested; the Grafana dashboard's queries run.

Scenarios, inside a private network namespace (unshare -n) so every count is exact:
- 100 sockets, then 20,000 (TIME_WAIT, which hold no file descriptor): the scrape has the
  same series either way, for lingerd's parser and for Prometheus (scrape_samples_scraped);
  promtool check metrics is clean on both. ip_local_port_range is narrowed so that 20,000
  TIME_WAITs put LingerdTimeWaitNearPortRange into pending for real.
- `lingerd lab` holds CLOSE_WAIT sockets: sum(lingerd_tcp_sockets{state="close_wait"}) through
  Prometheus' HTTP API equals the lab's count, to the socket.
- The database locked: the sampler goes on, LingerdDatabaseFailing goes pending (LingerdStale
  stays quiet), /metrics still answers.
- Every query of contrib/grafana/lingerd.json runs against that Prometheus and returns data;
  every metric name it or contrib/prometheus/alerts.yml uses is one lingerd exports.
On the host: promtool check rules and promtool test rules for contrib/prometheus."""
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import http.client
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import lingerd_test  # noqa: E402
from lingerd_test import BIN, DaemonCase, Http, LabProc, TestCase, main  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
ALERTS = os.path.join(ROOT, "contrib", "prometheus", "alerts.yml")
ALERTS_TEST = os.path.join(ROOT, "contrib", "prometheus", "alerts_test.yml")
DASHBOARD = os.path.join(ROOT, "contrib", "grafana", "lingerd.json")
MANY = 20000
FEW_PAIRS = 48              # 96 sockets, plus lingerd's and Prometheus' own: about 100
PORT_RANGE = (32768, 50767)  # 18,000 ports: 20,000 TIME_WAITs are past 80% of it
NETNS_TIMEOUT = 110
PROM_START_TIMEOUT = 20
# Series Prometheus makes for every target; the dashboard may use up.
PROMETHEUS_SERIES = {"up", "scrape_samples_scraped", "scrape_duration_seconds",
                     "scrape_series_added", "scrape_samples_post_metric_relabeling"}
PROMQL_WORDS = {"sum", "by", "without", "rate", "irate", "increase", "delta", "deriv", "max",
                "min", "avg", "count", "time", "and", "or", "unless", "on", "ignoring",
                "group_left", "group_right", "offset", "bool", "absent", "sort_desc", "sort",
                "topk", "bottomk", "label_values", "humanize", "humanizeDuration", "vector",
                "scalar", "clamp_min", "clamp_max", "histogram_quantile", "max_over_time",
                "min_over_time", "avg_over_time", "abs", "round", "ceil", "floor", "quantile"}


def run(cmd, timeout=60, stdin=None):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=stdin)
    return p.returncode, (p.stdout + p.stderr).strip()


# What is found changes with what the host does; its series are bounded apart (top-K), not
# fixed, so the cardinality checks leave them out.
FINDING_SERIES = "lingerd_finding_active{"
# Every series lingerd serves as Prometheus holds it now: findings aside, and what Prometheus
# makes itself under the job's label (up, scrape_*, alerts and the recording rules' series).
STEADY_COUNT = ('count({job="lingerd",__name__!="lingerd_finding_active",'
                '__name__!~"up|scrape_.+|ALERTS.*|lingerd:.+"})')


def series_of(text):
    """The sample lines of an exposition, without their values (findings' series aside)."""
    out = []
    for line in text.splitlines():
        if line and not line.startswith("#") and not line.startswith(FINDING_SERIES):
            out.append(line.rsplit(" ", 1)[0])
    return out


def metric_names(text):
    """Names with samples, and families declared with # TYPE: lingerd_finding_active has a
    sample only while a finding stands."""
    declared = {l.split()[2] for l in text.splitlines() if l.startswith("# TYPE ")}
    return {s.split("{", 1)[0] for s in series_of(text)} | declared


def exprs_names(expr):
    """Metric names a PromQL expression uses: identifiers outside label matchers, strings
    and by/without lists, that are not functions or keywords."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", "{}", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(r"\$\{?\w+\}?", " ", e)
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", e):
        w = m.group(0)
        if w in PROMQL_WORDS or re.fullmatch(r"\d+[smhdwy]", w):
            continue
        names.add(w)
    return names


def dashboard_targets(dash):
    for p in dash.get("panels", []):
        for t in p.get("targets", []):
            yield p, t
        for sub in p.get("panels", []):
            for t in sub.get("targets", []):
                yield sub, t


def alert_exprs():
    """(name, expr) of every rule in alerts.yml, read without a YAML library: the rules keep
    their expr as a folded block or a one-line scalar."""
    out = []
    name = None
    lines = open(ALERTS).read().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"\s*- (alert|record): (\S+)", line)
        if m:
            name = m.group(2)
        m = re.match(r"(\s*)expr: (.*)$", line)
        if m:
            indent, rest = len(m.group(1)), m.group(2)
            if rest.startswith(">") or rest.startswith("|"):
                body = []
                i += 1
                while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
                    body.append(lines[i].strip())
                    i += 1
                out.append((name, " ".join(b for b in body if b)))
                continue
            out.append((name, rest.strip()))
        i += 1
    return out


def check_rules(tc):
    """promtool on contrib/prometheus: the rules parse, and their unit tests pass."""
    rc, out = run(["promtool", "check", "rules", ALERTS])
    print("promtool check rules: " + out.replace("\n", " | "))
    tc.assertEqual(rc, 0, "promtool check rules %s" % ALERTS)
    m = re.search(r"SUCCESS: (\d+) rules found", out)
    tc.assertTrue(m is not None and int(m.group(1)) >= 10, "alerts.yml holds the rules (%s)" % out)
    rc, out = run(["promtool", "test", "rules", ALERTS_TEST], timeout=120)
    print("promtool test rules: " + out.replace("\n", " | ")[:2000])
    tc.assertEqual(rc, 0, "promtool test rules %s" % ALERTS_TEST)
    names = {n for n, _ in alert_exprs()}
    for want in ("LingerdCloseWaitLeak", "LingerdTimeWaitNearPortRange", "LingerdOrphansNearLimit",
                 "LingerdRstOnCloseSpike", "LingerdDown", "LingerdAbsent", "LingerdStale"):
        tc.assertTrue(want in names, "alerts.yml has %s" % want)
        tc.assertTrue(("alertname: " + want) in open(ALERTS_TEST).read(), "alerts_test.yml tests %s" % want)


def check_dashboard_shape(tc, dash):
    tc.assertEqual(dash.get("uid"), "lingerd-overview", "dashboard uid")
    variables = {v["name"]: v for v in dash.get("templating", {}).get("list", [])}
    inst = variables.get("instance", {})
    tc.assertTrue(inst.get("multi") is True and inst.get("includeAll") is True,
          "the instance variable is multi-select and includes All")
    tc.assertEqual(inst.get("allValue"), ".*", "All selects every instance")
    tc.assertTrue("lingerd_build_info" in json.dumps(inst.get("query")), "instances come from lingerd_build_info")
    tc.assertEqual(variables.get("datasource", {}).get("type"), "datasource", "a datasource variable")
    ids = [p["id"] for p in dash["panels"]]
    tc.assertEqual(len(ids), len(set(ids)), "panel ids are unique")
    targets = list(dashboard_targets(dash))
    tc.assertTrue(len(targets) >= 20, "the dashboard has its queries (%d)" % len(targets))
    for p, t in targets:
        tc.assertTrue('instance=~"$instance"' in t.get("expr", ""), "%s: %s follows the instance selector"
              % (p["title"], t.get("refId")))
        tc.assertEqual((p.get("datasource") or {}).get("uid"), "${datasource}", "%s uses $datasource" % p["title"])
    titles = " ".join(p["title"] for p in dash["panels"]).lower()
    for word in ("by state", "by owner", "oldest", "resets", "port range", "snapshot"):
        tc.assertTrue(word in titles, "a panel about %r" % word)


# ---- inside the namespace ---------------------------------------------------------------

class Prometheus:
    """A real Prometheus server on loopback with a temporary TSDB, scraping lingerd every 1 s
    and evaluating alerts.yml every 1 s."""

    def __init__(self, tmp, target_port):
        self.dir = os.path.join(tmp, "prometheus")
        os.makedirs(os.path.join(self.dir, "data"))
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        cfg = os.path.join(self.dir, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
                    "rule_files:\n  - %s\n"
                    "scrape_configs:\n  - job_name: lingerd\n    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % (ALERTS, target_port))
        self.log = open(os.path.join(self.dir, "log"), "wb")
        self.proc = subprocess.Popen(
            ["prometheus", "--config.file=" + cfg, "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
             "--web.listen-address=127.0.0.1:%d" % self.port, "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.base = "http://127.0.0.1:%d" % self.port
        self.http = Http(self.port)
        deadline = time.monotonic() + PROM_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(self.base + "/-/ready", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("prometheus did not become ready: " + self.logtext())

    def logtext(self):
        try:
            return open(os.path.join(self.dir, "log")).read()[-3000:]
        except OSError:
            return ""

    def query(self, q):
        """Instant query: (status, result list, error)."""
        _, _, raw = self.http.get("/api/v1/query?" + urllib.parse.urlencode({"query": q}))
        body = json.loads(raw or b"{}")
        return body.get("status"), body.get("data", {}).get("result", []), body.get("error")

    def value(self, q):
        st, res, _ = self.query(q)
        if st != "success" or not res:
            return None
        return float(res[0]["value"][1])

    def wait_value(self, q, pred, timeout):
        deadline = time.monotonic() + timeout
        v = None
        while time.monotonic() < deadline:
            v = self.value(q)
            if v is not None and pred(v):
                return v, True
            time.sleep(0.25)
        return v, False

    def alerts(self, name):
        st, res, _ = self.query('ALERTS{alertname="%s"}' % name)
        return res if st == "success" else []

    def stop(self):
        self.http.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def scrape(tc, c):
    status, hdrs, body = c.get("/metrics")
    tc.assertEqual(status, 200, "/metrics answers")
    tc.assertEqual(hdrs.get("Content-Type"), "text/plain; version=0.0.4; charset=utf-8", "exposition content type")
    return body.decode()


def promtool_metrics(tc, text, what):
    rc, out = run(["promtool", "check", "metrics"], stdin=text)
    print("promtool check metrics (%s): rc %d%s" % (what, rc, (": " + out) if out else ", clean"))
    tc.assertTrue(rc == 0 and out == "", "promtool check metrics is clean on %s: %s" % (what, out[:500]))


def hold_pairs(n):
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(256)
    held = [lst]
    for _ in range(n):
        c = socket.create_connection(lst.getsockname())
        s, _ = lst.accept()
        held += [c, s]
    return held


def make_time_waits(n, destinations=4):
    """n TIME_WAIT sockets on loopback: the client closes first, then the server, so the
    client's end waits out 2MSL with no file descriptor."""
    lsts = []
    for _ in range(destinations):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(4096)
        lsts.append(s)
    for i in range(n):
        lst = lsts[i % destinations]
        c = socket.socket()
        c.connect(lst.getsockname())
        s, _ = lst.accept()
        c.close()
        s.close()
    for s in lsts:
        s.close()


def snapshot_total(c):
    return c.json("/api/v1/snapshot")["total"]


def cardinality(tc, c, prom, exact):
    """The same series with 100 sockets and with 20,000."""
    held = hold_pairs(FEW_PAIRS)
    try:
        c.wait_snapshots(2)
        few_total = snapshot_total(c)
        text_few = scrape(tc, c)
        promtool_metrics(tc, text_few, "%d sockets" % few_total)
        few = series_of(text_few)
        tc.assertTrue(100 <= few_total < 130, "about 100 sockets in the namespace (%d)" % few_total)
        prom_few, ok = prom.wait_value('sum(lingerd_tcp_sockets{job="lingerd"})',
                                       lambda v: v >= 100 and v < 130, 15)
        tc.assertTrue(ok, "Prometheus scraped the 100-socket state (%s)" % prom_few)
        samples_few = prom.value(STEADY_COUNT)

        if not exact:
            tc.skipTest("20,000 sockets: only inside a private network namespace (unshare -n)")
        t0 = time.monotonic()
        make_time_waits(MANY)
        print("made %d TIME_WAIT sockets in %.1f s" % (MANY, time.monotonic() - t0))
        got = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            got = snapshot_total(c)
            if got >= MANY + few_total - 10:
                break
            time.sleep(0.2)
        tc.assertTrue(got >= MANY, "lingerd counts the 20,000 sockets (%s)" % got)
        text_many = scrape(tc, c)
        promtool_metrics(tc, text_many, "%d sockets" % got)
        many = series_of(text_many)
        print("series per scrape: %d with %d sockets, %d with %d sockets"
              % (len(few), few_total, len(many), got))
        tc.assertEqual(len(many), len(few), "the series count does not grow with sockets")
        tc.assertEqual(sorted(many), sorted(few), "the same series, label for label")
        prom_many, ok = prom.wait_value('sum(lingerd_tcp_sockets{job="lingerd"})', lambda v: v >= MANY, 15)
        tc.assertTrue(ok, "Prometheus scraped the 20,000-socket state (%s)" % prom_many)
        # Prometheus scrapes at its own moments, and a series can be born between two scrapes
        # (the tracer's first sight of a state change): compare a scrape of lingerd with what
        # Prometheus holds after its own next scrape, until they agree.
        deadline = time.monotonic() + 20
        while True:
            served = len(series_of(scrape(tc, c)))
            time.sleep(1.2)  # past Prometheus's next scrape (every second)
            samples_many = prom.value(STEADY_COUNT)
            if samples_many == float(served) or time.monotonic() > deadline:
                break
        print("Prometheus series (findings aside): %s at %s sockets, %s at %s sockets"
              % (samples_few, prom_few, samples_many, prom_many))
        findings = [ln for ln in text_many.splitlines() if ln.startswith(FINDING_SERIES)]
        tc.assertLessEqual(len(findings), 20, "findings' series stay within their bound")
        tc.assertEqual(samples_many, float(served), "Prometheus ingests every series lingerd serves")
        tc.assertLessEqual(abs(served - len(few)), 4,
                           "the series count does not grow with sockets (%d vs %d)"
                           % (served, len(few)))
        # The narrowed port range is what lingerd reports, and the alert sees the pressure.
        tc.assertEqual(prom.value('lingerd_sysctl_port_range_low{job="lingerd"}'), float(PORT_RANGE[0]),
                 "lingerd_sysctl_port_range_low is the namespace's")
        tc.assertEqual(prom.value('lingerd_sysctl_port_range_high{job="lingerd"}'), float(PORT_RANGE[1]),
                 "lingerd_sysctl_port_range_high is the namespace's")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not prom.alerts("LingerdTimeWaitNearPortRange"):
            time.sleep(0.25)
        a = prom.alerts("LingerdTimeWaitNearPortRange")
        tc.assertTrue(len(a) == 1 and a[0]["metric"].get("alertstate") in ("pending", "firing"),
              "LingerdTimeWaitNearPortRange is pending with 20,000 TIME_WAITs over %d ports: %s"
              % (PORT_RANGE[1] - PORT_RANGE[0] + 1, a))
    finally:
        for s in held:
            s.close()


def lab_close_wait(tc, c, prom, exact):
    """The lab's CLOSE_WAIT sockets, counted through Prometheus."""
    lab = LabProc("--count", "2", "--port", "0")
    try:
        want = lab.report["states"]["CLOSE_WAIT"]["count"]
        leak = sum(v["count"] for k, v in lab.report["states"]["CLOSE_WAIT"]["variants"].items()
                   if v["owner"] == "leaker")
        q = 'sum(lingerd_tcp_sockets{job="lingerd",state="close_wait"})'
        got, ok = prom.wait_value(q, (lambda v: v == want) if exact else (lambda v: v >= want), 20)
        # Stable: the count holds over consecutive scrapes, not just once.
        if ok and exact:
            time.sleep(1.5)
            again = prom.value(q)
            tc.assertEqual(again, float(want), "the CLOSE_WAIT count holds across scrapes")
        print("PromQL %s = %s; the lab holds %d CLOSE_WAIT sockets (%d in lab-leaker)" % (q, got, want, leak))
        if exact:
            tc.assertEqual(got, float(want), "PromQL CLOSE_WAIT count equals the lab's")
            tc.assertEqual(c.json("/api/v1/snapshot")["counts"]["CLOSE_WAIT"], want,
                     "the snapshot's CLOSE_WAIT count equals the lab's")
            held = prom.value('sum(lingerd_tcp_lingering_sockets{job="lingerd",state="close_wait",owner="process"})')
            tc.assertEqual(held, float(want), "every lab CLOSE_WAIT is held by a process (owner=process)")
        else:
            tc.assertTrue(ok, "PromQL CLOSE_WAIT count is at least the lab's (%s >= %d)" % (got, want))
        tc.assertEqual(prom.value('up{job="lingerd"}'), 1.0, "up{job=\"lingerd\"} is 1")
        return lab
    except BaseException:
        lab.stop()
        raise


def stalled(tc, d, c, prom):
    """A locked database does not stall the sampler (it publishes before it writes): /metrics
    still answers at once, LingerdDatabaseFailing goes pending and LingerdStale stays quiet."""
    db = sqlite3.connect(d.db, isolation_level=None, timeout=10)
    try:
        db.execute("BEGIN EXCLUSIVE")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not prom.alerts("LingerdDatabaseFailing"):
            time.sleep(0.25)
        a = prom.alerts("LingerdDatabaseFailing")
        tc.assertTrue(len(a) == 1 and a[0]["metric"].get("alertstate") == "pending",
                      "LingerdDatabaseFailing is pending while the database is locked: %s" % a)
        tc.assertEqual(prom.alerts("LingerdStale"), [],
                       "LingerdStale stays quiet: snapshots go on while the database is locked")
        t0 = time.monotonic()
        status, _, _ = c.get("/metrics")
        took = time.monotonic() - t0
        tc.assertTrue(status == 200 and took < 1.0, "/metrics answers in %.3f s with the database locked" % took)
        tc.assertEqual(prom.value('up{job="lingerd"}'), 1.0, "scrapes keep working with the database locked")
    finally:
        db.execute("ROLLBACK")
        db.close()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and prom.alerts("LingerdDatabaseFailing"):
        time.sleep(0.25)
    tc.assertEqual(prom.alerts("LingerdDatabaseFailing"), [],
                   "LingerdDatabaseFailing clears once writes go through again")


def check_names(tc, exported, dash, where):
    """Every metric name in the dashboard and the alert rules is one lingerd exports."""
    recorded = {n for n, _ in alert_exprs() if ":" in n}
    for p, t in dashboard_targets(dash):
        for name in exprs_names(t["expr"]):
            tc.assertTrue(name in exported or name in PROMETHEUS_SERIES,
                  "dashboard %r uses %s, which lingerd does not export (%s)" % (p["title"], name, where))
    for rule, expr in alert_exprs():
        for name in exprs_names(expr):
            tc.assertTrue(name in exported or name in PROMETHEUS_SERIES or name in recorded,
                  "rule %s uses %s, which lingerd does not export (%s)" % (rule, name, where))


def live_queries(tc, c, prom, dash):
    """Every dashboard query and rule expression runs in Prometheus; the dashboard's return
    data, except where they need a metric this namespace cannot have."""
    exported = metric_names(scrape(tc, c))
    for p, t in dashboard_targets(dash):
        expr = t["expr"]
        q = expr.replace("$instance", ".*").replace("$__rate_interval", "30s")
        st, res, err = prom.query(q)
        absent = sorted(n for n in exprs_names(expr) if n not in exported and n not in PROMETHEUS_SERIES)
        if absent:
            print("note: %r %s needs %s, which lingerd cannot read in this network namespace"
                  % (p["title"], t["refId"], ", ".join(absent)))
            tc.assertEqual(st, "success", "dashboard %r %s runs in Prometheus (%s)" % (p["title"], t["refId"], err))
            continue
        tc.assertTrue(st == "success" and len(res) > 0,
              "dashboard %r %s returns data in Prometheus (%s %s)" % (p["title"], t["refId"], st, err or len(res)))
    for name, expr in alert_exprs():
        st, _, err = prom.query(expr)
        tc.assertEqual(st, "success", "rule %s's expression runs in Prometheus (%s)" % (name, err))
    st, res, _ = prom.query('ALERTS{alertstate="firing"}')
    tc.assertEqual([r["metric"]["alertname"] for r in res], [], "no alert fires on a healthy lingerd")


def setUpModule():
    if not os.access(BIN, os.X_OK):
        raise AssertionError("LINGERD_BIN is not an executable: %s" % BIN)
    missing = [t for t in ("promtool", "prometheus") if not shutil.which(t)]
    if missing:
        raise AssertionError("%s not installed: run scripts/deps-monitoring.sh (Debian's prometheus "
                             "package)" % " and ".join(missing))


class Rules(TestCase):
    """On the host: the rules and the dashboard's shape."""

    where = "host"

    def test_rules(self):
        check_rules(self)

    def test_dashboard_shape(self):
        with open(DASHBOARD) as f:
            check_dashboard_shape(self, json.load(f))


class HostNames(DaemonCase):
    """Names against a scrape on the host, where every sysctl is readable."""

    where = "host"
    daemon_args = ("--interval", "0.5")

    def test_names_exported(self):
        c = Http(self.d.port)
        try:
            c.wait_snapshots(1)
            exported = metric_names(scrape(self, c))
        finally:
            c.close()
        print("lingerd exports %d metric names on the host" % len(exported))
        with open(DASHBOARD) as f:
            check_names(self, exported, json.load(f), "host scrape")


class NamespaceStart(TestCase):
    """The private network namespace as the scenarios need it (run in this one when none can
    be made, with counts checked as lower bounds)."""

    def test_starts_empty(self):
        if not lingerd_test.IN_PRIVATE_NETNS:
            self.skipTest("no private network namespace: counts are checked as lower bounds on "
                          "the host, 20,000 sockets not made")
        with open("/proc/sys/net/ipv4/ip_local_port_range", "w") as f:
            f.write("%d %d\n" % PORT_RANGE)
        # No reuse of TIME_WAIT ports on loopback: each of the 20,000 must stay.
        with open("/proc/sys/net/ipv4/tcp_tw_reuse", "w") as f:
            f.write("0\n")
        rc, out = run(["ss", "-Htan"])
        self.assertEqual(out, "", "the namespace starts with no TCP socket")


class Scenarios(DaemonCase):
    """lingerd scraped every second by a real Prometheus evaluating alerts.yml."""

    daemon_args = ("--interval", "0.5", "--metrics-ports", "80,443", "--attribution-interval", "1")
    first_snapshots = 0

    @classmethod
    def setUpClass(cls):
        cls.t0 = time.monotonic()
        cls.exact = lingerd_test.IN_PRIVATE_NETNS
        super().setUpClass()
        cls.c = Http(cls.d.port)
        cls.addClassCleanup(cls.c.close)
        cls.c.wait_snapshots(1)
        cls.tmp = tempfile.mkdtemp(prefix="lingerd-prom-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.prom = Prometheus(cls.tmp, cls.d.port)
        cls.addClassCleanup(cls.prom.stop)
        cls.lab = None

    @classmethod
    def tearDownClass(cls):
        print("scenarios took %.1f s" % (time.monotonic() - cls.t0))

    def test_cardinality(self):
        cardinality(self, self.c, self.prom, self.exact)

    def test_lab_close_wait(self):
        type(self).lab = lab_close_wait(self, self.c, self.prom, self.exact)
        self.addClassCleanup(self.lab.stop)

    def test_promtool_with_the_lab(self):
        promtool_metrics(self, scrape(self, self.c), "the lab's sockets")

    def test_stalled(self):
        stalled(self, self.d, self.c, self.prom)

    def test_live_queries(self):
        with open(DASHBOARD) as f:
            live_queries(self, self.c, self.prom, json.load(f))

    def test_shutdown(self):
        if self.lab:
            self.assertEqual(self.lab.stop()[0], 0, "lab exits 0")
        self.prom.stop()
        self.c.close()
        rc, _ = self.d.stop()
        self.assertEqual(rc, 0, "lingerd exits 0 on SIGTERM: " + self.d.log()[-4000:])


if __name__ == "__main__":
    # The namespace's scenarios run in their own session, killed after NETNS_TIMEOUT seconds.
    main(netns=["-n"], timeout=NETNS_TIMEOUT)
