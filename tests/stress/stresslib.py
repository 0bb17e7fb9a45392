"""Shared helpers of the on-demand stress scripts: the daemon, a private namespace, fd and
CLOSE_WAIT accounting, and a probe that keeps asking /healthz while something hammers lingerd.

The scripts are not part of ctest: they take minutes and print figures rather than pass/fail
(they still exit 1 when a promise is visibly broken)."""
import json
import os
import sqlite3
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TOKEN = "stress-token-0123456789abcdef"  # for a daemon listening on 0.0.0.0
BIN = os.environ.get("LINGERD_BIN", os.path.join(REPO, "build", "lingerd"))


def in_private_netns():
    """Re-runs the calling script in a fresh network namespace (loopback up) so that other
    work on the host neither disturbs nor is disturbed by the load; returns only inside it.
    There a connection to 127.0.0.N (N = 2..16, 200) comes from 127.0.0.N.  Falls back to
    this namespace when none can be made (then every 127.x client is 127.0.0.1)."""
    if os.environ.get("STRESS_IN_NETNS") == "1":
        return
    probe = subprocess.run(["unshare", "-n", "--", "true"], capture_output=True)
    if probe.returncode != 0:
        print("note: no private network namespace; running in this one", flush=True)
        return
    env = dict(os.environ, STRESS_IN_NETNS="1")
    # Loopback answers from 127.0.0.1 whatever 127.x address was dialled; a /32 route with its
    # own source makes 127.0.0.N a distinct client address (per-IP limits see it as one).
    setup = ("ip link set lo up && for i in $(seq 2 16) 200; do ip route add local 127.0.0.$i/32 "
             "dev lo src 127.0.0.$i table local || exit 1; done")
    rc = subprocess.run(["unshare", "-n", "--", "sh", "-c", setup + ' && exec "$0" "$@"',
                         sys.executable] + [os.path.abspath(sys.argv[0])] + sys.argv[1:],
                        env=env).returncode
    sys.exit(rc)


