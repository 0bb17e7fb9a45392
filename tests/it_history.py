"""History that stays true: every minute and hour rollup equals what its snapshot rows say
(min, max, sum, n, last, computed here with sqlite3 from the raw rows) across a stop and a
restart inside one minute and one hour, after a short run, and after a snapshot whose
transaction failed as a minute ended; the current hour is served at hour resolution.  The
daemon's wall clock is placed in the minute by tests/shim/faultshim.c, which also fails the
WAL's writes for a moment on demand."""
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from lingerd_test import Daemon, Teardown, in_private_netns  # noqa: E402

SHIM = os.environ.get("LINGERD_FAULTSHIM")
INTERVAL = 0.5
# Holds a listener and 2 CLOSE_WAIT (the peer closed, this side never does) until killed.
HOLDER = r"""
import socket, sys, time
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(8)
held = []
for _ in range(2):
    c = socket.create_connection(l.getsockname()); s, _ = l.accept(); c.close(); held.append(s)
print(l.getsockname()[1], flush=True)
time.sleep(3600)
"""
STATES = ["established", "syn_sent", "syn_recv", "fin_wait1", "fin_wait2", "time_wait",
          "close", "close_wait", "last_ack", "listen", "closing"]


def expected_rollups(con, res):
    """{(t, state): [min, max, sum, n, last]} from the snapshots table, the slow obvious way."""
    out = {}
    for row in con.execute("SELECT taken_at, %s FROM snapshots ORDER BY taken_at, id"
                           % ", ".join(STATES)):
        t = int(row[0]) - int(row[0]) % res
        for i in range(1, len(STATES) + 1):
            v = row[i]
            a = out.setdefault((t, i), [v, v, 0, 0, v])
            a[0], a[1], a[2], a[3], a[4] = min(a[0], v), max(a[1], v), a[2] + v, a[3] + 1, v
    return out


def stored_rollups(con, res):
    return {(t, st): [mn, mx, sm, n, last] for t, st, mn, mx, sm, n, last in
            con.execute("SELECT t, state, min, max, sum, n, last FROM rollups WHERE res = ?",
                        (res,))}


