"""Hostile names: processes named with quotes, backslashes, newlines, markup, a spreadsheet
formula and bytes that are not UTF-8, with 128 KiB command lines, own lingering sockets in this
namespace, in a namespace of their own (named after nothing, so lingerd names it after them) and
in a namespace whose file name is itself hostile.  Every JSON answer must be valid UTF-8 JSON
that carries each name exactly (invalid bytes as U+FFFD), CSV must be valid UTF-8 with formulas
defused, /metrics must pass promtool, and the page in headless chromium must show the names as
text: no element, attribute or script of theirs.

Runs in a private network and mount namespace, so /run/netns is this test's own."""
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from lingerd_test import DaemonCase, main, npm_ci, poll  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
NODE_DIR = os.path.join(HERE, "dashboard")
BIG = 128 * 1024

# Process names (the kernel keeps 15 bytes of comm). The last one also enters a network
# namespace of its own.
NAMES = [
    b'q"uo\\te\nnl\tx',
    b"<img src=x>",
    b"<script>x",
    b"bad\xff\xfe\xc0z",
    b"=HYPERLINK(1)",
    b'ns"\\<b>\xff',
]
NETNS_NAME = b'n"s\\<i>x\xff'

# The child: renames itself, optionally enters a new network namespace, then holds a LISTEN
# socket and the accepted end of a connection whose client closed (CLOSE_WAIT, never closed).
CHILD = r"""
import ctypes, os, socket, sys, time
libc = ctypes.CDLL(None, use_errno=True)
if os.environ.get("HN_UNSHARE") == "1":
    if libc.unshare(0x40000000) != 0:
        sys.exit("unshare: errno %d" % ctypes.get_errno())
    os.system("ip link set lo up")
name = bytes.fromhex(os.environ["HN_NAME"])
if libc.prctl(15, ctypes.c_char_p(name), 0, 0, 0) != 0:
    sys.exit("prctl: errno %d" % ctypes.get_errno())
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(8)
c = socket.create_connection(l.getsockname())
a, _ = l.accept()
c.close()
print(l.getsockname()[1], flush=True)
time.sleep(3600)
"""


def repaired(b):
    """What lingerd shows for bytes b: each byte that is not part of valid UTF-8 becomes
    U+FFFD (the names above use only bytes that are invalid on their own)."""
    return b.decode("utf-8", "replace")


