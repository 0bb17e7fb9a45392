"""A followed namespace on a bad day: one failed dump keeps its last known sockets (ages and
lifetimes do not restart), marks it stale, turns /healthz degraded with the reason and logs it
once; the replacement netlink socket is made inside that namespace, so its counts stay its own
(checked against `ss -N`).  Without CAP_SYS_ADMIN, --netns all says why every other namespace is
unreadable: an error per namespace, /healthz degraded, one log line.  Faults are injected by
tests/shim/faultshim.c (LD_PRELOAD)."""
import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from lingerd_test import Daemon, TestCase, count_by_state, main, poll, ss_rows  # noqa: E402

SHIM = os.environ.get("LINGERD_FAULTSHIM")
NS = "lgfault%d" % os.getpid()
INTERVAL = 0.5

# Inside the namespace: a listener, three ESTABLISHED pairs and two CLOSE_WAITs, held.
HOLDER = r"""
import socket, time
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(16)
keep = [l]
for _ in range(3):
    c = socket.create_connection(l.getsockname()); a, _ = l.accept(); keep += [c, a]
for _ in range(2):
    c = socket.create_connection(l.getsockname()); a, _ = l.accept(); c.close(); keep.append(a)
print(l.getsockname()[1], flush=True)
time.sleep(600)
"""


def ss_counts(ns):
    return count_by_state(ss_rows(netns=ns))


def entry(d, name):
    for n in d.json("/api/v1/netns")["namespaces"]:
        if n["name"] == name:
            return n
    return None


def wait_for(what, fn, timeout=10.0):
    v = poll(fn, timeout, 0.1)
    if not v:
        raise AssertionError("timed out waiting for " + what)
    return v


@unittest.skipUnless(os.geteuid() == 0, "needs root to make network namespaces")
@unittest.skipUnless(SHIM and os.path.exists(SHIM), "the fault shim was not built (LINGERD_FAULTSHIM)")
class NamespaceFaults(TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        subprocess.run(["ip", "netns", "add", NS], check=True)
        cls.addClassCleanup(subprocess.run, ["ip", "netns", "del", NS])
        subprocess.run(["ip", "-n", NS, "link", "set", "lo", "up"], check=True)
        cls.holder = subprocess.Popen(["ip", "netns", "exec", NS, sys.executable, "-c", HOLDER],
                                      stdout=subprocess.PIPE, text=True)
        cls.addClassCleanup(cls.holder.kill)
        cls.holder.stdout.readline()
        cls.ino = os.stat("/run/netns/" + NS).st_ino

    def start(self, *args, prefix=None):
        faults = tempfile.mkdtemp(prefix="lingerd-faults-")
        env = dict(os.environ, LD_PRELOAD=SHIM, LINGERD_FAULT_DIR=faults,
                   ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0")
        d = Daemon("--netns", "all", "--interval", str(INTERVAL), *args, env=env, prefix=prefix)
        self.addCleanup(d.close)
        return d, faults

    def test_failed_dump_keeps_sockets_and_reopens_inside(self):
        d, faults = self.start()
        want = ss_counts(NS)
        wait_for("the namespace with its CLOSE_WAITs",
             lambda: (entry(d, NS) or {}).get("counts", {}).get("CLOSE_WAIT") == 2)
        before = {s["cookie"]: s["first_seen"] for s in
                  d.json("/api/v1/sockets?netns=%s&state=CLOSE_WAIT" % NS)["sockets"]}
        self.assertEqual(len(before), 2)

        # Eight failed receives: four snapshots in a row fail the one-walk dump and its retry
        # on a fresh socket, so the stale state lasts long enough to be seen on a slow host.
        with open(os.path.join(faults, "netns_recv_fail"), "w") as f:
            f.write("8 %d\n" % self.ino)
        seen = {}

        def stale_seen():
            st, _, body = d.get("/healthz")
            e = entry(d, NS)
            if e and e["stale"]:
                seen["entry"] = e
                if st == 503:
                    seen["health"] = (st, body)
            return "health" in seen and not e["stale"]
        wait_for("a stale snapshot of the namespace and then a fresh one", stale_seen)

        e = seen["entry"]
        self.assertEqual(e["error"], -105, "ENOBUFS is the namespace's error while stale")
        self.assertEqual(e["counts"].get("CLOSE_WAIT"), 2, "the stale namespace keeps its sockets")
        st, h = seen["health"]
        self.assertEqual(st, 503)
        self.assertIn("netns_unreadable", h["problems"])
        self.assertIn(NS, h["netns_error"])

        # The replacement socket was made inside the namespace: its counts are its own.
        time.sleep(3 * INTERVAL)
        now = entry(d, NS)
        self.assertIsNone(now["error"])
        got = {k: v for k, v in now["counts"].items() if v}
        self.assertEqual(got, want, "counts after the failure equal ss -N %s" % NS)
        after = {s["cookie"]: s["first_seen"] for s in
                 d.json("/api/v1/sockets?netns=%s&state=CLOSE_WAIT" % NS)["sockets"]}
        self.assertEqual(after, before, "the CLOSE_WAITs kept their first_seen across the failure")
        st, _, _ = d.get("/healthz")
        self.assertEqual(st, 200, "healthy again once the namespace is dumped")
        mine = [ln for ln in d.log().splitlines() if "cannot read" in ln and NS in ln]
        self.assertEqual(len(mine), 1, "logged once, not per snapshot: %r" % mine)

    def test_without_cap_sys_admin_says_why(self):
        prefix = ["setpriv", "--inh-caps=-sys_admin", "--bounding-set=-sys_admin"]
        d, _ = self.start(prefix=prefix)
        e = wait_for("the namespace listed with its error", lambda: entry(d, NS))
        self.assertEqual(e["error"], -1, "EPERM for a namespace lingerd may not enter")
        time.sleep(4 * INTERVAL)
        st, _, h = d.get("/healthz")
        self.assertEqual(st, 503)
        self.assertIn("netns_unreadable", h["problems"])
        self.assertIn("CAP_SYS_ADMIN", h["netns_error"])
        # Logged when a namespace first fails, not per snapshot (other tests' namespaces may
        # come and go meanwhile, each logged once).
        lines = [ln for ln in d.log().splitlines() if "needs CAP_SYS_ADMIN" in ln]
        self.assertGreaterEqual(len(lines), 1)
        d.wait_snapshots(6)
        again = [ln for ln in d.log().splitlines() if "needs CAP_SYS_ADMIN" in ln]
        self.assertLess(len(again) - len(lines), 3, "not logged on every snapshot: %r" % again)


if __name__ == "__main__":
    main()
