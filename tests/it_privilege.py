"""Least privilege: lingerd as nobody, with exactly CAP_DAC_READ_SEARCH + CAP_SYS_PTRACE, then with
one of them, then with none, while a root-owned `lingerd lab` holds a CLOSE_WAIT leak in its child
lab-leaker.

With both capabilities attribution is "full": the leak is listed under comm=lab-leaker and found
by the leaker's pid.  With one or none it is "partial": the leaked sockets are still listed with
their uid and a null pid, and the finding names the leak by uid.  Runs in a private network
namespace and a private PID namespace when they can be made, so that no other process's sockets
or fds interfere (a host's own init may refuse even CAP_SYS_PTRACE, which rightly makes attribution
"partial"), and everything the test started dies with it."""
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import lingerd_test  # noqa: E402
from lingerd_test import Daemon, LabProc, TestCase, main, poll  # noqa: E402

NOBODY = 65534
INTERVAL = 1.0
WAIT_S = 20
CAP_DAC_READ_SEARCH = 2
CAP_SYS_PTRACE = 19
TWO_CAPS = (1 << CAP_DAC_READ_SEARCH) | (1 << CAP_SYS_PTRACE)

SETPRIV = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups"]
MODES = {
    # name: (setpriv capability arguments, expected CapEff/CapBnd/CapAmb, attribution)
    "two caps": (["--inh-caps=-all,+dac_read_search,+sys_ptrace",
                  "--ambient-caps=-all,+dac_read_search,+sys_ptrace",
                  "--bounding-set=-all,+dac_read_search,+sys_ptrace"], TWO_CAPS, "full"),
    "dac_read_search only": (["--inh-caps=-all,+dac_read_search",
                              "--ambient-caps=-all,+dac_read_search",
                              "--bounding-set=-all,+dac_read_search"],
                             1 << CAP_DAC_READ_SEARCH, "partial"),
    "no caps": (["--inh-caps=-all", "--bounding-set=-all"], 0, "partial"),
}


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def sockets(tc, d, query):
    st, _, body = d.get("/api/v1/sockets?limit=1000&" + query)
    tc.assertEqual(st, 200, "GET /api/v1/sockets?%s" % query)
    return body.get("sockets", []) if st == 200 else []