class History(unittest.TestCase):
    def setUp(self):
        self.faults = tempfile.mkdtemp(prefix="lingerd-history-")
        self.db = os.path.join(self.faults, "lingerd.db")
        self.env = dict(os.environ, LD_PRELOAD=SHIM, LINGERD_FAULT_DIR=self.faults,
                        ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") +
                        ":verify_asan_link_order=0")

    def place_clock(self, second_of_minute):
        """Sets the daemon's wall clock to second_of_minute of minute 2 of the next hour:
        far from any hour's end, and the test knows which minute it is in."""
        hour = (int(time.time()) // 3600 + 1) * 3600
        target = hour + 120 + second_of_minute
        with open(os.path.join(self.faults, "realtime_offset"), "w") as f:
            f.write("%.3f\n" % (target - time.time()))
        return hour, hour + 120

    def daemon(self):
        d = Daemon("--interval", str(INTERVAL), db=self.db, env=self.env)
        self.addCleanup(d.close)
        return d

    def stop(self, d):
        rc, _ = d.stop()
        self.assertEqual(rc, 0, d.log())

    def check_rollups_equal_raw(self, what):
        con = sqlite3.connect(self.db)
        self.addCleanup(con.close)
        for res in (60, 3600):
            want = expected_rollups(con, res)
            got = stored_rollups(con, res)
            self.assertTrue(want, "%s: no snapshots" % what)
            self.assertEqual(got, want, "%s: %s rollups against the snapshot rows"
                             % (what, "minute" if res == 60 else "hour"))
        # A group's rows count every snapshot of the bucket (absent ones as 0).
        bad = con.execute("SELECT count(*) FROM group_rollups g JOIN rollups r"
                          " ON r.res = g.res AND r.t = g.t AND r.state = 1"
                          " WHERE g.n != r.n").fetchone()[0]
        self.assertEqual(bad, 0, "%s: group rows whose n is not the bucket's" % what)
        groups = con.execute("SELECT count(*) FROM group_rollups").fetchone()[0]
        self.assertGreater(groups, 0, "%s: the test's CLOSE_WAIT makes group rows" % what)
        con.close()

    @unittest.skipUnless(SHIM and os.path.exists(SHIM), "the fault shim was not built")
    def test_restart_inside_one_minute_and_hour(self):
        hour, minute = self.place_clock(5)
        held = Teardown()
        self.addCleanup(held.close)
        d = self.daemon()
        d.wait_snapshots(6)
        self.stop(d)
        # A short run leaves its rollups, equal to its snapshots.
        self.check_rollups_equal_raw("after a short run")
        # A group that only the second run sees: 3 CLOSE_WAIT on one port, which ranks it
        # among the 20 ports kept per snapshot ahead of the TIME_WAIT that earlier
        # tests' HTTP requests leave behind, one per client port.
        held2 = Teardown()
        self.addCleanup(held2.close)
        port2 = held2.close_wait_local
        pair = []
        for _ in range(2):
            c = socket.create_connection(("127.0.0.1", port2))
            a, _ = held2.listener.accept()
            c.shutdown(socket.SHUT_WR)
            pair += [c, a]
        self.addCleanup(lambda: [x.close() for x in pair])
        d = self.daemon()
        d.wait_snapshots(6)
        # The current hour is served at hour resolution, whole host and by group.
        body = d.json("/api/v1/trends?resolution=hour&from=-2h&states=CLOSE_WAIT")
        pts = [p for s in body["series"] for p in s["points"]]
        self.assertTrue(any(p[0] == hour for p in pts), "the current hour at hour resolution: %r"
                        % body)
        body = d.json("/api/v1/trends?resolution=hour&from=-2h&states=CLOSE_WAIT&by=local_port")
        self.assertIn(str(port2), [s["group"] for s in body["series"]], body)
        self.stop(d)
        self.check_rollups_equal_raw("after a restart")
        con = sqlite3.connect(self.db)
        n_raw = con.execute("SELECT count(*) FROM snapshots WHERE taken_at >= ? AND taken_at < ?",
                            (minute, minute + 60)).fetchone()[0]
        n_min = con.execute("SELECT n FROM rollups WHERE res = 60 AND t = ? AND state = 1",
                            (minute,)).fetchone()
        con.close()
        self.assertGreaterEqual(n_raw, 12, "both runs fell in the placed minute")
        self.assertEqual(n_min, (n_raw,))

    @unittest.skipUnless(SHIM and os.path.exists(SHIM), "the fault shim was not built")
    def test_failed_commit_as_a_minute_ends(self):
        hour, minute = self.place_clock(55)
        held = Teardown()
        self.addCleanup(held.close)
        # The first snapshots of the next minute fail at their commit (the WAL cannot be
        # written), where the minute that ended used to be flushed and forgotten.
        with open(os.path.join(self.faults, "wal_write_fail"), "w") as f:
            f.write("%d %.1f\n" % (minute + 60, minute + 61.2))
        d = self.daemon()
        deadline = time.time() + 20
        while "snapshots recorded again" not in d.log():
            self.assertLess(time.time(), deadline, "no failed commit and recovery: " + d.log())
            time.sleep(0.2)
        d.wait_snapshots(4)
        self.stop(d)
        self.assertIn("snapshot failed", d.log())
        con = sqlite3.connect(self.db)
        ended = con.execute("SELECT n FROM rollups WHERE res = 60 AND t = ? AND state = 1",
                            (minute,)).fetchone()
        con.close()
        self.assertIsNotNone(ended, "the minute that ended keeps its rollup")
        self.check_rollups_equal_raw("after a failed commit")


    @unittest.skipUnless(SHIM and os.path.exists(SHIM), "the fault shim was not built")
    def test_growth_like_with_like_from_the_first_minute(self):
        """Two steady processes of one name, each with 2 CLOSE_WAIT and a listener: each pid
        grows by 0 a minute (not the name's 4 against one pid's 2), and so does each
        listening port, from the first minute on (not after five)."""
        holders, ports = [], []
        for _ in range(2):
            p = subprocess.Popen([sys.executable, "-c", HOLDER], stdout=subprocess.PIPE,
                                 text=True)
            self.addCleanup(p.kill)
            holders.append(p)
            ports.append(int(p.stdout.readline()))
        self.place_clock(10)
        d = self.daemon()
        d.wait_snapshots(3)
        # 70 s later for the daemon (both clocks): a kept snapshot is over a minute old.
        with open(os.path.join(self.faults, "realtime_offset")) as f:
            off = float(f.read())
        with open(os.path.join(self.faults, "realtime_offset"), "w") as f:
            f.write("%.3f\n" % (off + 70))
        with open(os.path.join(self.faults, "boottime_offset"), "w") as f:
            f.write("70\n")
        d.wait_snapshots(3)
        body = d.json("/api/v1/lingering?group_by=process&states=CLOSE_WAIT")
        mine = {g["pid"]: g for g in body["groups"] if g.get("pid") in
                [h.pid for h in holders]}
        self.assertEqual(sorted(mine), sorted(h.pid for h in holders), body)
        for g in mine.values():
            self.assertEqual(g["total"], 2)
            self.assertEqual(g["growth_per_min"], 0, g)
        body = d.json("/api/v1/lingering?group_by=local_port&states=LISTEN")
        listening = {g["local_port"]: g for g in body["groups"]}
        for port in ports:
            self.assertEqual(listening[port]["growth_per_min"], 0, listening[port])
        found = d.json("/api/v1/findings?min_age=0")["findings"]
        leaks = [f for f in found if f["id"].startswith("close_wait_leak/")]
        self.assertTrue(leaks, found)
        for f in leaks:
            self.assertEqual(f["evidence"]["growth_per_min"], 0, f)


if __name__ == "__main__":
    # In a private network namespace, so that only the test's sockets linger.
    if "--in-netns" in sys.argv:
        sys.argv.remove("--in-netns")
    else:
        rc = in_private_netns(__file__)
        if rc is not None:
            sys.exit(rc)
        print("SKIP: no private network namespace here; running in the shared one")
    unittest.main(verbosity=2)
