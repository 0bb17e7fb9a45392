"""Time on a bad day: durations run on the boot clock, so stepping only the daemon's wall clock
(tests/shim/faultshim.c, LD_PRELOAD) back an hour or forward two hours leaves ages, findings and
staleness true, and a forward step of days does not make retention delete history.  Sockets that
were there before lingerd started carry ages marked as lower bounds, in JSON, CSV and /metrics."""
import os
import socket
import sqlite3
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from lingerd_test import Daemon, TestCase, main  # noqa: E402

SHIM = os.environ.get("LINGERD_FAULTSHIM")
INTERVAL = 0.5


def close_wait():
    """A CLOSE_WAIT held by this process: (listener, the held end, its local port)."""
    ln = socket.socket()
    ln.bind(("127.0.0.1", 0))
    ln.listen(4)
    c = socket.create_connection(ln.getsockname())
    a, _ = ln.accept()
    c.close()
    return ln, a, ln.getsockname()[1]


@unittest.skipUnless(SHIM and os.path.exists(SHIM), "the fault shim was not built (LINGERD_FAULTSHIM)")
class WallClockSteps(TestCase):
    def setUp(self):
        self.faults = tempfile.mkdtemp(prefix="lingerd-time-")
        self.old = close_wait()  # there before lingerd: its age is a lower bound
        self.addCleanup(lambda: [s.close() for s in self.old[:2]])

    def shift(self, seconds):
        with open(os.path.join(self.faults, "realtime_offset.tmp"), "w") as f:
            f.write("%f\n" % seconds)
        os.rename(os.path.join(self.faults, "realtime_offset.tmp"),
                  os.path.join(self.faults, "realtime_offset"))

    def start(self, *args):
        env = dict(os.environ, LD_PRELOAD=SHIM, LINGERD_FAULT_DIR=self.faults,
                   ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0")
        d = Daemon("--interval", str(INTERVAL), *args, env=env)
        self.addCleanup(d.close)
        d.wait_snapshots(2)
        return d

    def sock(self, d, port):
        for s in d.json("/api/v1/sockets?state=CLOSE_WAIT&limit=1000")["sockets"]:
            if s["local"]["port"] == port:
                return s
        return None

    def test_ages_are_lower_bounds_for_sockets_older_than_lingerd(self):
        d = self.start()
        new = close_wait()
        self.addCleanup(lambda: [s.close() for s in new[:2]])
        d.wait_snapshots(2)
        old_s, new_s = self.sock(d, self.old[2]), self.sock(d, new[2])
        self.assertTrue(old_s["age_lower_bound"], old_s)
        self.assertTrue(old_s["first_seen_lower_bound"], old_s)
        self.assertFalse(new_s["age_lower_bound"], new_s)
        self.assertFalse(new_s["first_seen_lower_bound"], new_s)
        st, hdrs, csv = d.get("/api/v1/sockets?state=CLOSE_WAIT&format=csv", raw=True)
        header = csv.decode().splitlines()[0].split(",")
        self.assertIn("age_lower_bound", header)
        rows = [dict(zip(header, line.split(","))) for line in csv.decode().splitlines()[1:]]
        marks = {r["local_port"]: r["age_lower_bound"] for r in rows}
        self.assertEqual(marks.get(str(self.old[2])), "true")
        self.assertEqual(marks.get(str(new[2])), "false")
        st, _, metrics = d.get("/metrics", raw=True)
        self.assertIn(b"lower bound", metrics, "the oldest-age series say their ages may be lower bounds")

    def test_steps_back_and_forward_leave_ages_and_findings_true(self):
        ln, held, port = close_wait()
        self.addCleanup(lambda: (ln.close(), held.close()))
        d = self.start()
        t0 = time.monotonic()
        d.wait_snapshots(2)
        before = self.sock(d, port)["age_s"]
        self.shift(-3600)
        d.wait_snapshots(3)
        after_back = self.sock(d, port)
        elapsed = time.monotonic() - t0
        self.assertGreaterEqual(after_back["age_s"], before, "an age never shrinks when the clock steps back")
        self.assertLess(after_back["age_s"], elapsed + 5, "nor jumps")
        h = d.get("/healthz")[2]
        self.assertEqual(h["problems"], [], "a step back is no stall: %r" % h)
        found = d.json("/api/v1/findings?min_age=1")["findings"]
        self.assertTrue(any(f.get("state") == "CLOSE_WAIT" or "CLOSE_WAIT" in str(f) for f in found),
                        "the leak stays visible after a step back: %r" % found)

        self.shift(7200)
        d.wait_snapshots(3)
        after_fwd = self.sock(d, port)
        elapsed = time.monotonic() - t0
        self.assertLess(after_fwd["age_s"], elapsed + 5, "a step forward does not age sockets by hours")
        crit = [f for f in d.json("/api/v1/findings")["findings"] if f["severity"] == "critical"]
        self.assertEqual(crit, [], "no finding turns critical because the clock jumped")
        self.assertIn("stepped forward", d.log())
        self.assertIn("stepped back", d.log())

    def test_forward_step_of_days_keeps_history(self):
        d = self.start("--retention", "1d")
        d.wait_snapshots(4)
        con = sqlite3.connect(d.db)
        # Just past the newest committed row: a snapshot already published may commit
        # after this read (publish first, then write), and must not count as history.
        cut = con.execute("SELECT max(taken_at) FROM snapshots").fetchone()[0] + 0.001
        old = "SELECT count(*) FROM snapshots WHERE taken_at < ?"
        n0 = con.execute(old, (cut,)).fetchone()[0]
        self.assertGreater(n0, 2)
        self.shift(10 * 86400)
        # The next retention pass comes a minute of boot-clock time after the first.
        time.sleep(62)
        d.wait_snapshots(2)
        n1 = con.execute(old, (cut,)).fetchone()[0]
        newer = con.execute("SELECT count(*) FROM snapshots WHERE taken_at > ?",
                            (cut + 9 * 86400,)).fetchone()[0]
        con.close()
        self.assertGreater(newer, 0, "rows written after the step carry the clock's dates")
        self.assertEqual(n1, n0, "retention deleted history because the clock jumped 10 days")
        self.assertIn("stepped forward", d.log())


if __name__ == "__main__":
    main()
