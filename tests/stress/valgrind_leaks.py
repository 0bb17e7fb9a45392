#!/usr/bin/env python3
"""lingerd under valgrind memcheck (--leak-check=full) for a while: sampling every second with a
lab holding sockets in every state (so attribution, diffing, findings and history all run), and
requests to every endpoint and error path from three threads; then SIGTERM.  Reports valgrind's
error and leak summary and the fds still open at exit.

Needs a binary built without sanitizers (the default, build/lingerd).  Runs in a private
network namespace.

Usage: tests/stress/valgrind_leaks.py [SECONDS]     (20 by default; env LINGERD_BIN)"""
import json
import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stresslib import BIN, Daemon, in_private_netns, need  # noqa: E402

SECONDS = int(sys.argv[1]) if len(sys.argv) > 1 else 20
PATHS = [
    "/healthz", "/metrics", "/api/v1/snapshot", "/api/v1/sockets?limit=50",
    "/api/v1/sockets?state=close_wait,time_wait&family=ipv4", "/api/v1/sockets?comm=lab-leaker",
    "/api/v1/sockets?limit=2&cursor=garbage", "/api/v1/sockets?format=csv",
    "/api/v1/states", "/api/v1/states/close-wait?lang=ko", "/api/v1/states/nope",
    "/api/v1/lingering?group_by=process", "/api/v1/lingering?group_by=remote&states=time_wait",
    "/api/v1/findings?min_age=0", "/api/v1/system", "/api/v1/trends?from=-1h&step=60",
    "/api/v1/trends?from=-1d&by=process&top=3", "/api/v1/trends?from=now&to=-1h",
    "/", "/app.js", "/api/v1/openapi.json", "/nope", "/api/v1/sockets?limit=0",
    "/api/v1/sockets?bogus=1", "/%2e%2e/etc/passwd",
]


def main():
    in_private_netns()
    need("valgrind")
    logdir = "/tmp/lingerd-valgrind-%d" % os.getpid()
    os.makedirs(logdir, exist_ok=True)
    log = os.path.join(logdir, "memcheck.log")
    lab = subprocess.Popen([BIN, "lab", "--count", "3", "--port", "0"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL)
    rep = json.loads(lab.stdout.readline())
    print("lab pid %d holds %d sockets" % (rep["pid"], len(rep["sockets"])), flush=True)
    vg = ["valgrind", "--tool=memcheck", "--leak-check=full",
          "--show-leak-kinds=definite,indirect,possible", "--errors-for-leak-kinds=definite,indirect",
          "--track-fds=yes", "--num-callers=30", "--log-file=" + log]
    d = Daemon("--interval", "1", "--attribution-interval", "1", "--persist-after", "0",
               prefix=vg)
    counts = {"requests": 0, "failed": 0}
    stop = threading.Event()
    lock = threading.Lock()

    def client(offset):
        i = offset
        while not stop.is_set():
            st, _ = d.get(PATHS[i % len(PATHS)], timeout=30)
            with lock:
                counts["requests"] += 1
                counts["failed"] += st is None
            i += 1

    try:
        threads = [threading.Thread(target=client, args=(k * 7,), daemon=True) for k in range(3)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        time.sleep(SECONDS)
        stop.set()
        for t in threads:
            t.join()
        _, h = d.healthz(timeout=30)
        rc, secs = d.stop(timeout=60)
    finally:
        lab.terminate()
        lab.wait()
        d.close()
    with open(log) as f:
        text = f.read()
    print("%.0fs under valgrind: %d requests (%d without an answer), %s snapshots; SIGTERM: exit "
          "%s in %.1fs" % (time.monotonic() - t0, counts["requests"], counts["failed"],
                           h.get("snapshots") if isinstance(h, dict) else "?", rc, secs))
    summary = {}
    for k in ("definitely lost", "indirectly lost", "possibly lost", "still reachable",
              "suppressed"):
        m = re.search(r"%s: ([\d,]+) bytes in ([\d,]+) blocks" % k, text)
        summary[k] = (m.group(1), m.group(2)) if m else ("0", "0")
        print("  %-16s %s bytes in %s blocks" % (k + ":", *summary[k]))
    m = re.search(r"ERROR SUMMARY: (\d+) errors from (\d+) contexts", text)
    errors = int(m.group(1)) if m else -1
    print("  %s" % (m.group(0) if m else "ERROR SUMMARY: not found"))
    for pat in (r"in use at exit: .*", r"total heap usage: .*"):
        m2 = re.search(pat, text)
        if m2:
            print("  " + m2.group(0))
    m = re.search(r"FILE DESCRIPTORS: (\d+) open(?: \((\d+) std\))? at exit", text)
    print("  %s" % (m.group(0) if m else "FILE DESCRIPTORS: not reported"))
    for block in re.findall(r"(==\d+== \d[\d,]* (?:\(\S+ direct, \S+ indirect\) )?bytes in [\d,]+ "
                            r"blocks are (?:definitely|indirectly) lost.*?)(?:\n==\d+== \n)",
                            text, re.S)[:10]:
        print(block)
    print("full log: %s" % log)
    bad = errors != 0 or summary["definitely lost"][0] != "0" or \
        summary["indirectly lost"][0] != "0" or rc != 0
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
