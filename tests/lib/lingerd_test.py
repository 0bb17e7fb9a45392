"""Shared helpers for lingerd's integration tests: the real binary, HTTP, ss and sockets."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

BIN = os.environ.get("LINGERD_BIN", os.path.join(os.path.dirname(__file__), "..", "..", "build", "lingerd"))

failures = 0
passes = 0


def check(cond, what):
    """Records one assertion; prints the failure and keeps going."""
    global failures, passes
    if cond:
        passes += 1
    else:
        failures += 1
        print("FAIL: %s" % what, flush=True)
    return cond


def check_eq(a, b, what):
    return check(a == b, "%s: %r != %r" % (what, a, b))


def done():
    """Ends a test script with the tally line and its exit status."""
    print("%d passed, %d failed" % (passes, failures), flush=True)
    sys.exit(1 if failures else 0)


def skip(why):
    print("SKIP: %s" % why, flush=True)


class Daemon:
    """lingerd on 127.0.0.1, port 0, with a database in a temporary folder."""

    def __init__(self, *args, db=None, listen="127.0.0.1:0", env=None, prefix=None):
        self.tmp = tempfile.mkdtemp(prefix="lingerd-test-")
        self.db = db or os.path.join(self.tmp, "lingerd.db")
        self.args = list(args)
        self.listen = listen
        self.env = env
        self.prefix = prefix or []
        self.proc = None
        self.port = None
        self.start()

    def start(self):
        cmd = self.prefix + [BIN, "--listen", self.listen, "--db", self.db] + self.args
        self.stderr = open(os.path.join(self.tmp, "stderr.log"), "ab")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.stderr,
                                     env=self.env)
        line = self.proc.stdout.readline().decode()
        m = re.match(r"listening on http://(\S+):(\d+)", line)
        if not m:
            self.proc.wait(5)
            raise RuntimeError("lingerd did not start: %r; stderr: %s" % (line, self.log()))
        self.host = m.group(1)
        self.port = int(m.group(2))
        self.base = "http://%s:%d" % (self.host, self.port)
        return self

    def log(self):
        try:
            with open(os.path.join(self.tmp, "stderr.log"), "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def get(self, path, headers=None, method="GET", raw=False):
        """Returns (status, headers, parsed JSON or raw bytes); raw=True never parses."""
        req = urllib.request.Request(self.base + path, headers=headers or {}, method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                body, status, hdrs = r.read(), r.status, r.headers
        except urllib.error.HTTPError as e:
            body, status, hdrs = e.read(), e.code, e.headers
        if not raw and hdrs.get("Content-Type", "").startswith("application/json") and body:
            return status, hdrs, json.loads(body)
        return status, hdrs, body

    def json(self, path):
        status, _, body = self.get(path)
        if status != 200:
            raise RuntimeError("GET %s -> %d %r" % (path, status, body))
        return body

    def wait_snapshots(self, n=2, timeout=10):
        """Waits until n more snapshots have been taken after this call."""
        def taken():
            # /healthz answers 503 with the same body while a slow host stalls the sampler.
            return self.get("/healthz")[2]["snapshots"]

        start = taken()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if taken() >= start + n:
                return
            time.sleep(0.05)
        raise RuntimeError("no new snapshots in %ss" % timeout)

    def stop(self, sig=signal.SIGTERM, timeout=5):
        """Signals the daemon; returns (exit status, seconds it took)."""
        if not self.proc or self.proc.poll() is not None:
            return (self.proc.returncode if self.proc else None), 0.0
        t0 = time.monotonic()
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc.stdout.close()
        self.stderr.close()
        return rc, time.monotonic() - t0

    def close(self):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def ss_sockets(extra=()):
    """Every TCP socket ss reports: list of (state, local addr, local port, peer addr, peer port)."""
    out = subprocess.run(["ss", "-Htan"] + list(extra), capture_output=True, text=True,
                         check=True).stdout
    socks = []
    for line in out.splitlines():
        f = line.split()
        if len(f) < 5:
            continue
        la, lp = split_hostport(f[3])
        ra, rp = split_hostport(f[4])
        socks.append((SS_STATES.get(f[0], f[0]), la, lp, ra, rp))
    return socks


SS_STATES = {
    "ESTAB": "ESTABLISHED", "SYN-SENT": "SYN_SENT", "SYN-RECV": "SYN_RECV",
    "FIN-WAIT-1": "FIN_WAIT_1", "FIN-WAIT-2": "FIN_WAIT_2", "TIME-WAIT": "TIME_WAIT",
    "UNCONN": "CLOSED", "CLOSE-WAIT": "CLOSE_WAIT", "LAST-ACK": "LAST_ACK",
    "LISTEN": "LISTEN", "CLOSING": "CLOSING",
}


def split_hostport(s):
    host, _, port = s.rpartition(":")
    host = host.strip("[]")
    if "%" in host:
        host = host.split("%")[0]
    return host, (0 if port == "*" else int(port))


def count_by_state(socks, port=None):
    counts = {}
    for st, la, lp, ra, rp in socks:
        if port is not None and lp != port and rp != port:
            continue
        counts[st] = counts.get(st, 0) + 1
    return counts


class Teardown:
    """Real loopback sockets in ESTABLISHED, LISTEN, CLOSE_WAIT, FIN_WAIT_2 and TIME_WAIT."""

    def __init__(self, family=socket.AF_INET):
        host = "127.0.0.1" if family == socket.AF_INET else "::1"
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        self.listener.bind((host, 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.held = []

        def pair():
            c = socket.socket(family, socket.SOCK_STREAM)
            c.connect((host, self.port))
            s, _ = self.listener.accept()
            return c, s

        # ESTABLISHED both ways.
        self.held += list(pair())
        # The client half-closes: it waits in FIN_WAIT_2 (held by its fd, so unbounded);
        # the server never closes: CLOSE_WAIT, the leak lingerd exists to find.
        c, s = pair()
        c.shutdown(socket.SHUT_WR)
        self.held += [c, s]
        self.close_wait_local = s.getsockname()[1]
        # The client closes first and then the server: the client ends in TIME_WAIT.
        c, s = pair()
        self.time_wait_local = c.getsockname()[1]
        c.close()
        time.sleep(0.05)
        s.close()
        time.sleep(0.05)

    expected = {"LISTEN": 1, "ESTABLISHED": 2, "CLOSE_WAIT": 1, "FIN_WAIT_2": 1,
                "TIME_WAIT": 1}

    def close(self):
        for s in self.held:
            s.close()
        self.listener.close()


class LabProc:
    """`lingerd lab ARGS` running; .report is the JSON line it prints once every socket is up."""

    def __init__(self, *args, timeout=20):
        import select
        self.proc = subprocess.Popen([BIN, "lab"] + list(args), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else b""
        if not line:
            self.proc.kill()
            _, err = self.proc.communicate()
            raise RuntimeError("lab printed no report: %s" % err.decode(errors="replace"))
        self.report = json.loads(line)
        self.started = time.time()

    def stop(self, sig=signal.SIGTERM):
        """Signals the lab (once) and returns (exit status, stdout, stderr)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            out, err = self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        return self.proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def in_private_netns(script, flag="--in-netns"):
    """Re-runs script inside a fresh network namespace (loopback up) and returns its exit
    status, or None when no namespace can be made here (the caller prints SKIP)."""
    probe = subprocess.run(["unshare", "-n", "--", "ip", "link", "set", "lo", "up"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return None
    p = subprocess.run(["unshare", "-n", "--", "sh", "-c",
                        'ip link set lo up && exec "$0" "$@"', sys.executable,
                        os.path.abspath(script), flag])
    return p.returncode


def run_in_private_netns(script, main, why, shared_ok=False):
    """Runs main() in a fresh network namespace (re-running script there), so that counts
    are exact. Without namespaces: SKIP, or main() in the shared one when shared_ok."""
    if "--in-netns" in sys.argv:
        main()
        return
    rc = in_private_netns(script)
    if rc is None:
        skip("no private network namespace here: %s" % why)
        if shared_ok:
            main()
            return
        print("0 passed, 0 failed")
        sys.exit(0)
    sys.exit(rc)
