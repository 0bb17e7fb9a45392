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
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import lingerd_test  # noqa: E402
from lingerd_test import Daemon, LabProc, check, check_eq, done, in_private_netns, skip  # noqa: E402

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


def poll(fn, timeout=WAIT_S, step=0.2):
    """Calls fn until it returns something true or timeout passes; returns the last value."""
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() > deadline:
            return v
        time.sleep(step)


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def sockets(d, query):
    st, _, body = d.get("/api/v1/sockets?limit=1000&" + query)
    check_eq(st, 200, "GET /api/v1/sockets?%s" % query)
    return body.get("sockets", []) if st == 200 else []


def run_mode(name, binary, rep, in_netns):
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
        check_eq(s["Uid"].split(), [str(NOBODY)] * 4, tag + "runs as nobody (real, effective, saved, fs)")
        check_eq(s["Groups"], "", tag + "no supplementary groups")
        for k in ("CapEff", "CapPrm", "CapBnd", "CapAmb"):
            check_eq(int(s[k], 16), want_caps, tag + k)
        check_eq(os.stat(os.path.join(dbdir, "lingerd.db")).st_uid, NOBODY,
                 tag + "database created by nobody")

        def health():
            st, _, h = d.get("/healthz")
            ok = st == 200 and h.get("snapshots", 0) >= 2 and h.get("attribution") == want_attr
            return h if ok else None

        h = poll(health) or d.get("/healthz")[2]
        check_eq(h.get("attribution"), want_attr, tag + "/healthz attribution")
        check_eq(h.get("status"), "ok", tag + "/healthz status")

        def leak_listed():
            got = [x for x in sockets(d, "state=close_wait") if x["local"]["port"] in leak_ports
                   and x["owner"] == "process"]
            if want_attr == "full":
                got = [x for x in got if x["pid"] == leaker]
            return got if len(got) >= leak_count else None

        leak = poll(leak_listed) or []
        check_eq(len(leak), leak_count, tag + "every leaked CLOSE_WAIT listed")
        for x in leak:
            check_eq(x["uid"], 0, tag + "leaked socket's uid (the lab runs as root)")
        by_comm = [x for x in sockets(d, "comm=lab-leaker&state=close_wait")
                   if x["local"]["port"] in leak_ports]
        if want_attr == "full":
            check_eq(len(by_comm), leak_count, tag + "comm=lab-leaker lists the leak")
            check(all(x["pid"] == leaker and x["comm"] == "lab-leaker" for x in by_comm),
                  tag + "the leak's pid and comm are the leaker's")
        else:
            check(all(x["pid"] is None and x["comm"] is None for x in leak),
                  tag + "pid and comm are null without both capabilities")
            check_eq(by_comm, [], tag + "comm=lab-leaker matches nothing it cannot see")

        fid = "close_wait_leak/%d" % leaker if want_attr == "full" else "close_wait_leak/uid:0"

        def finding():
            st, _, f = d.get("/api/v1/findings?min_age=0")
            return [x for x in f["findings"] if x["id"] == fid] if st == 200 else []

        found = poll(finding)
        check(found, tag + "finding %s reported" % fid)
        if found:
            f = found[0]
            check_eq(f["subject"].get("uid"), 0, tag + "finding names uid 0")
            if want_attr == "full":
                check_eq((f["subject"].get("pid"), f["subject"].get("comm")),
                         (leaker, "lab-leaker"), tag + "finding names the leaker")
                check_eq(f["evidence"]["count"], leak_count, tag + "finding counts the leak")
            else:
                check_eq(f["subject"].get("pid"), None, tag + "finding has no pid")
                # Every root-held CLOSE_WAIT of the lab falls in the uid group.
                check(f["evidence"]["count"] >= leak_count, tag + "finding counts the leak")
                if in_netns:
                    # Alone in the namespace: every CLOSE_WAIT is the lab's, all held by root.
                    check_eq(f["evidence"]["count"], rep["states"]["CLOSE_WAIT"]["count"],
                             tag + "finding counts every CLOSE_WAIT of uid 0")
        rc, secs = d.stop()
        check_eq(rc, 0, tag + "exit status after SIGTERM")
        check(secs < 5, tag + "stopped in %.2fs" % secs)
    finally:
        if d:
            d.close()
        shutil.rmtree(dbdir, ignore_errors=True)


def main(in_netns):
    if os.geteuid() != 0:
        skip("needs root to switch to uid %d and to hand out capabilities" % NOBODY)
        done()
    if not shutil.which("setpriv"):
        skip("setpriv (util-linux) is not installed")
        done()
    # nobody must be able to execute the binary and the libraries beside it: copy it into a
    # world-readable folder (the build folder may be private).
    bindir = tempfile.mkdtemp(prefix="lingerd-privbin-")
    os.chmod(bindir, 0o755)
    binary = os.path.join(bindir, "lingerd")
    shutil.copy(lingerd_test.BIN, binary)
    os.chmod(binary, 0o755)
    lab = LabProc("--count", "2", "--port", "0")
    try:
        rep = lab.report
        check(rep["leaker"]["comm"] == "lab-leaker" and rep["leaker"]["pid"] > 0, "lab has a leaker")
        check(rep["states"]["CLOSE_WAIT"]["variants"]["close_wait_leak/server"]["count"] >= 2,
              "lab holds a CLOSE_WAIT leak")
        st = os.stat("/proc/%d" % rep["leaker"]["pid"])
        check_eq(st.st_uid, 0, "the leaker belongs to root, not to the daemon's user")
        for name in MODES:
            run_mode(name, binary, rep, in_netns)
    finally:
        lab.stop()
        shutil.rmtree(bindir, ignore_errors=True)
    done()


def in_private_namespaces():
    """Re-runs this script as PID 1 of fresh network and PID namespaces with its own /proc, or
    returns None when they cannot be made here."""
    probe = subprocess.run(["unshare", "-n", "-p", "-f", "--mount-proc", "--", "true"],
                           capture_output=True)
    if probe.returncode != 0:
        return None
    return subprocess.run(["unshare", "-n", "-p", "-f", "--mount-proc", "--", "sh", "-c",
                           'ip link set lo up && exec "$0" "$@"', sys.executable,
                           os.path.abspath(__file__), "--in-netns"]).returncode


if __name__ == "__main__":
    if "--in-netns" in sys.argv:
        main(True)
    rc = in_private_namespaces()
    if rc is None:
        rc = in_private_netns(__file__)
    if rc is None:
        skip("no private network namespace here; running in this one")
        main(False)
    sys.exit(rc)
