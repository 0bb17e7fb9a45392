#!/usr/bin/env python3
"""Storage faults while lingerd runs: a full disk (the database on a 2 MiB tmpfs that gets filled)
and RLIMIT_FSIZE (a file-size limit set on the running daemon with prlimit).

For each: lingerd must keep sampling and serving what it has, /healthz must turn 503 "degraded"
with the database error, writing must resume by itself once space returns, and the database must
pass PRAGMA integrity_check afterwards.  Prints a timeline with figures.

Root only: it runs in private mount and network namespaces (the tmpfs is never visible outside).
Usage: tests/stress/disk_full.py     (env LINGERD_BIN)"""
import errno
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stresslib import BIN, Daemon  # noqa: E402

INTERVAL = 0.5
FULL_HOLD_S = 10
failures = []


def expect(cond, what):
    print(("  ok    " if cond else "  FAIL  ") + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


def in_private_namespaces():
    if os.environ.get("STRESS_IN_NS") == "1":
        return
    if os.geteuid() != 0:
        sys.exit("disk_full.py needs root (a tmpfs mount in a private mount namespace)")
    env = dict(os.environ, STRESS_IN_NS="1", STRESS_IN_NETNS="1")
    sys.exit(subprocess.run(["unshare", "-m", "--propagation", "private", "-n", "--", "sh", "-c",
                             'ip link set lo up && exec "$0" "$@"', sys.executable,
                             os.path.abspath(__file__)] + sys.argv[1:], env=env).returncode)


def metric(d, name):
    st, body = d.get("/metrics")
    if st != 200:
        return None
    text = body.decode() if isinstance(body, bytes) else str(body)
    m = re.search(r"^%s(?:\{[^}]*\})? (\S+)$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else None


def poll(fn, timeout, step=0.2):
    t0 = time.monotonic()
    while True:
        v = fn()
        if v or time.monotonic() - t0 > timeout:
            return v, time.monotonic() - t0
        time.sleep(step)


def health(d):
    st, h = d.healthz(timeout=5)
    return st, (h if isinstance(h, dict) else {})


def fill(path):
    """Writes until the filesystem refuses; returns bytes written."""
    n = 0
    with open(path, "wb", buffering=0) as f:
        for chunk in (65536, 4096, 512, 1):
            buf = b"\0" * chunk
            while True:
                try:
                    f.write(buf)
                    n += chunk
                except OSError as e:
                    if e.errno not in (errno.ENOSPC, errno.EFBIG):
                        raise
                    break
    return n


def serving(d):
    """Status of the endpoints that need no database write."""
    return {p: d.get(p, timeout=5)[0] for p in ("/api/v1/snapshot", "/metrics",
                                                "/api/v1/sockets?limit=5", "/api/v1/trends")}


def integrity(db):
    con = sqlite3.connect(db)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def degraded_phase(d, make_full, make_room, label):
    """Common timeline: healthy -> fault -> degraded but serving -> room -> healthy again."""
    d.wait_snapshots(3)
    st, h = health(d)
    rows0 = metric(d, "lingerd_database_rows_written_total")
    print("before: /healthz %s %s, rows written %s" % (st, h.get("status"), rows0), flush=True)
    expect(st == 200 and h.get("db") == "ok", label + ": healthy before the fault")

    make_full()
    t_fault = time.monotonic()

    def is_degraded():
        st, h = health(d)
        return (st, h) if st == 503 and h.get("db") not in (None, "ok") else None

    res, secs = poll(is_degraded, 30)
    st, h = res if res else health(d)
    print("after the fault: /healthz %s %s; db: %r; problems %s (%.1fs after the fault)"
          % (st, h.get("status"), h.get("db"), h.get("problems"), secs), flush=True)
    expect(res is not None, label + ": /healthz turns 503 with the database error")
    expect(h.get("status") == "degraded", label + ": status says degraded")
    if d.proc.poll() is not None:
        expect(False, label + ": lingerd still running (exit status %s)" % d.proc.returncode)
        return False
    snaps0 = h.get("snapshots", 0)
    time.sleep(FULL_HOLD_S)
    st, h = health(d)
    served = serving(d)
    print("%ds later: snapshots %s -> %s, endpoints %s" % (FULL_HOLD_S, snaps0, h.get("snapshots"),
                                                          served), flush=True)
    expect(d.proc.poll() is None, label + ": lingerd still running")
    expect(h.get("snapshots", 0) > snaps0, label + ": sampling continues while writes fail")
    expect(all(served[p] == 200 for p in ("/api/v1/snapshot", "/metrics",
                                           "/api/v1/sockets?limit=5")),
           label + ": the in-memory endpoints keep answering 200")
    rows_full = metric(d, "lingerd_database_rows_written_total")

    make_room()
    t_room = time.monotonic()

    def recovered():
        st, h = health(d)
        return h if st == 200 and h.get("db") == "ok" else None

    h, secs = poll(recovered, 60)
    rows1 = metric(d, "lingerd_database_rows_written_total")
    print("after freeing space: /healthz %s in %.1fs; rows written %s while full, %s now "
          "(fault lasted %.1fs)" % ("ok" if h else "still degraded", secs, rows_full, rows1,
                                    t_room - t_fault), flush=True)
    expect(h is not None, label + ": writing resumes by itself (healthz ok again)")
    time.sleep(2)
    rows2 = metric(d, "lingerd_database_rows_written_total")
    expect(rows2 is not None and rows_full is not None and rows2 > rows_full,
           label + ": rows are written again (%s -> %s)" % (rows_full, rows2))
    return True


def stop_and_check(d, label):
    rc, secs = d.stop()
    print("SIGTERM: exit %s in %.2fs" % (rc, secs))
    expect(rc == 0, label + ": clean exit after SIGTERM")
    res = integrity(d.db)
    print("PRAGMA integrity_check: %s; database %d bytes, WAL %s"
          % (res, os.path.getsize(d.db), os.path.getsize(d.db + "-wal")
             if os.path.exists(d.db + "-wal") else "gone (checkpointed)"))
    expect(res == "ok", label + ": integrity_check ok")
    log = d.log().strip().splitlines()
    print("daemon log (%d lines), first lines mentioning the fault:" % len(log))
    for line in [x for x in log if re.search(r"full|disk|space|too large|EFBIG|ENOSPC|database",
                                              x, re.I)][:6]:
        print("    " + line)


def enospc():
    print("\n== disk full: database on a 2 MiB tmpfs", flush=True)
    mnt = tempfile.mkdtemp(prefix="lingerd-diskfull-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt], check=True)
    lab = subprocess.Popen([BIN, "lab", "--count", "10", "--port", "0"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL)
    rep = json.loads(lab.stdout.readline())
    print("lab holds %d sockets" % len(rep["sockets"]))
    d = Daemon("--interval", str(INTERVAL), "--persist-after", "0",
               db=os.path.join(mnt, "lingerd.db"))
    filler = os.path.join(mnt, "filler")
    try:
        def full():
            n = fill(filler)
            du = shutil.disk_usage(mnt)
            print("filled: %d bytes of filler, %d bytes free" % (n, du.free), flush=True)

        def room():
            os.unlink(filler)
            print("filler removed: %d bytes free" % shutil.disk_usage(mnt).free, flush=True)

        if degraded_phase(d, full, room, "disk full"):
            stop_and_check(d, "disk full")
        else:
            print(d.log()[-2000:])
    finally:
        d.stop()
        lab.terminate()
        lab.wait()
        subprocess.run(["umount", mnt])
        shutil.rmtree(d.tmp, ignore_errors=True)
        os.rmdir(mnt)


def fsize():
    print("\n== RLIMIT_FSIZE: a file-size limit set on the running daemon", flush=True)
    lab = subprocess.Popen([BIN, "lab", "--count", "10", "--port", "0"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL)
    json.loads(lab.stdout.readline())
    d = Daemon("--interval", str(INTERVAL), "--persist-after", "0")
    try:
        def full():
            sizes = [os.path.getsize(p) for p in (d.db, d.db + "-wal") if os.path.exists(p)]
            limit = max(sizes) + 16384
            # Only the soft limit: raising it again needs no privilege.
            subprocess.run(["prlimit", "--pid", str(d.pid), "--fsize=%d:" % limit], check=True)
            print("soft RLIMIT_FSIZE set to %d bytes (database and WAL are %s bytes)"
                  % (limit, sizes), flush=True)

        def room():
            subprocess.run(["prlimit", "--pid", str(d.pid), "--fsize=unlimited:"], check=True)
            print("soft RLIMIT_FSIZE back to unlimited", flush=True)

        if degraded_phase(d, full, room, "RLIMIT_FSIZE"):
            stop_and_check(d, "RLIMIT_FSIZE")
        else:
            rc = d.proc.returncode
            print("lingerd died: exit status %s%s" % (rc, " (signal %d, SIGXFSZ is 25)" % -rc
                                                      if rc and rc < 0 else ""))
            if os.path.exists(d.db):
                print("PRAGMA integrity_check of what it left: %s" % integrity(d.db))
    finally:
        d.close()
        lab.terminate()
        lab.wait()


def main():
    in_private_namespaces()
    enospc()
    fsize()
    print("\n%d failed expectations%s" % (len(failures), ": " + "; ".join(failures)
                                          if failures else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
