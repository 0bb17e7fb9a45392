"""Core integration: real sockets on loopback, the real binary over HTTP, checked against ss.

The same scenario runs with --source netlink and --source proc, on IPv4 and IPv6, inside a
private network namespace when one can be made (else in this one: other tests' sockets may
share our ports)."""
import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from lingerd_test import BIN, DaemonCase, Teardown, TestCase, count_by_state, main, ss_rows  # noqa: E402

ALL_STATES = ["ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT_1", "FIN_WAIT_2", "TIME_WAIT",
              "CLOSED", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING"]
BAD_FLAGS = (["--interval", "0.01"], ["--interval", "x"], ["--source", "bpf"], ["--nope"],
             ["--listen", "nohost"], ["extra"], ["--listen"])


def nonzero(counts):
    return {k: v for k, v in counts.items() if v}


class CommandLine(TestCase):
    def test_once(self):
        with tempfile.TemporaryDirectory() as tmp:
            ls = socket.socket()
            ls.bind(("127.0.0.1", 0))
            ls.listen(1)
            r = subprocess.run([BIN, "--once", "--db", os.path.join(tmp, "x.db")],
                               capture_output=True, text=True, timeout=30)
            ls.close()
        self.assertEqual(r.returncode, 0, "--once exit status")
        doc = json.loads(r.stdout)
        self.assertTrue(doc["counts"]["LISTEN"] >= 1 and len(doc["counts"]) == 11,
                        "--once prints a snapshot")

    def test_bad_flags(self):
        for bad in BAD_FLAGS:
            with self.subTest(flags=bad):
                r = subprocess.run([BIN] + bad, capture_output=True, text=True, timeout=10)
                self.assertEqual(r.returncode, 64, "bad flags %s exit 64" % bad)
                self.assertTrue("usage" in r.stderr or "--" in r.stderr,
                                "bad flags %s explained on stderr" % bad)

    def test_help_and_version(self):
        r = subprocess.run([BIN, "--help"], capture_output=True, text=True, timeout=10)
        self.assertTrue(r.returncode == 0 and "--interval" in r.stdout, "--help")
        r = subprocess.run([BIN, "--version"], capture_output=True, text=True, timeout=10)
        self.assertTrue(r.returncode == 0 and r.stdout.startswith("lingerd "), "--version")

    def test_busy_port(self):
        """A port already taken: a clear message and a non-zero exit, not a hang."""
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        with tempfile.TemporaryDirectory() as tmp:
            try:
                r = subprocess.run([BIN, "--listen", "127.0.0.1:%d" % port, "--db",
                                    os.path.join(tmp, "busy.db")],
                                   capture_output=True, text=True, timeout=10)
            finally:
                s.close()
        self.assertTrue(r.returncode != 0 and "Address already in use" in r.stderr,
                        "taken port reported: %r" % r.stderr)


class _Scenario:
    """The lab's teardown sockets (ESTABLISHED, LISTEN, CLOSE_WAIT, FIN_WAIT_2, TIME_WAIT) seen
    by one daemon with one capture source, for one address family."""

    source = "netlink"
    family = socket.AF_INET
    first_snapshots = 0

    @classmethod
    def setUpClass(cls):
        cls.fam = "ipv4" if cls.family == socket.AF_INET else "ipv6"
        cls.daemon_args = ("--interval", "0.2", "--source", cls.source, "--persist-after", "0")
        super().setUpClass()
        cls.lab = Teardown(cls.family)
        cls.addClassCleanup(cls.lab.close)
        cls.d.wait_snapshots(2)
        cls.port = cls.lab.port

    def sockets(self, query):
        return self.d.json("/api/v1/sockets?port=%d&%s" % (self.port, query))["sockets"]

    def snapshot(self):
        return self.d.json("/api/v1/snapshot?port=%d" % self.port)

    def test_healthz(self):
        h = self.d.json("/healthz")
        self.assertEqual(h["status"], "ok", "healthz status")
        self.assertEqual(h["source"], self.source, "healthz source")
        self.assertEqual(h["db"], "ok", "healthz db")

    def test_snapshot_counts(self):
        snap = self.snapshot()
        ss = count_by_state(ss_rows(), port=self.port)
        self.assertEqual(sorted(snap["counts"].keys()), sorted(ALL_STATES), "all 11 states present")
        self.assertEqual(nonzero(snap["counts"]), ss, "snapshot counts equal ss -Htan")
        self.assertEqual(nonzero(snap["counts"]), Teardown.expected, "snapshot counts equal the lab")
        self.assertEqual(snap["total"], sum(Teardown.expected.values()), "total")
        self.assertEqual(snap["source"], self.source, "snapshot source")

    def test_family_filter(self):
        snap = self.snapshot()
        fsnap = self.d.json("/api/v1/snapshot?port=%d&family=%s" % (self.port, self.fam))
        self.assertEqual(fsnap["counts"], snap["counts"], "family filter keeps our sockets")
        other = "ipv6" if self.fam == "ipv4" else "ipv4"
        osnap = self.d.json("/api/v1/snapshot?port=%d&family=%s" % (self.port, other))
        self.assertEqual(osnap["total"], 0, "other family has none of our sockets")

    def test_sockets_list(self):
        """The whole list for the port, oldest in state first."""
        total = self.snapshot()["total"]
        socks = self.d.json("/api/v1/sockets?port=%d&limit=100" % self.port)
        self.assertEqual(len(socks["sockets"]), total, "sockets list length")
        self.assertIsNone(socks["next"], "no next page")
        sinces = [s["state_since"] for s in socks["sockets"]]
        self.assertEqual(sinces, sorted(sinces), "oldest in state first")

    def test_close_wait(self):
        cw = self.sockets("state=close-wait")
        self.assertEqual(len(cw), 1, "one CLOSE_WAIT")
        s = cw[0]
        self.assertEqual(s["state"], "CLOSE_WAIT", "state name")
        self.assertEqual(s["family"], self.fam, "family")
        self.assertEqual(s["local"]["port"], self.lab.close_wait_local, "CLOSE_WAIT local port")
        self.assertEqual(s["remote"]["port"] != self.port, True, "CLOSE_WAIT remote is the client")
        self.assertGreater(s["inode"], 0, "CLOSE_WAIT is held by a process (inode > 0)")
        self.assertEqual(s["uid"], os.getuid(), "uid")
        if self.source == "netlink":
            self.assertTrue(isinstance(s["cookie"], str) and int(s["cookie"]) > 0, "cookie string")
        age1 = s["age_s"]
        self.d.wait_snapshots(3)
        s2 = self.sockets("state=CLOSE_WAIT")[0]
        self.assertGreater(s2["age_s"], age1, "CLOSE_WAIT age grows (%s -> %s)" % (age1, s2["age_s"]))
        self.assertEqual(s2["first_seen"], s["first_seen"], "first_seen is stable")
        self.assertEqual(s2["state_since"], s["state_since"], "state_since is stable")

    def test_time_wait(self):
        tw = self.sockets("state=time_wait")
        self.assertEqual(len(tw), 1, "one TIME_WAIT")
        self.assertEqual(tw[0]["inode"], 0, "TIME_WAIT is kernel-owned (inode 0)")
        self.assertEqual(tw[0]["timer"]["kind"], "timewait", "TIME_WAIT timer kind")
        self.assertTrue(0 < tw[0]["timer"]["expires_ms"] <= 60000, "TIME_WAIT expires within 60 s")
        self.assertEqual(tw[0]["local"]["port"], self.lab.time_wait_local, "TIME_WAIT local port")

    def test_fin_wait_2(self):
        fw = self.sockets("state=FIN_WAIT_2,fin_wait_2")
        self.assertEqual(len(fw), 1, "one FIN_WAIT_2 (held after shutdown)")
        if self.source == "netlink":
            self.assertEqual(fw[0]["shutdown"], {"read": False, "write": True}, "shutdown bits")

    def test_csv(self):
        """The same list as CSV, for spreadsheets and shell pipelines."""
        total = self.snapshot()["total"]
        socks = self.sockets("limit=100")
        st, hdrs, raw = self.d.get("/api/v1/sockets?port=%d&format=csv" % self.port)
        self.assertEqual(st, 200, "CSV status")
        self.assertTrue(hdrs.get("Content-Type", "").startswith("text/csv"), "CSV content type")
        rows = list(csv.DictReader(io.StringIO(raw.decode())))
        self.assertEqual(len(rows), total, "CSV rows")
        self.assertEqual(sorted(r["state"] for r in rows), sorted(x["state"] for x in socks),
                         "CSV states match JSON")
        self.assertTrue(all(r["owner"] in ("process", "orphan") for r in rows), "CSV owner column")

    def test_filters(self):
        """local_port, remote_port, min_age."""
        lp = self.d.json("/api/v1/sockets?local_port=%d" % self.port)["sockets"]
        self.assertEqual(sorted(s["state"] for s in lp),
                         sorted(["CLOSE_WAIT", "ESTABLISHED", "LISTEN"]), "local_port filter")
        rp = self.d.json("/api/v1/sockets?remote_port=%d" % self.port)["sockets"]
        self.assertEqual(sorted(s["state"] for s in rp),
                         sorted(["ESTABLISHED", "FIN_WAIT_2", "TIME_WAIT"]), "remote_port filter")
        self.assertEqual(self.sockets("min_age=3600"), [], "min_age=3600 matches nothing new")

    def test_paging(self):
        total = self.snapshot()["total"]
        seen, cursor, pages = [], None, 0
        while True:
            q = "/api/v1/sockets?port=%d&limit=2" % self.port + ("&cursor=" + cursor if cursor else "")
            page = self.d.json(q)
            seen += [(s["state"], s["local"]["port"], s["remote"]["port"]) for s in page["sockets"]]
            pages += 1
            cursor = page["next"]
            if not cursor or pages > 10:
                break
        self.assertEqual(len(seen), total, "paging returns every socket")
        self.assertEqual(len(set(seen)), len(seen), "paging returns no socket twice")
        self.assertEqual(pages, 3, "6 sockets in pages of 2")

    def test_signals_and_restart(self):
        """SIGTERM: exit 0 quickly; a restart on the same port works at once and keeps ages."""
        cw = self.sockets("state=CLOSE_WAIT")
        d = self.d
        port = d.port
        rc, took = d.stop()
        self.assertEqual(rc, 0, "SIGTERM exits 0")
        self.assertLess(took, 2.0, "SIGTERM exit within 2 s (%.2fs)" % took)
        wal = d.db + "-wal"
        self.assertEqual(os.path.getsize(wal) if os.path.exists(wal) else 0, 0,
                         "WAL checkpointed on exit")
        d.listen = "127.0.0.1:%d" % port
        d.start()
        self.assertEqual(d.port, port, "restart on the same port")
        d.wait_snapshots(1)
        cw2 = self.sockets("state=CLOSE_WAIT")
        if cw:
            self.assertTrue(len(cw2) == 1 and cw2[0]["first_seen"] == cw[0]["first_seen"],
                            "CLOSE_WAIT age carried over a restart")
        rc, _ = d.stop(signal.SIGINT)
        self.assertEqual(rc, 0, "SIGINT exits 0")


class NetlinkIPv4(_Scenario, DaemonCase):
    source, family = "netlink", socket.AF_INET


class NetlinkIPv6(_Scenario, DaemonCase):
    source, family = "netlink", socket.AF_INET6


class ProcIPv4(_Scenario, DaemonCase):
    source, family = "proc", socket.AF_INET


class ProcIPv6(_Scenario, DaemonCase):
    source, family = "proc", socket.AF_INET6


if __name__ == "__main__":
    main(netns=["-n"])
