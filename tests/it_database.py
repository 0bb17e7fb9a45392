"""The database file on a bad day: garbage at offset 4096 or in the middle of the file, found
at start (PRAGMA quick_check) or by a write while running, moves the file aside and lingerd
carries on with a fresh one (no restart loop, no 503 for good); a healthy file that cannot be
opened for another reason (a root-owned -shm file while lingerd runs unprivileged) is left
where it is and the error is named; a write that fails with EIO is not corruption either; a
database file deleted while lingerd runs is noticed, said in the log and /healthz, and
replaced by a new one that a second lingerd cannot take."""
import glob
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from lingerd_test import BIN, Daemon  # noqa: E402

SHIM = os.environ.get("LINGERD_FAULTSHIM")
INTERVAL = 0.5
NOISE = bytes((i * 151 + 17) & 0xff for i in range(4096))


def poll(what, cond, timeout=15):
    deadline = time.time() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.time() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.1)


def noise_over_page(path, pgno):
    with open(path, "r+b") as f:
        f.seek((pgno - 1) * 4096)
        f.write(NOISE)


def count_snapshots(path):
    con = sqlite3.connect(path, timeout=10)
    try:
        return con.execute("SELECT count(*) FROM snapshots").fetchone()[0]
    finally:
        con.close()


class Database(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lingerd-database-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.db = os.path.join(self.tmp, "lingerd.db")

    def daemon(self, *args, **kw):
        d = Daemon("--interval", str(INTERVAL), *args, db=self.db, **kw)
        self.addCleanup(d.close)
        return d

    def history(self, snapshots=40):
        """A database with some history in it, closed cleanly (everything in the main file)."""
        d = self.daemon("--interval", "0.1", "--persist-after", "0")
        d.wait_snapshots(snapshots)
        self.assertEqual(d.stop()[0], 0)

    def corrupt_files(self):
        return sorted(glob.glob(self.db + ".corrupt-*"))

    def assert_carries_on(self, d, what):
        """The daemon moved the file aside, said so, and writes a fresh database at the path."""
        self.assertIn("was corrupt", d.log(), what)
        self.assertTrue(self.corrupt_files(), "%s: the corrupt file is kept aside" % what)
        st, _, h = poll("a healthy /healthz", lambda: (lambda r: r[0] == 200 and r)(d.get("/healthz")))
        self.assertIn("corrupt", h["db_event"], what)
        d.wait_snapshots(3)
        self.assertGreater(count_snapshots(self.db), 0, "%s: a fresh database is written" % what)
        self.assertEqual(d.get("/api/v1/trends?from=-60")[0], 200, "%s: trends read it" % what)

    def test_garbage_at_4096_at_start(self):
        self.history()
        noise_over_page(self.db, 2)
        d = self.daemon()  # used to fail on every start: a restart loop under systemd
        self.assert_carries_on(d, "garbage at offset 4096")

    def test_garbage_mid_file_at_start(self):
        self.history()
        con = sqlite3.connect(self.db)
        pages = con.execute("PRAGMA page_count").fetchone()[0]
        # The in-use page nearest the middle of the file (dbstat: every b-tree page).
        used = [p for (p,) in con.execute("SELECT pageno FROM dbstat")]
        con.close()
        mid = min(used, key=lambda p: abs(p - pages // 2))
        noise_over_page(self.db, mid)
        d = self.daemon()
        self.assert_carries_on(d, "garbage over page %d of %d" % (mid, pages))

    def test_garbage_while_running(self):
        d = self.daemon()
        d.wait_snapshots(4)
        con = sqlite3.connect(self.db, timeout=10, isolation_level=None)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every page in the main file
        roots = [r for (r,) in con.execute(
            "SELECT rootpage FROM sqlite_schema WHERE name IN ('snapshots', 'rollups')")]
        for r in roots:
            noise_over_page(self.db, r)
        # A write of another connection: lingerd's writer reads its pages afresh.
        con.execute("INSERT INTO meta (key, value) VALUES ('test', 'x')")
        con.close()
        poll("the corruption noticed", lambda: "was corrupt" in d.log())
        self.assert_carries_on(d, "garbage while running")
        self.assertIsNone(d.proc.poll())

    @unittest.skipUnless(os.geteuid() == 0, "needs root to make a root-owned -shm file")
    def test_root_owned_shm_is_not_corruption(self):
        os.chmod(self.tmp, 0o777)
        nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
        d = self.daemon(prefix=nobody)
        d.wait_snapshots(3)
        self.assertEqual(d.stop()[0], 0)
        before = count_snapshots(self.db)
        # Left by a root process that opened the database (sqlite3 as root, say).
        shm = self.db + "-shm"
        with open(shm, "wb") as f:
            f.write(b"\0" * 32768)
        os.chown(shm, 0, 0)
        os.chmod(shm, 0o600)
        with self.assertRaises(RuntimeError) as cm:
            self.daemon(prefix=nobody)
        msg = str(cm.exception)
        self.assertIn("cannot open database", msg)
        self.assertNotIn("corrupt", msg)
        self.assertEqual(self.corrupt_files(), [], "a healthy database stays where it is")
        print("root-owned -shm: " + msg.strip().splitlines()[-1])
        os.unlink(shm)
        self.assertEqual(count_snapshots(self.db), before)

    @unittest.skipUnless(SHIM and os.path.exists(SHIM), "the fault shim was not built")
    def test_io_error_while_running_is_not_corruption(self):
        faults = tempfile.mkdtemp(prefix="lingerd-faults-")
        self.addCleanup(shutil.rmtree, faults, True)
        env = dict(os.environ, LD_PRELOAD=SHIM, LINGERD_FAULT_DIR=faults,
                   ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0")
        d = self.daemon(env=env)
        d.wait_snapshots(2)
        now = time.time()
        with open(os.path.join(faults, "wal_write_fail"), "w") as f:
            f.write("%.1f %.1f\n" % (now, now + 2.0))
        st, _, h = poll("the failing writes in /healthz",
                        lambda: (lambda r: r[0] == 503 and r)(d.get("/healthz")))
        self.assertIn("database_failing", h["problems"])
        self.assertIn("I/O", h["db"], "the error is named as what it is: %r" % h["db"])
        poll("writes again", lambda: d.get("/healthz")[0] == 200)
        self.assertNotIn("db_event", d.get("/healthz")[2])
        self.assertEqual(self.corrupt_files(), [])
        self.assertNotIn("corrupt", d.log())

    def test_deleted_while_running(self):
        d = self.daemon()
        d.wait_snapshots(3)
        os.unlink(self.db)
        poll("the deletion noticed", lambda: "deleted" in d.log())
        h = d.get("/healthz")[2]
        self.assertIn("deleted", h.get("db_event", ""), h)
        d.wait_snapshots(3)
        self.assertEqual(d.get("/healthz")[0], 200)
        n = count_snapshots(self.db)
        self.assertGreater(n, 0, "the new file holds the snapshots since")
        d.wait_snapshots(2)
        self.assertGreater(count_snapshots(self.db), n)
        self.assertEqual(d.get("/api/v1/trends?from=-60")[0], 200)
        # The new file is locked: a second lingerd on the path is refused.
        p = subprocess.run([BIN, "--listen", "127.0.0.1:0", "--db", self.db],
                           capture_output=True, text=True, timeout=10)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("in use by another lingerd", p.stderr)
        self.assertIsNone(d.proc.poll())


if __name__ == "__main__":
    unittest.main(verbosity=2)
