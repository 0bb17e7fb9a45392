"""The HTTP front against a hostile local user (issue 15), fast versions of
tests/stress/http_front.py: strict framing and every refusal in JSON with the security headers,
the request deadline, floods of slow and idle connections and of expensive queries while an
honest client polls, SIGTERM under load many times, and CSV cells a
spreadsheet or a terminal would run."""
import csv
import http.client
import io
import os
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from lingerd_test import Daemon, check, check_eq, done  # noqa: E402

ATTACKERS = os.path.join(HERE, "stress", "attackers.py")
SECURITY = ("X-Content-Type-Options", "Content-Security-Policy", "X-Frame-Options", "Referrer-Policy")


def raw(port, data, wait=2.0):
    """Sends bytes, reads until the server closes or `wait` passes: (bytes, closed)."""
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(wait)
    s.sendall(data)
    out, closed = b"", False
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                closed = True
                break
            out += chunk
    except socket.timeout:
        pass
    except ConnectionResetError:
        closed = True
    s.close()
    return out, closed


def head_of(resp):
    lines = resp.split(b"\r\n\r\n", 1)[0].decode(errors="replace").split("\r\n")
    return lines[0], {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}


def strict(d):
    port = d.port
    cases = [
        ("no Host in HTTP/1.1", b"GET /healthz HTTP/1.1\r\n\r\n", 400),
        ("two Host headers", b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n\r\n", 400),
        ("conflicting Content-Length",
         b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nContent-Length: 24\r\n\r\n"
         b"GET /metrics HTTP/1.1\r\n\r\n", 400),
        ("Transfer-Encoding with Content-Length",
         b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400),
        ("a space before the colon",
         b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length : 24\r\n\r\nGET /metrics HTTP/1.1\r\n\r\n", 400),
        ("a space in the URL", b"GET /heal thz HTTP/1.1\r\nHost: localhost\r\n\r\n", 400),
        ("a body", b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc", 400),
        ("CONNECT", b"CONNECT localhost:22 HTTP/1.1\r\nHost: localhost:22\r\n\r\n", 405),
        ("POST to an unknown path", b"POST /nothing HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n", 405),
        ("OPTIONS *", b"OPTIONS * HTTP/1.1\r\nHost: localhost\r\n\r\n", 405),
    ]
    for what, req, want in cases:
        resp, closed = raw(port, req)
        status, hdrs = head_of(resp)
        check(status.startswith("HTTP/1.1 %d" % want), "%s: %d (%r)" % (what, want, status))
        check(hdrs.get("content-type", "").startswith("application/json"), "%s: JSON" % what)
        check(all(h.lower() in hdrs for h in SECURITY), "%s: security headers %r" % (what, sorted(hdrs)))
        check_eq(resp.count(b"HTTP/1."), 1 + resp.split(b"\r\n\r\n", 1)[-1].count(b"HTTP/1."),
                 "%s: one answer, nothing left in the stream read as a request" % what)
        if want == 405:
            check_eq(hdrs.get("allow"), "GET, HEAD", "%s: Allow" % what)
        elif want == 400:
            check(closed, "%s: the connection is closed after the refusal" % what)
    # What libmicrohttpd still answers itself (README): at least closed, never served.
    for what, req in (("Content-Length: -1", b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: -1\r\n\r\n"),
                      ("a header line without a colon", b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nBogus\r\n\r\n")):
        resp, closed = raw(port, req)
        check(resp.startswith(b"HTTP/1.1 400") and closed and b'"status"' not in resp,
              "%s: libmicrohttpd's own 400, connection closed" % what)
    # Keep-alive still works for honest requests.
    resp, _ = raw(port, b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\nGET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n", 1.0)
    check_eq(resp.count(b"HTTP/1.1 200"), 2, "two pipelined requests on one connection, two answers")


def deadline(d):
    t0 = time.monotonic()
    s = socket.create_connection(("127.0.0.1", d.port))
    s.sendall(b"GET /healthz HTTP/1.1\r\n")
    closed_after = None
    s.settimeout(0.5)
    while time.monotonic() - t0 < 12:
        try:
            s.sendall(b"X-Trickle: 1\r\n")
            if s.recv(100) == b"":
                closed_after = time.monotonic() - t0
                break
        except socket.timeout:
            continue
        except OSError:
            closed_after = time.monotonic() - t0
            break
    s.close()
    check(closed_after is not None and 4.5 <= closed_after <= 7.0,
          "a head trickled a line every 0.5 s is closed 5 s after the connect (%s)" % closed_after)
    s = socket.create_connection(("127.0.0.1", d.port))
    t0 = time.monotonic()
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
    s.settimeout(10)
    got = s.recv(65536)
    try:
        while s.recv(65536):
            pass
    except OSError:
        pass
    idle = time.monotonic() - t0
    s.close()
    check(got.startswith(b"HTTP/1.1 200") and 4.5 <= idle <= 7.0,
          "an idle keep-alive connection is closed 5 s after its answer (%.2f s)" % idle)


class Honest(threading.Thread):
    def __init__(self, port, path):
        super().__init__(daemon=True)
        self.port, self.path = port, path
        self.lat, self.missed = [], 0
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            t0 = time.monotonic()
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1.0)
                c.request("GET", self.path)
                r = c.getresponse()
                r.read()
                c.close()
                # /healthz says 503 while the sampler is late (CPU starvation): an answer too.
                ok = r.status == 200 or (self.path == "/healthz" and r.status == 503)
            except (OSError, http.client.HTTPException):
                ok = False
            dt = time.monotonic() - t0
            if ok and dt <= 1.0:
                self.lat.append(dt)
            else:
                self.missed += 1
            self.stopping.wait(max(0.0, 0.05 - dt))


def held_close_wait(port):
    out = subprocess.run(["ss", "-Htan", "state", "close-wait", "sport", "=", ":%d" % port],
                         capture_output=True, text=True).stdout
    return len(out.splitlines())


def flood(d, name, argvs, seconds, sanitized):
    fds_before = len(os.listdir("/proc/%d/fd" % d.proc.pid))
    honest = [Honest(d.port, "/healthz"), Honest(d.port, "/metrics")]
    for h in honest:
        h.start()
    procs = [subprocess.Popen([sys.executable, ATTACKERS] + [a.replace("{port}", str(d.port)) for a in argv]
                              + [str(seconds)] + extra, stdout=subprocess.PIPE, text=True)
             for argv, extra in argvs]
    peak = 0
    while any(p.poll() is None for p in procs):
        with open("/proc/%d/status" % d.proc.pid) as f:
            peak = max([peak] + [int(l.split()[1]) for l in f if l.startswith("VmRSS:")])
        time.sleep(0.2)
    outs = [p.stdout.read().strip() for p in procs]
    for h in honest:
        h.stopping.set()
        h.join()
    lat = sorted(x for h in honest for x in h.lat)
    missed = sum(h.missed for h in honest)
    share = 100.0 * len(lat) / max(1, len(lat) + missed)
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e3 if lat else float("inf")
    print("%s: honest %.1f%% of %d answered, p99 %.1f ms; RSS peak %.1f MiB; attackers %s"
          % (name, share, len(lat) + missed, p99, peak / 1024.0, outs), flush=True)
    # Under the sanitizers lingerd is several times slower and larger, and ctest runs other
    # tests beside this one: one honest request in a hundred may miss its 1 s deadline there.
    # The goals (99% answered, p99 and memory) are the stress script's, on the plain build.
    floor = 97.0 if sanitized else 99.0
    check(share >= floor, "%s: the honest client gets >= %g%% answers (%.1f%%)"
          % (name, floor, share))
    check(sanitized or p99 < 250, "%s: honest p99 %.1f ms < 250 ms" % (name, p99))
    check(sanitized or peak < 96 * 1024, "%s: RSS peak %.1f MiB < 96 MiB" % (name, peak / 1024.0))
    deadline_t = time.monotonic() + 8
    while time.monotonic() < deadline_t and len(os.listdir("/proc/%d/fd" % d.proc.pid)) > fds_before:
        time.sleep(0.2)
    fds_after = len(os.listdir("/proc/%d/fd" % d.proc.pid))
    check(fds_after <= fds_before, "%s: fds back to baseline (%d -> %d)" % (name, fds_before, fds_after))
    check_eq(held_close_wait(d.port), 0, "%s: no CLOSE_WAIT held by lingerd afterwards" % name)
    return outs


def floods(sanitized):
    d = Daemon("--interval", "1")
    try:
        flood(d, "slow headers", [(["slow", "{port}", "2000"], []), (["slow", "{port}", "2000"], [])],
              6, sanitized)
        flood(d, "keep-alive flood", [(["keepalive", "{port}", "2000"], []), (["keepalive", "{port}", "2000"], [])],
              6, sanitized)
        outs = flood(d, "sockets?limit=10000 flood",
                     [(["heavy", "{port}", "10"], ["/api/v1/sockets?limit=10000"]) for _ in range(2)],
                     4, sanitized)
        check(all('"503"' in o for o in outs), "expensive requests past the cap get 503: %s" % outs)
        # The 503 itself: JSON, Retry-After, security headers.
        hold = threading.Event()
        results = []

        def asker():
            while not hold.is_set():
                c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=5)
                c.request("GET", "/api/v1/sockets?limit=5000")
                r = c.getresponse()
                body = r.read()
                if r.status == 503:
                    results.append((r.getheader("Retry-After"), r.getheader("Content-Type"), body,
                                    r.getheader("Content-Security-Policy")))
                    hold.set()
                c.close()

        ts = [threading.Thread(target=asker, daemon=True) for _ in range(8)]
        for t in ts:
            t.start()
        hold.wait(10)
        hold.set()
        for t in ts:
            t.join()
        check(results and results[0][0] == "1" and results[0][1].startswith("application/json")
              and b'"busy"' in results[0][2] and results[0][3],
              "busy: JSON 503 with Retry-After and the security headers: %r" % results[:1])
        rc, took = d.stop()
        check_eq(rc, 0, "exit 0 after the floods")
    finally:
        d.close()


def sigterm_under_load(rounds):
    """The old shutdown called MHD_quiesce_daemon, which aborted when a worker at its
    connection limit took the listening socket out of its epoll set at the same time: a
    small fd limit keeps the workers at their limit while the flood runs."""
    bad = []
    for i in range(rounds):
        d = Daemon("--interval", "0.5", prefix=["prlimit", "--nofile=400:400", "--"])
        # 400 fds less lingerd's reserve of 256 leave 144 connections: idle ones hold most,
        # short ones churn the rest, so workers keep reaching their limit and leaving it.
        p = subprocess.Popen([sys.executable, ATTACKERS, "keepalive", str(d.port), "136", "20"],
                             stdout=subprocess.DEVNULL)
        stop = threading.Event()

        def hammer():
            while not stop.is_set():
                try:
                    c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=2)
                    c.request("GET", "/healthz")
                    c.getresponse().read()
                    c.close()
                except (OSError, http.client.HTTPException):
                    pass

        ts = [threading.Thread(target=hammer, daemon=True) for _ in range(16)]
        for t in ts:
            t.start()
        time.sleep(0.6 + 0.05 * i)
        rc, took = d.stop(timeout=10)
        stop.set()
        p.kill()
        p.wait()
        for t in ts:
            t.join()
        if rc != 0 or took > 4:
            bad.append((rc, round(took, 2), d.log()[-300:]))
        d.close()
    check_eq(bad, [], "SIGTERM under a flood at the connection limit exits 0, promptly, %d times" % rounds)


CHILD = r"""
import ctypes, socket, sys, time
libc = ctypes.CDLL(None)
libc.prctl(15, ctypes.c_char_p(bytes.fromhex(sys.argv[1])), 0, 0, 0)
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(4)
print(l.getsockname()[1], flush=True)
time.sleep(60)
"""


def csv_cells():
    name = b"\t=1\x1b[2J\xc2\x9bX"  # TAB-led formula, a terminal escape, a C1 CSI
    child = subprocess.Popen([sys.executable, "-c", CHILD, name.hex()], stdout=subprocess.PIPE, text=True)
    child.stdout.readline()
    d = Daemon("--interval", "0.2", "--attribution-interval", "0.2")
    try:
        want = "'\ufffd=1\ufffd[2J\ufffdX"
        got = None
        for _ in range(50):
            st, _, body = d.get("/api/v1/sockets?pid=%d&format=csv" % child.pid, raw=True)
            rows = list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))
            if st == 200 and len(rows) > 1:
                got = rows[1][-1]
                break
            time.sleep(0.2)
        check_eq(got, want, "CSV comm: leading TAB defused, controls replaced")
    finally:
        d.close()
        child.kill()
        child.wait()


def sanitized_binary():
    from lingerd_test import BIN
    out = subprocess.run(["ldd", BIN], capture_output=True, text=True).stdout
    return "libasan" in out or "san" in os.path.basename(os.environ.get("LINGERD_BUILD", ""))


def front():
    d = Daemon("--interval", "1")
    try:
        strict(d)
        deadline(d)
    finally:
        d.close()


# Arguments name the parts to run (front, csv, floods, sigterm); none runs them all.
PARTS = {"front": front, "csv": csv_cells, "floods": lambda: floods(sanitized_binary()),
         "sigterm": lambda: sigterm_under_load(8)}
for part in sys.argv[1:] or list(PARTS):
    PARTS[part]()
done()
