"""The daemon as a process on a bad day: signals operators send by habit do not kill it,
closed stdio never lets a log line into the database, `--once` stops on Ctrl-C even while its
disk is frozen, SIGTERM is bounded when the disk stalls, and a database held locked by another
connection delays neither the published snapshot nor /healthz (whose error is SQLite's own)."""
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from lingerd_test import BIN, Daemon, TestCase, main  # noqa: E402

INTERVAL = 0.5


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthz(port):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


class FrozenDisk:
    """A small ext4 filesystem on a loop device that the test can freeze (fsfreeze)."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="lingerd-frozen-")
        self.img = os.path.join(self.tmp, "fs.img")
        self.mnt = os.path.join(self.tmp, "mnt")
        os.mkdir(self.mnt)
        with open(self.img, "wb") as f:
            f.truncate(32 << 20)
        subprocess.run(["mkfs.ext4", "-q", "-F", self.img], check=True)
        subprocess.run(["mount", "-o", "loop", self.img, self.mnt], check=True)
        self.frozen = False

    def freeze(self):
        subprocess.run(["fsfreeze", "-f", self.mnt], check=True)
        self.frozen = True

    def thaw(self):
        if self.frozen:
            subprocess.run(["fsfreeze", "-u", self.mnt], check=True)
            self.frozen = False

    def close(self):
        self.thaw()
        subprocess.run(["umount", "-l", self.mnt])
        subprocess.run(["rm", "-rf", self.tmp])


def can_freeze():
    if os.geteuid() != 0:
        return False
    try:
        FrozenDisk().close()
        return True
    except (OSError, subprocess.CalledProcessError):
        return False


class Signals(TestCase):
    def test_habitual_signals_do_not_kill(self):
        d = Daemon("--interval", str(INTERVAL))
        self.addCleanup(d.close)
        for sig in (signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM):
            d.proc.send_signal(sig)
            time.sleep(0.2)
            self.assertIsNone(d.proc.poll(), "%s killed lingerd" % sig.name)
            self.assertEqual(d.get("/healthz")[0], 200)
        log = d.log()
        for name in ("SIGUSR1", "SIGUSR2", "SIGALRM"):
            self.assertIn("%s ignored" % name, log)
        self.assertIn("SIGHUP: nothing to re-read", log)
        rc, took = d.stop()
        self.assertEqual(rc, 0)

    def test_sighup_rotates_the_token(self):
        tmp = tempfile.mkdtemp(prefix="lingerd-token-")
        path = os.path.join(tmp, "token")
        old, new = "a" * 24, "b" * 24
        with open(path, "w") as f:
            f.write(old + "\n")
        d = Daemon("--interval", str(INTERVAL), "--token-file", path)
        self.addCleanup(d.close)

        def status(token):
            return d.get("/api/v1/snapshot", headers={"Authorization": "Bearer " + token})[0]
        self.assertEqual((status(old), status(new)), (200, 401))
        with open(path, "w") as f:
            f.write(new + "\n")
        d.proc.send_signal(signal.SIGHUP)
        end = time.monotonic() + 5
        while status(new) != 200:
            self.assertLess(time.monotonic(), end, "the new token was not taken: " + d.log())
            time.sleep(0.1)
        self.assertEqual(status(old), 401, "the old token no longer opens the API")
        with open(path, "w") as f:
            f.write("short\n")  # unusable: the current token stays
        d.proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        self.assertEqual(status(new), 200)
        self.assertIn("keeping the current token", d.log())
        self.assertIsNone(d.proc.poll())

    def test_closed_stdio_keeps_logs_out_of_the_database(self):
        tmp = tempfile.mkdtemp(prefix="lingerd-stdio-")
        db = os.path.join(tmp, "lingerd.db")
        port = free_port()
        # stdout and stderr closed in the child before exec: the database (opened first by
        # the writer's lock) would take fd 1 or 2, and log lines would overwrite its header.
        p = subprocess.Popen([BIN, "--listen", "127.0.0.1:%d" % port, "--db", db,
                              "--interval", str(INTERVAL)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             preexec_fn=lambda: [os.close(fd) for fd in (1, 2)])
        self.addCleanup(p.kill)
        end = time.monotonic() + 10
        while healthz(port) != 200:
            self.assertIsNone(p.poll(), "lingerd exited with closed stdio")
            self.assertLess(time.monotonic(), end, "lingerd never answered")
            time.sleep(0.1)
        time.sleep(3 * INTERVAL)
        p.send_signal(signal.SIGHUP)  # one more log line, late
        time.sleep(0.2)
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(10), 0)
        with open(db, "rb") as f:
            self.assertEqual(f.read(16), b"SQLite format 3\0", "the database header is intact")
        con = sqlite3.connect(db)
        self.assertEqual(con.execute("PRAGMA quick_check").fetchone()[0], "ok")
        self.assertGreater(con.execute("SELECT count(*) FROM snapshots").fetchone()[0], 2)
        con.close()


class LowFdLimit(unittest.TestCase):
    def test_connections_leave_fds_for_sampling(self):
        d = Daemon("--interval", str(INTERVAL), prefix=["prlimit", "--nofile=64:64", "--"])
        self.addCleanup(d.close)
        self.assertIn("fd limit (64)", d.log(), "the small limit is said at start")
        d.wait_snapshots(2)
        flood = []
        t0 = time.time()
        try:
            for _ in range(120):  # far more clients than the limit has fds
                try:
                    flood.append(socket.create_connection(("127.0.0.1", d.port), timeout=2))
                except OSError:
                    break
            time.sleep(8 * INTERVAL)
        finally:
            t1 = time.time()
            for c in flood:
                c.close()
        d.wait_snapshots(2, timeout=30)
        # Every snapshot taken while the connections were held read the kernel's counters:
        # the files the sampler opens each time found a free descriptor.
        con = sqlite3.connect(d.db)
        rows = con.execute("SELECT count(*), count(k_active_opens), count(k_sockets_inuse) "
                           "FROM snapshots WHERE taken_at BETWEEN ? AND ?", (t0, t1)).fetchone()
        con.close()
        self.assertGreaterEqual(rows[0], 4, "snapshots went on during the flood: %r" % (rows,))
        self.assertEqual(rows[1:], (rows[0], rows[0]), "kernel counters missing: %r" % (rows,))
        self.assertNotIn("Too many open files", d.log())


@unittest.skipUnless(can_freeze(), "needs root, loop devices and fsfreeze")
class StalledDisk(TestCase):
    def setUp(self):
        self.disk = FrozenDisk()
        self.addCleanup(self.disk.close)

    def test_sigterm_is_bounded_when_the_disk_freezes(self):
        d = Daemon("--interval", str(INTERVAL), db=os.path.join(self.disk.mnt, "lingerd.db"))
        self.addCleanup(d.close)
        d.wait_snapshots(2)
        self.disk.freeze()
        time.sleep(4 * INTERVAL)  # a snapshot's write is now stuck on the frozen disk
        self.assertEqual(d.get("/healthz")[0], 200, "the published snapshot does not wait")
        t0 = time.monotonic()
        d.proc.send_signal(signal.SIGTERM)
        # A thread stuck in a write to a frozen filesystem cannot be interrupted (the kernel
        # holds it uninterruptibly), so the process ends when the disk thaws; but lingerd
        # stops serving, releases its port and says why within the bound.
        while "did not answer" not in d.log():
            self.assertLess(time.monotonic() - t0, 6.0, "no bounded stop: " + d.log())
            time.sleep(0.1)
        took = time.monotonic() - t0
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", d.port), timeout=2).close()
        self.disk.thaw()
        self.assertEqual(d.proc.wait(10), 0, d.log())
        self.assertLess(took, 6.0)
        print("SIGTERM with a frozen disk: port released and stop logged after %.1fs" % took)


class LockedDatabase(TestCase):
    def test_once_stops_on_ctrl_c(self):
        tmp = tempfile.mkdtemp(prefix="lingerd-once-")
        db = os.path.join(tmp, "once.db")
        subprocess.run([BIN, "--once", "--db", db], stdout=subprocess.DEVNULL, check=True)
        con = sqlite3.connect(db, timeout=10, isolation_level=None)
        con.execute("BEGIN EXCLUSIVE")  # --once now waits for the lock
        self.addCleanup(con.close)
        p = subprocess.Popen([BIN, "--once", "--db", db], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        self.addCleanup(p.kill)
        time.sleep(1.0)
        self.assertIsNone(p.poll(), "--once finished although its database is locked")
        p.send_signal(signal.SIGINT)
        try:
            rc = p.wait(2)
        except subprocess.TimeoutExpired:
            self.fail("--once ignored SIGINT")
        self.assertEqual(rc, -signal.SIGINT)

    def test_publish_does_not_wait_for_the_database(self):
        d = Daemon("--interval", str(INTERVAL))
        self.addCleanup(d.close)
        d.wait_snapshots(2)
        con = sqlite3.connect(d.db, timeout=10, isolation_level=None)
        con.execute("BEGIN IMMEDIATE")  # holds the write lock
        worst = 0.0
        errors = set()
        end = time.monotonic() + 7.0
        while time.monotonic() < end:
            st, _, h = d.get("/healthz")
            self.assertNotIn("sampler_stalled", h["problems"], h)
            worst = max(worst, time.time() - h["last_snapshot_at"])
            if h["db"] != "ok":
                errors.add(h["db"])
            time.sleep(0.1)
        con.execute("ROLLBACK")
        con.close()
        self.assertLess(worst, 4 * INTERVAL, "the published snapshot aged %.1fs" % worst)
        self.assertTrue(errors, "a write held off for 7 s shows in /healthz")
        for e in errors:
            self.assertIn("locked", e, "SQLite's own message, not the rollback's: %r" % e)
        d.wait_snapshots(3)
        self.assertEqual(d.get("/healthz")[2]["db"], "ok", "writes resume once the lock is gone")


if __name__ == "__main__":
    main()