class Privilege(TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root to switch to uid %d and to hand out capabilities" % NOBODY)
        if not shutil.which("setpriv"):
            raise unittest.SkipTest("setpriv (util-linux) is not installed")
        # nobody must be able to execute the binary and the libraries beside it: copy it into a
        # world-readable folder (the build folder may be private).
        bindir = tempfile.mkdtemp(prefix="lingerd-privbin-")
        cls.addClassCleanup(shutil.rmtree, bindir, True)
        os.chmod(bindir, 0o755)
        cls.binary = os.path.join(bindir, "lingerd")
        shutil.copy(lingerd_test.BIN, cls.binary)
        os.chmod(cls.binary, 0o755)
        cls.lab = LabProc("--count", "2", "--port", "0")
        cls.addClassCleanup(cls.lab.stop)
        cls.rep = cls.lab.report

    def test_lab_holds_a_leak_of_root(self):
        rep = self.rep
        self.assertTrue(rep["leaker"]["comm"] == "lab-leaker" and rep["leaker"]["pid"] > 0, "lab has a leaker")
        self.assertTrue(rep["states"]["CLOSE_WAIT"]["variants"]["close_wait_leak/server"]["count"] >= 2,
                        "lab holds a CLOSE_WAIT leak")
        st = os.stat("/proc/%d" % rep["leaker"]["pid"])
        self.assertEqual(st.st_uid, 0, "the leaker belongs to root, not to the daemon's user")

    def test_two_caps(self):
        self.run_mode("two caps")

    def test_dac_read_search_only(self):
        self.run_mode("dac_read_search only")

    def test_no_caps(self):
        self.run_mode("no caps")

    def run_mode(self, name):
        binary, rep, in_netns = self.binary, self.rep, lingerd_test.IN_PRIVATE_NETNS
        caps_args, want_caps, want_attr = MODES[name]
        tag = "[%s] " % name
        leaker = rep["leaker"]["pid"]
        leak_count = rep["states"]["CLOSE_WAIT"]["variants"]["close_wait_leak/server"]["count"]
        leak_ports = set(rep["layout"]["close_wait_leak"]["ports"].values())

        # The database lives in a folder only nobody may write, as under systemd's StateDirectory.
        dbdir = tempfile.mkdtemp(prefix="lingerd-priv-")
        os.chown(dbdir, NOBODY, NOBODY)
        os.chmod(dbdir, 0o700)
        d = None
        try:
            lingerd_test.BIN = binary
            d = Daemon("--interval", str(INTERVAL), "--attribution-interval", str(INTERVAL),
                       db=os.path.join(dbdir, "lingerd.db"), prefix=SETPRIV + caps_args + ["--"])
            s = proc_status(d.proc.pid)
            self.assertEqual(s["Uid"].split(), [str(NOBODY)] * 4, tag + "runs as nobody (real, effective, saved, fs)")
            self.assertEqual(s["Groups"], "", tag + "no supplementary groups")
            for k in ("CapEff", "CapPrm", "CapBnd", "CapAmb"):
                self.assertEqual(int(s[k], 16), want_caps, tag + k)
            self.assertEqual(os.stat(os.path.join(dbdir, "lingerd.db")).st_uid, NOBODY,
                     tag + "database created by nobody")

            def health():
                st, _, h = d.get("/healthz")
                ok = st == 200 and h.get("snapshots", 0) >= 2 and h.get("attribution") == want_attr
                return h if ok else None

            h = poll(health, WAIT_S) or d.get("/healthz")[2]
            self.assertEqual(h.get("attribution"), want_attr, tag + "/healthz attribution")
            self.assertEqual(h.get("status"), "ok", tag + "/healthz status")

            def leak_listed():
                got = [x for x in sockets(self, d, "state=close_wait") if x["local"]["port"] in leak_ports
                       and x["owner"] == "process"]
                if want_attr == "full":
                    got = [x for x in got if x["pid"] == leaker]
                return got if len(got) >= leak_count else None

            leak = poll(leak_listed, WAIT_S) or []
            self.assertEqual(len(leak), leak_count, tag + "every leaked CLOSE_WAIT listed")
            for x in leak:
                self.assertEqual(x["uid"], 0, tag + "leaked socket's uid (the lab runs as root)")
            by_comm = [x for x in sockets(self, d, "comm=lab-leaker&state=close_wait")
                       if x["local"]["port"] in leak_ports]
            if want_attr == "full":
                self.assertEqual(len(by_comm), leak_count, tag + "comm=lab-leaker lists the leak")
                self.assertTrue(all(x["pid"] == leaker and x["comm"] == "lab-leaker" for x in by_comm),
                      tag + "the leak's pid and comm are the leaker's")
            else:
                self.assertTrue(all(x["pid"] is None and x["comm"] is None for x in leak),
                      tag + "pid and comm are null without both capabilities")
                self.assertEqual(by_comm, [], tag + "comm=lab-leaker matches nothing it cannot see")

            fid = "close_wait_leak/%d" % leaker if want_attr == "full" else "close_wait_leak/uid:0"

            def finding():
                st, _, f = d.get("/api/v1/findings?min_age=0")
                return [x for x in f["findings"] if x["id"] == fid] if st == 200 else []

            found = poll(finding, WAIT_S)
            self.assertTrue(found, tag + "finding %s reported" % fid)
            if found:
                f = found[0]
                self.assertEqual(f["subject"].get("uid"), 0, tag + "finding names uid 0")
                if want_attr == "full":
                    self.assertEqual((f["subject"].get("pid"), f["subject"].get("comm")),
                             (leaker, "lab-leaker"), tag + "finding names the leaker")
                    self.assertEqual(f["evidence"]["count"], leak_count, tag + "finding counts the leak")
                else:
                    self.assertEqual(f["subject"].get("pid"), None, tag + "finding has no pid")
                    # Every root-held CLOSE_WAIT of the lab falls in the uid group.
                    self.assertTrue(f["evidence"]["count"] >= leak_count, tag + "finding counts the leak")
                    if in_netns:
                        # Alone in the namespace: every CLOSE_WAIT is the lab's, all held by root.
                        self.assertEqual(f["evidence"]["count"], rep["states"]["CLOSE_WAIT"]["count"],
                                 tag + "finding counts every CLOSE_WAIT of uid 0")
            rc, secs = d.stop()
            self.assertEqual(rc, 0, tag + "exit status after SIGTERM")
            self.assertTrue(secs < 5, tag + "stopped in %.2fs" % secs)
        finally:
            if d:
                d.close()
            shutil.rmtree(dbdir, ignore_errors=True)


if __name__ == "__main__":
    main(netns=[["-n", "-p", "-f", "--mount-proc"], ["-n"]])
