"""Hardening: tokens off loopback, one writer per database, unreadable databases, traversal,
kill -9 during ingest, SIGTERM under load, and no CLOSE_WAIT held by lingerd itself."""
import http.client
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from lingerd_test import BIN, Daemon, TestCase, main, raw_request  # noqa: E402


def lingerd_close_wait(pid):
    out = subprocess.run(["ss", "-Htanp", "state", "close-wait"], capture_output=True, text=True).stdout
    return sum(1 for line in out.splitlines() if "pid=%d," % pid in line)


class Hardening(TestCase):
    def test_token_and_binding(self):
        tmp = tempfile.mkdtemp(prefix="lingerd-hard-")
        self.addCleanup(shutil.rmtree, tmp, True)
        db = os.path.join(tmp, "t.db")
        # Non-loopback without a token: refused with a clear message.
        r = subprocess.run([BIN, "--listen", "0.0.0.0:0", "--db", db], capture_output=True, text=True,
                           timeout=10)
        self.assertEqual(r.returncode, 64, "non-loopback without --token-file exits 64")
        self.assertTrue("token-file" in r.stderr, "and says why")
        tok = os.path.join(tmp, "token")
        with open(tok, "w") as f:
            f.write("short\n")
        r = subprocess.run([BIN, "--listen", "127.0.0.1:0", "--db", db, "--token-file", tok],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 64, "a weak token is refused")
        secret = "s3cret-token-0123456789"
        with open(tok, "w") as f:
            f.write(secret + "\n")
        d = Daemon("--interval", "0.5", "--token-file", tok, listen="0.0.0.0:0")
        try:
            d.base = "http://127.0.0.1:%d" % d.port
            st, hdrs, body = d.get("/api/v1/snapshot")
            self.assertEqual(st, 401, "API without token is 401")
            self.assertTrue(hdrs.get("WWW-Authenticate", "").startswith("Bearer"), "WWW-Authenticate: Bearer")
            self.assertEqual(body["error"]["code"], "unauthorized", "401 code")
            st, _, _ = d.get("/api/v1/snapshot", headers={"Authorization": "Bearer " + secret})
            self.assertEqual(st, 200, "API with the token is 200")
            st, _, _ = d.get("/metrics", headers={"Authorization": "bearer " + secret})
            self.assertEqual(st, 200, "the auth scheme is case-insensitive")
            for bad in ("Bearer " + secret[:-1], "Bearer " + secret + "x", "Bearer " + secret.upper(),
                        secret, "Basic " + secret, "Bearer ", "Bearer" + secret):
                with self.subTest(authorization=bad[:12]):
                    st, _, _ = d.get("/metrics", headers={"Authorization": bad})
                    self.assertEqual(st, 401, "metrics with a wrong token %r" % bad[:12])
            st, _, body = d.get("/healthz")
            self.assertEqual(st, 200, "/healthz stays open")
            self.assertTrue(secret not in d.log(), "the token never reaches the log")
        finally:
            d.close()

    def test_second_instance(self):
        d = Daemon("--interval", "0.3")
        try:
            r = subprocess.run([BIN, "--listen", "127.0.0.1:0", "--db", d.db], capture_output=True,
                               text=True, timeout=10)
            self.assertTrue(r.returncode != 0, "a second lingerd on the same database is refused")
            self.assertTrue("in use by another lingerd" in r.stderr, "and says why: %r" % r.stderr[-200:])
            d.wait_snapshots(2)
            self.assertEqual(d.json("/healthz")["status"], "ok", "the first keeps running")
        finally:
            d.close()

    def test_bad_databases(self):
        tmp = tempfile.mkdtemp(prefix="lingerd-db-")
        self.addCleanup(shutil.rmtree, tmp, True)

        def once(db):
            return subprocess.run([BIN, "--once", "--db", db], capture_output=True, text=True, timeout=30)

        # Garbage and a truncated database are moved aside; lingerd starts fresh.
        junk = os.path.join(tmp, "junk.db")
        with open(junk, "wb") as f:
            f.write(os.urandom(8192))
        r = once(junk)
        self.assertEqual(r.returncode, 0, "garbage database: starts fresh")
        self.assertTrue(any(n.startswith("junk.db.corrupt-") for n in os.listdir(tmp)), "garbage kept aside")
        trunc = os.path.join(tmp, "trunc.db")
        self.assertEqual(once(trunc).returncode, 0, "a good database to truncate")
        with open(trunc, "r+b") as f:
            f.truncate(1000)
        r = once(trunc)
        self.assertEqual(r.returncode, 0, "truncated database: starts fresh")
        self.assertTrue("moved it" in r.stderr, "truncated database: says so")
        # Foreign and newer databases are refused and left untouched.
        foreign = os.path.join(tmp, "foreign.db")
        c = sqlite3.connect(foreign)
        c.execute("create table customers(x)")
        c.commit()
        c.close()
        r = once(foreign)
        self.assertEqual(r.returncode, 1, "foreign database refused")
        self.assertTrue("did not create" in r.stderr, "foreign database: says why")
        newer = os.path.join(tmp, "newer.db")
        self.assertEqual(once(newer).returncode, 0, "a good database to age")
        c = sqlite3.connect(newer)
        c.execute("pragma user_version=99")
        c.commit()
        c.close()
        r = once(newer)
        self.assertEqual(r.returncode, 1, "newer schema refused")
        self.assertTrue("newer lingerd" in r.stderr, "newer schema: says why")

    def test_traversal(self):
        d = Daemon("--interval", "1")
        try:
            for p in ("/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/..%2fetc%2fpasswd",
                      "/%252e%252e/etc/passwd", "/index.html%00.json", "/..\\..\\etc\\passwd",
                      "/api/v1/../../etc/passwd", "//etc/passwd", "/api/v1/openapi.json/..",
                      "/web/index.html", "/assets.list"):
                with self.subTest(path=p):
                    out = raw_request(d.port, ("GET %s HTTP/1.1\r\nHost: localhost\r\n"
                                               "Connection: close\r\n\r\n" % p).encode())
                    self.assertTrue(out.startswith(b"HTTP/1.1 404") or out.startswith(b"HTTP/1.1 400"),
                                    "traversal %s is 404: %r" % (p, out[:20]))
                    self.assertNotIn(b"root:", out, "no file content for %s" % p)
        finally:
            d.close()

    def test_kill9_integrity(self):
        tmp = tempfile.mkdtemp(prefix="lingerd-k9-")
        self.addCleanup(shutil.rmtree, tmp, True)
        db = os.path.join(tmp, "k.db")
        held = []
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(128)
        self.addCleanup(srv.close)
        self.addCleanup(lambda: [x.close() for pair in held for x in pair])
        for i in range(20):
            proc = subprocess.Popen([BIN, "--listen", "127.0.0.1:0", "--db", db, "--interval", "0.1",
                                     "--persist-after", "0"], stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL)
            proc.stdout.readline()
            # Churn sockets so that every snapshot writes rows.
            for _ in range(20):
                c = socket.socket()
                c.connect(srv.getsockname())
                a, _ = srv.accept()
                held.append((c, a))
                if len(held) > 60:
                    for x in held.pop(0):
                        x.close()
            time.sleep(random.uniform(0.05, 0.6))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc.stdout.close()
            c = sqlite3.connect(db)
            ok = c.execute("pragma integrity_check").fetchone()[0]
            bad = c.execute("select count(*) from snapshots where total != established + syn_sent + "
                            "syn_recv + fin_wait1 + fin_wait2 + time_wait + close + close_wait + "
                            "last_ack + listen + closing").fetchone()[0]
            c.close()
            with self.subTest(kill=i):
                self.assertEqual(ok, "ok", "integrity after kill -9 #%d" % i)
                self.assertEqual(bad, 0, "every committed snapshot is whole after kill -9 #%d" % i)
        r = subprocess.run([BIN, "--once", "--db", db], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, "restarts cleanly after 20 kills")

    def test_sigterm_under_load(self):
        d = Daemon("--interval", "0.2")
        stop = threading.Event()
        errors = []

        def hammer():
            while not stop.is_set():
                try:
                    c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=5)
                    c.request("GET", random.choice(["/api/v1/snapshot", "/metrics",
                                                    "/api/v1/sockets?limit=50", "/api/v1/findings"]))
                    c.getresponse().read()
                    c.close()
                except OSError as e:
                    errors.append(e)

        try:
            threads = [threading.Thread(target=hammer) for _ in range(8)]
            for t in threads:
                t.start()
            time.sleep(2)
            # A client's FIN leaves lingerd's side in CLOSE_WAIT only until the next epoll round.
            old = [s for s in d.json("/api/v1/sockets?state=CLOSE_WAIT&local_port=%d&min_age=0.5" % d.port)["sockets"]]
            self.assertEqual(old, [], "no CLOSE_WAIT on lingerd's port lasts 0.5 s under load")
            fds_before = len(os.listdir("/proc/%d/fd" % d.proc.pid))
            stop.set()
            for t in threads:
                t.join()
            time.sleep(0.5)
            self.assertEqual(lingerd_close_wait(d.proc.pid), 0, "lingerd holds no CLOSE_WAIT after the load")
            fds_after = len(os.listdir("/proc/%d/fd" % d.proc.pid))
            self.assertTrue(fds_after <= fds_before, "fds back to baseline (%d -> %d)" % (fds_before, fds_after))
            stop.clear()
            threads = [threading.Thread(target=hammer) for _ in range(8)]
            for t in threads:
                t.start()
            time.sleep(0.5)
            rc, took = d.stop()
            stop.set()
            for t in threads:
                t.join()
            self.assertEqual(rc, 0, "SIGTERM under load exits 0")
            self.assertTrue(took < 5, "within 5 s (%.2fs)" % took)
            self.assertTrue(fds_before < 200, "fd count stays bounded under load (%d)" % fds_before)
            c = sqlite3.connect(d.db)
            self.assertEqual(c.execute("pragma integrity_check").fetchone()[0], "ok", "integrity after SIGTERM")
            c.close()
            wal = d.db + "-wal"
            self.assertTrue(not os.path.exists(wal) or os.path.getsize(wal) == 0, "WAL checkpointed on SIGTERM")
        finally:
            stop.set()
            d.close()


if __name__ == "__main__":
    main()