def spawn(name, unshare):
    arg = (b'"\\\n\xff<script>alert(1)</script>' * (BIG // 32 + 1))[:BIG]
    env = dict(os.environ, HN_NAME=name.hex(), HN_UNSHARE="1" if unshare else "0")
    p = subprocess.Popen([b"\xff<svg onload=x>", "-c", CHILD, arg], executable=sys.executable,
                         stdout=subprocess.PIPE, env=env)
    line = p.stdout.readline()
    if not line.strip():
        p.kill()
        raise RuntimeError("child %r did not start" % name)
    return p, int(line)


def strict_json(tc, body, what):
    """Parses body as UTF-8 JSON, refusing invalid UTF-8 and raw control characters."""
    try:
        return json.loads(body.decode("utf-8", "strict"), strict=True)
    except (UnicodeDecodeError, ValueError) as e:
        tc.fail("%s: not valid UTF-8 JSON: %s" % (what, e))


def wait_attributed(d, pids, timeout=60):
    """Until every child's two sockets carry its pid (other namespaces on the host may hold
    many more sockets, so each is asked for by pid, and a snapshot of them all can take
    seconds under the sanitizers)."""
    deadline = time.time() + timeout
    left = set(pids)
    while left and time.time() < deadline:
        for pid in list(left):
            st, _, body = d.get("/api/v1/sockets?netns=all&pid=%d" % pid)
            if st == 200 and body.get("matched") == 2:
                left.discard(pid)
        time.sleep(0.2)
    return not left


def check_json_answers(tc, d, children):
    paths = [
        "/healthz", "/api/v1/snapshot?netns=all", "/api/v1/netns",
        "/api/v1/sockets?netns=all&limit=1000", "/api/v1/sockets?state=CLOSE_WAIT&netns=all",
        "/api/v1/states", "/api/v1/states/CLOSE_WAIT",
        "/api/v1/lingering?group_by=process&netns=all", "/api/v1/lingering?group_by=local_port",
        "/api/v1/lingering?group_by=remote", "/api/v1/findings?min_age=0&netns=all",
        "/api/v1/findings?min_age=0", "/api/v1/system", "/api/v1/trends?from=-15m&by=process",
        "/api/v1/trends?from=-15m",
    ]
    bodies = {}
    for name, (p, _) in children.items():
        paths.append("/api/v1/sockets?netns=all&pid=%d" % p.pid)
        paths.append("/api/v1/lingering?group_by=process&netns=%s" % own_netns(name, p))
    for p in paths:
        st, hdrs, raw = d.get(p, raw=True)
        tc.assertEqual(st, 200, "GET %s" % p)
        tc.assertTrue(hdrs.get("Content-Type", "").startswith("application/json"), "%s is JSON" % p)
        bodies[p] = strict_json(tc, raw, p)
    # Each name arrives exactly, in the sockets and in the process grouping.
    for name, (p, _port) in children.items():
        mine = (bodies["/api/v1/sockets?netns=all&pid=%d" % p.pid] or {}).get("sockets", [])
        tc.assertEqual(sorted(s["state"] for s in mine), ["CLOSE_WAIT", "LISTEN"],
                 "sockets of %r" % name)
        for s in mine:
            tc.assertEqual(s.get("comm"), repaired(name), "comm of pid %d" % p.pid)
            cl = s.get("cmdline") or ""
            tc.assertTrue(cl.startswith("\ufffd<svg onload=x> -c "), "cmdline of %r starts with argv[0]: %r"
                  % (name, cl[:40]))
            tc.assertTrue(0 < len(cl.encode()) <= 8 * 1024, "cmdline of %r is bounded: %d bytes"
                  % (name, len(cl.encode())))
        groups = (bodies["/api/v1/lingering?group_by=process&netns=%s" % own_netns(name, p)]
                  or {}).get("groups", [])
        g = [x for x in groups if x.get("pid") == p.pid]
        tc.assertTrue(g and g[0].get("comm") == repaired(name),
              "lingering group of %r: %r" % (name, g and g[0].get("comm")))
    return bodies


def own_netns(name, p):
    """The netns= value that selects the namespace a child's sockets live in."""
    return "pid:%d" % p.pid if name == NAMES[-1] else "self"


def check_netns(tc, bodies, children):
    listed = (bodies["/api/v1/netns"] or {}).get("namespaces", [])
    names = [n.get("name") for n in listed]
    tc.assertTrue(repaired(NETNS_NAME) in names, "named namespace listed as %r: %r"
          % (repaired(NETNS_NAME), names))
    p = children[NAMES[-1]][0]
    mine = [n for n in listed if n.get("pid") == p.pid]
    tc.assertTrue(mine and mine[0].get("name") == "pid:%d" % p.pid and mine[0].get("comm") == repaired(NAMES[-1]),
          "a namespace without a file is named after its process, comm as text: %r" % mine)


def check_csv(tc, d, children):
    for name, (p, _) in children.items():
        raw = d.get("/api/v1/sockets?netns=all&pid=%d&format=csv" % p.pid, raw=True)[2]
        try:
            text = raw.decode("utf-8", "strict")
        except UnicodeDecodeError as e:
            tc.fail("CSV of %r is not valid UTF-8: %s" % (name, e))
        rows = list(csv.DictReader(io.StringIO(text)))
        tc.assertEqual(len(rows), 2, "CSV rows of %r" % name)
        want = repaired(name)
        lead = "'" if want[:1] and want[:1] in "=+-@\t\r" else ""
        # Control characters (C0, DEL, C1) would drive a terminal: U+FFFD in CSV.
        want = lead + "".join("\ufffd" if ord(ch) < 0x20 or 0x7f <= ord(ch) <= 0x9f else ch
                              for ch in want)
        for r in rows:
            tc.assertEqual(r.get("comm"), want, "CSV comm of %r (formulas and controls defused)" % name)


def check_metrics(tc, d):
    raw = d.get("/metrics", raw=True)[2]
    try:
        raw.decode("utf-8", "strict")
    except UnicodeDecodeError as e:
        tc.fail("/metrics is not valid UTF-8: %s" % e)
    promtool = shutil.which("promtool")
    if not promtool:
        tc.skipTest("promtool not installed (scripts/deps-monitoring.sh): /metrics checked for UTF-8 only")
    p = subprocess.run([promtool, "check", "metrics"], input=raw, capture_output=True)
    tc.assertEqual(p.returncode, 0, "promtool check metrics: %s" % (p.stdout + p.stderr).decode(errors="replace")[-800:])
    tc.assertTrue(b'netns="n\\"s\\\\<i>x\xef\xbf\xbd"' in raw,
          "the hostile namespace name is an escaped, repaired label value")


def check_page(tc, d, children):
    if not (shutil.which("node") and shutil.which("chromium")):
        tc.skipTest("node or chromium missing (scripts/deps-web.sh): the page is not checked")
    tc.assertEqual(npm_ci(NODE_DIR, os.path.join("playwright-core", "package.json")), "",
                   "npm ci in tests/dashboard")
    env = dict(os.environ, LINGERD_URL=d.base, CHROMIUM=shutil.which("chromium"))
    p = subprocess.run(["node", os.path.join(NODE_DIR, "names.mjs")], capture_output=True,
                       text=True, env=env, timeout=120, cwd=NODE_DIR)
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    tc.assertTrue(p.returncode == 0 and lines, "names.mjs ran (rc %d): %s" % (p.returncode, p.stderr[-1500:]))
    res = json.loads(lines[-1])
    tc.assertTrue(not res.get("fatal"), "browser: %s" % res.get("fatal"))
    tc.assertEqual(res.get("csp_violations"), [], "CSP violations")
    tc.assertEqual(res.get("page_errors"), [], "page errors")
    tc.assertEqual(res.get("injected"), [], "elements or handlers the names would have created")
    shown = set(res.get("socket_names", []))
    offenders = set(res.get("offender_names", []))
    # The page shows this namespace; the last child lives in a namespace of its own.
    for name in NAMES[:-1]:
        tc.assertTrue(repaired(name) in shown, "sockets table shows %r literally: %r" % (repaired(name), sorted(shown)))
        tc.assertTrue(repaired(name) in offenders, "offenders show %r literally: %r" % (repaired(name), sorted(offenders)))
    tc.assertTrue(any(t.startswith("\ufffd<svg onload=x> -c ") for t in res.get("titles", [])),
          "the command line is a title attribute, as text: %r" % res.get("titles", [])[:2])


class HostileNames(DaemonCase):
    """The six hostile processes (the last in a namespace of its own) and a namespace with a
    hostile file name, in this test's own /run/netns; one daemon follows every namespace."""

    where = "netns"
    daemon_args = ("--interval", "0.2", "--attribution-interval", "0.2", "--netns", "all",
                   "--metrics-netns")
    first_snapshots = 0

    @classmethod
    def setUpClass(cls):
        # This mount namespace's own /run/netns: the test sees no other namespace files.
        os.makedirs("/run/netns", exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/run/netns"], check=True)
        if subprocess.run(["ip", "netns", "add", NETNS_NAME], capture_output=True).returncode != 0:
            print("note: cannot create a named network namespace here", flush=True)
        cls.addClassCleanup(subprocess.run, ["ip", "netns", "del", NETNS_NAME], capture_output=True)
        cls.children = {}

        def kill_children():
            for p, _ in cls.children.values():
                p.kill()
                p.wait()
        cls.addClassCleanup(kill_children)
        for n in NAMES:
            cls.children[n] = spawn(n, unshare=(n == NAMES[-1]))
        super().setUpClass()
        cls.bodies = None

    def json_answers(self):
        """Every JSON answer, fetched and checked once for the class."""
        if type(self).bodies is None:
            type(self).bodies = check_json_answers(self, self.d, self.children)
        return type(self).bodies

    def test_attributed(self):
        pids = {p.pid for p, _ in self.children.values()}
        self.assertTrue(wait_attributed(self.d, pids), "every hostile process attributed: %s"
                        % self.d.log()[-800:])

    def test_json_answers(self):
        self.json_answers()

    def test_netns(self):
        check_netns(self, self.json_answers(), self.children)

    def test_csv(self):
        check_csv(self, self.d, self.children)

    def test_metrics(self):
        check_metrics(self, self.d)

    def test_page(self):
        check_page(self, self.d, self.children)

    def test_exit(self):
        rc, secs = self.d.stop()
        self.assertEqual(rc, 0, "lingerd exits 0 after serving the names")


if __name__ == "__main__":
    # A private network and mount namespace, so that /run/netns is this test's own.
    main(netns=["-n", "-m", "--propagation", "private"])