class Daemon:
    """lingerd with a database in a temporary folder; .port, .pid, .base."""

    def __init__(self, *args, db=None, listen="127.0.0.1:0", prefix=(), env=None, binary=None,
                 token=None):
        self.tmp = tempfile.mkdtemp(prefix="lingerd-stress-")
        self.db = db or os.path.join(self.tmp, "lingerd.db")
        self.errlog = os.path.join(self.tmp, "stderr.log")
        if token:
            # A non-loopback --listen needs --token-file; the file goes with the folder.
            path = os.path.join(self.tmp, "token")
            with open(path, "w") as f:
                f.write(token + "\n")
            args = args + ("--token-file", path)
        cmd = list(prefix) + [binary or BIN, "--listen", listen, "--db", self.db] + list(args)
        self.err = open(self.errlog, "ab")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.err, env=env)
        line = self.proc.stdout.readline().decode()
        m = re.match(r"listening on http://(\S+):(\d+)", line)
        if not m:
            self.proc.kill()
            raise RuntimeError("lingerd did not start: %r %s" % (line, self.log()))
        self.host, self.port = m.group(1), int(m.group(2))
        self.base = "http://%s:%d" % (self.host, self.port)
        self.pid = self.daemon_pid()

    def daemon_pid(self):
        """The lingerd process itself (under valgrind or setpriv the child of a wrapper)."""
        pid = self.proc.pid
        for _ in range(3):
            try:
                with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                    kids = f.read().split()
            except OSError:
                break
            if not kids:
                break
            pid = int(kids[0])
        return pid

    def log(self):
        try:
            with open(self.errlog, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def get(self, path, timeout=5, headers=None, base=None):
        """(status, parsed JSON or bytes); status None on a connection error or timeout.
        base ("http://127.0.0.2:PORT") asks through another address."""
        req = urllib.request.Request((base or self.base) + path, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                body, status, ctype = r.read(), r.status, r.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            body, status, ctype = e.read(), e.code, e.headers.get("Content-Type", "")
        except (OSError, urllib.error.URLError):
            return None, None
        if ctype.startswith("application/json"):
            try:
                return status, json.loads(body)
            except ValueError:
                pass
        return status, body

    def healthz(self, timeout=5):
        return self.get("/healthz", timeout)

    def wait_snapshots(self, n=2, timeout=30):
        st, h = self.healthz()
        start = h["snapshots"] if isinstance(h, dict) else 0
        deadline = time.time() + timeout
        while time.time() < deadline:
            st, h = self.healthz()
            if isinstance(h, dict) and h["snapshots"] >= start + n:
                return h
            time.sleep(0.1)
        raise RuntimeError("no new snapshots in %ss" % timeout)

    def stop(self, sig=15, timeout=30):
        """Signals the process; returns (exit status, seconds)."""
        if self.proc.poll() is not None:
            return self.proc.returncode, 0.0
        t0 = time.monotonic()
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.err.close()
        return rc, time.monotonic() - t0

    def close(self):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def socket_inodes(pid):
    out = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            out.add(int(link[8:-1]))
    return out


def tcp_states_of(pid):
    """{state hex: count} of the TCP sockets pid holds (from /proc/net/tcp{,6})."""
    inodes = socket_inodes(pid)
    counts = {}
    for f in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(f) as fh:
                next(fh)
                for line in fh:
                    p = line.split()
                    if len(p) > 9 and int(p[9]) in inodes:
                        counts[p[3]] = counts.get(p[3], 0) + 1
        except OSError:
            pass
    return counts


class FdWatch(threading.Thread):
    """Samples a process's fd count twice a second; .peak is the highest seen."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak = pid, 0
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            try:
                self.peak = max(self.peak, fd_count(self.pid))
            except OSError:
                pass
            self.stopping.wait(0.5)

    def stop(self):
        self.stopping.set()
        self.join()
        return self.peak


def sampler_gaps(db, t_from, t_to):
    """What the sampler really did in [t_from, t_to] (unix seconds), from the snapshots it
    recorded: (count, longest gap between snapshots in seconds counting the window's edges,
    slowest capture in ms).  Independent of whether HTTP clients got answers."""
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
    try:
        rows = con.execute("SELECT taken_at, duration_ms FROM snapshots WHERE taken_at >= ? AND "
                           "taken_at <= ? ORDER BY taken_at", (t_from, t_to)).fetchall()
    finally:
        con.close()
    times = [t_from] + [r[0] for r in rows] + [t_to]
    gap = max(b - a for a, b in zip(times, times[1:]))
    return len(rows), gap, max((r[1] for r in rows), default=0.0)


def close_wait_of(pid):
    return tcp_states_of(pid).get("08", 0)


class Probe(threading.Thread):
    """GET /healthz every `every` seconds with a `timeout`-second deadline.  Counts answers,
    failures and the worst latency, and how far apart new snapshots were seen."""

    def __init__(self, d, timeout=1.0, every=0.25, path="/healthz", host=None):
        super().__init__(daemon=True)
        self.d, self.timeout, self.every, self.path = d, timeout, every, path
        self.base = "http://%s:%d" % (host, d.port) if host else None
        self.ok = self.failed = 0
        self.worst = 0.0
        self.latencies = []
        self.snapshots = []  # (monotonic time, snapshot count) from every answer
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            t0 = time.monotonic()
            st, body = self.d.get(self.path, timeout=self.timeout, base=self.base)
            dt = time.monotonic() - t0
            if st is not None and dt <= self.timeout:
                self.ok += 1
                self.latencies.append(dt)
                self.worst = max(self.worst, dt)
                if isinstance(body, dict) and "snapshots" in body:
                    self.snapshots.append((t0, body["snapshots"]))
            else:
                self.failed += 1
            self.stopping.wait(max(0.0, self.every - dt))

    def stop(self):
        self.stopping.set()
        self.join()

    def max_snapshot_gap(self):
        """Longest time between two answers that showed a new snapshot (seconds)."""
        gap, last_t, last_n = 0.0, None, None
        for t, n in self.snapshots:
            if last_n is None or n > last_n:
                if last_t is not None:
                    gap = max(gap, t - last_t)
                last_t, last_n = t, n
        return gap

    def summary(self):
        lat = sorted(self.latencies)
        p50 = lat[len(lat) // 2] * 1e3 if lat else float("nan")
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e3 if lat else float("nan")
        return ("probe %s: %d answered within %.1fs, %d failed; latency p50 %.1f ms, p99 %.1f ms, "
                "worst %.1f ms; longest wait for a new snapshot %.2fs"
                % (self.path, self.ok, self.timeout, self.failed, p50, p99, self.worst * 1e3,
                   self.max_snapshot_gap()))


def need(tool, package=None):
    """Installs a Debian package when its tool is missing (root only)."""
    if shutil.which(tool):
        return
    if os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                        package or tool], check=True, capture_output=True,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    if not shutil.which(tool):
        sys.exit("%s is not installed (apt-get install %s)" % (tool, package or tool))
