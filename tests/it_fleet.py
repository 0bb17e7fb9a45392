"""A fleet: three lingerd in three network namespaces standing in for three hosts, one real
Prometheus scraping them with the shipped rules (contrib/prometheus/alerts.yml, unchanged), and a
real Alertmanager (Debian's prometheus-alertmanager) notifying a webhook of the test's own.

The lab's leak runs in the second "host" only (`lingerd lab --count 13 --family 4`: 52 CLOSE_WAIT
sockets in lingerd-lab, a critical close_wait_leak once they are 60 s old).  LingerdCriticalFinding
must fire for exactly that instance, reach the webhook through Alertmanager, and resolve there
when the lab stops; the other two hosts report no critical finding and alert on nothing.

Everything runs inside a private network namespace (the "network" joining the hosts is veth pairs
in it), so the fixed ports cannot meet anything else on the machine.  About two and a half
minutes: a finding stands after 60 s, the rule's `for:` is one more minute."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from lingerd_test import BIN, check, check_eq, done, run_in_private_netns, skip  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
ALERTS = os.path.join(ROOT, "contrib", "prometheus", "alerts.yml")
HOSTS = 3
LEAKY = 1             # which host runs the lab
COUNT = 13            # 4 CLOSE_WAIT per count in lingerd-lab: 52, >= 50 is critical
PROM_PORT, AM_PORT, HOOK_PORT = 9090, 9093, 9099
TOKEN = "fleet-test-token-0123456789abcdef"
FIRE_TIMEOUT = 170    # 60 s to stand as a finding, 60 s of `for:`, scrape and evaluation slack
RESOLVE_TIMEOUT = 40
ALERT = "LingerdCriticalFinding"


def sh(*cmd):
    subprocess.run(cmd, check=True, capture_output=True, timeout=20)


def target(i):
    return "10.231.%d.2:9471" % i


class Host:
    """A network namespace held by a sleeping process, joined to ours by a veth pair."""

    def __init__(self, i):
        self.i = i
        self.holder = subprocess.Popen(["unshare", "-n", "sleep", "3600"])
        me = os.readlink("/proc/self/ns/net")
        deadline = time.time() + 5
        while time.time() < deadline:
            try:
                if os.readlink("/proc/%d/ns/net" % self.holder.pid) != me:
                    break
            except OSError:
                pass
            time.sleep(0.02)
        pid = str(self.holder.pid)
        here, there = "flh%d" % i, "fln%d" % i
        sh("ip", "link", "add", here, "type", "veth", "peer", "name", there, "netns", pid)
        sh("ip", "addr", "add", "10.231.%d.1/30" % i, "dev", here)
        sh("ip", "link", "set", here, "up")
        for cmd in (["ip", "link", "set", "lo", "up"],
                    ["ip", "addr", "add", "10.231.%d.2/30" % i, "dev", there],
                    ["ip", "link", "set", there, "up"]):
            sh("nsenter", "-t", pid, "-n", *cmd)
        self.procs = []

    def run(self, *cmd, **kw):
        p = subprocess.Popen(["nsenter", "-t", str(self.holder.pid), "-n"] + list(cmd), **kw)
        self.procs.append(p)
        return p

    def close(self):
        for p in self.procs + [self.holder]:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


class Hook(BaseHTTPRequestHandler):
    """Alertmanager's webhook receiver: keeps every notification."""
    notes = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            Hook.notes.append(json.loads(body))
        except ValueError:
            pass
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def get_json(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.loads(r.read())
    except (OSError, ValueError):
        return None


def prom_query(q):
    d = get_json("http://127.0.0.1:%d/api/v1/query?%s" % (PROM_PORT, urllib.parse.urlencode({"query": q})))
    return (d or {}).get("data", {}).get("result", [])


def wait_ready(url, proc, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


def notified(status):
    """[(status, alert labels)] of every LingerdCriticalFinding alert the webhook got."""
    out = []
    for n in Hook.notes:
        for a in n.get("alerts", []):
            if a.get("labels", {}).get("alertname") == ALERT and (status is None or a.get("status") == status):
                out.append((a.get("status"), a.get("labels", {})))
    return out


def main():
    for tool in ("prometheus", "prometheus-alertmanager", "nsenter"):
        if not shutil.which(tool):
            skip("%s is missing (scripts/deps-monitoring.sh installs it)" % tool)
            check(False, "%s installed" % tool)
            done()
    t0 = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="lingerd-fleet-")
    token = os.path.join(tmp, "token")
    with open(token, "w") as f:
        f.write(TOKEN + "\n")
    hosts, daemons, others = [], [], []
    hook = HTTPServer(("127.0.0.1", HOOK_PORT), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    lab = None
    try:
        for i in range(HOSTS):
            h = Host(i)
            hosts.append(h)
            d = h.run(BIN, "--listen", target(i), "--token-file", token, "--interval", "1",
                      "--attribution-interval", "1", "--db", os.path.join(tmp, "host%d.db" % i),
                      stdout=subprocess.PIPE, stderr=open(os.path.join(tmp, "host%d.log" % i), "wb"))
            line = d.stdout.readline().decode()
            check(line.startswith("listening on http://%s" % target(i)), "host %d's lingerd serves: %r" % (i, line))
            daemons.append(d)
        # The lab first: its sockets must age 60 s before they are a finding.
        lab = hosts[LEAKY].run(BIN, "lab", "--count", str(COUNT), "--family", "4", "--port", "0",
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        lab_started = time.monotonic()

        am_dir = os.path.join(tmp, "am")
        os.makedirs(am_dir)
        with open(os.path.join(am_dir, "am.yml"), "w") as f:
            f.write("route:\n  receiver: hook\n  group_by: [alertname, instance]\n"
                    "  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n"
                    "receivers:\n  - name: hook\n    webhook_configs:\n"
                    "      - url: http://127.0.0.1:%d/\n        send_resolved: true\n" % HOOK_PORT)
        am = subprocess.Popen(["prometheus-alertmanager", "--config.file=" + os.path.join(am_dir, "am.yml"),
                               "--storage.path=" + am_dir, "--web.listen-address=127.0.0.1:%d" % AM_PORT,
                               "--cluster.listen-address=", "--log.level=warn"],
                              stdout=subprocess.DEVNULL, stderr=open(os.path.join(am_dir, "log"), "wb"))
        others.append(am)
        prom_dir = os.path.join(tmp, "prom")
        os.makedirs(os.path.join(prom_dir, "data"))
        with open(os.path.join(prom_dir, "prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
                    "rule_files:\n  - %s\n"
                    "alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:%d']\n"
                    "scrape_configs:\n  - job_name: lingerd\n    authorization:\n"
                    "      credentials_file: %s\n    static_configs:\n      - targets: [%s]\n"
                    % (ALERTS, AM_PORT, token, ", ".join("'%s'" % target(i) for i in range(HOSTS))))
        prom = subprocess.Popen(["prometheus", "--config.file=" + os.path.join(prom_dir, "prometheus.yml"),
                                 "--storage.tsdb.path=" + os.path.join(prom_dir, "data"),
                                 "--web.listen-address=127.0.0.1:%d" % PROM_PORT, "--log.level=warn"],
                                stdout=subprocess.DEVNULL, stderr=open(os.path.join(prom_dir, "log"), "wb"))
        others.append(prom)
        check(wait_ready("http://127.0.0.1:%d/-/ready" % AM_PORT, am), "Alertmanager is ready")
        check(wait_ready("http://127.0.0.1:%d/-/ready" % PROM_PORT, prom), "Prometheus is ready")
        report = json.loads(lab.stdout.readline() or b"{}")
        check(report.get("count") == COUNT, "the lab holds its sockets in host %d" % LEAKY)

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(prom_query('up{job="lingerd"} == 1')) < HOSTS:
            time.sleep(0.5)
        check_eq(sorted(r["metric"]["instance"] for r in prom_query('up{job="lingerd"} == 1')),
                 sorted(target(i) for i in range(HOSTS)), "Prometheus scrapes the three hosts with the token")

        # --- the leak fires, for that host only ----------------------------------------------
        deadline = lab_started + FIRE_TIMEOUT
        while time.monotonic() < deadline and not notified("firing"):
            time.sleep(1)
        fired = notified("firing")
        print("%s reached the webhook %.0f s after the lab started" % (ALERT, time.monotonic() - lab_started))
        check(fired, "%s reaches Alertmanager's webhook within %d s" % (ALERT, FIRE_TIMEOUT))
        check_eq(sorted({l.get("instance") for _, l in fired}), [target(LEAKY)],
                 "it fires for exactly the leaking host")
        check(all(l.get("kind") == "close_wait_leak" and l.get("subject") == "lingerd-lab" and
                  l.get("severity") == "critical" for _, l in fired),
              "it names the kind and the process: %r" % [l for _, l in fired])
        am_alerts = get_json("http://127.0.0.1:%d/api/v2/alerts" % AM_PORT) or []
        check_eq(sorted(a["labels"]["instance"] for a in am_alerts if a["labels"].get("alertname") == ALERT),
                 [target(LEAKY)], "Alertmanager holds the alert for that host only")
        crit = {r["metric"]["instance"]: float(r["value"][1])
                for r in prom_query('lingerd_findings{severity="critical"}')}
        check(crit.get(target(LEAKY), 0) >= 1 and all(crit.get(target(i)) == 0 for i in range(HOSTS) if i != LEAKY),
              "lingerd_findings{severity=critical} is 0 on the healthy hosts: %r" % crit)
        quiet = [n for n in Hook.notes for a in n.get("alerts", [])
                 if a.get("labels", {}).get("instance") not in (None, target(LEAKY))]
        check_eq(quiet, [], "nothing alerts for the healthy hosts")

        # --- the lab stops: the alert resolves ------------------------------------------------
        lab.send_signal(signal.SIGTERM)
        lab.wait(15)
        stopped = time.monotonic()
        deadline = stopped + RESOLVE_TIMEOUT
        while time.monotonic() < deadline and not notified("resolved"):
            time.sleep(0.5)
        resolved = notified("resolved")
        print("resolved %.0f s after the lab stopped; the test took %.0f s"
              % (time.monotonic() - stopped, time.monotonic() - t0))
        check(resolved and all(l.get("instance") == target(LEAKY) for _, l in resolved),
              "the webhook is told the alert resolved once the lab stopped")
        am_alerts = get_json("http://127.0.0.1:%d/api/v2/alerts?active=true" % AM_PORT) or []
        check_eq([a["labels"] for a in am_alerts if a["labels"].get("alertname") == ALERT], [],
                 "Alertmanager no longer holds it")
    finally:
        for p in others:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        for h in hosts:
            h.close()
        hook.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    done()


if __name__ == "__main__":
    run_in_private_netns(__file__, main, "the fleet's veth network and fixed ports need one")
