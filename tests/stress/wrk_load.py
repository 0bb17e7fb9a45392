#!/usr/bin/env python3
"""wrk -c 1000 for 30 s against /api/v1/snapshot and /metrics; reports requests, failures
(socket errors and non-2xx), latency, lingerd's fd count before and after, and the CLOSE_WAIT
sockets lingerd still holds afterwards, while a probe from another loopback address checks that
other clients are still answered within 1 s and that snapshots keep coming.

Two shapes of load per path:
  single  one wrk, 1000 connections from 127.0.0.1 (one local user; meets the per-IP limit)
  spread  16 wrk, 62 connections each from 127.0.0.1..16 (992 in all; meets the global limit)
lingerd listens on 0.0.0.0 inside a private network namespace (with --token-file, as it
requires) so the load can come from several source addresses.

Usage: tests/stress/wrk_load.py [SECONDS]     (30 by default; env LINGERD_BIN)"""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stresslib import (TOKEN, Daemon, FdWatch, Probe, close_wait_of, fd_count, in_private_netns, need,  # noqa: E402
                       sampler_gaps, tcp_states_of)

SECONDS = int(sys.argv[1]) if len(sys.argv) > 1 else 30
PATHS = ["/api/v1/snapshot", "/metrics"]


def parse_wrk(out):
    r = {"requests": 0, "connect": 0, "read": 0, "write": 0, "timeout": 0, "non2xx": 0,
         "rps": 0.0, "p50": None, "p99": None}
    m = re.search(r"(\d+) requests in", out)
    if m:
        r["requests"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        r["connect"], r["read"], r["write"], r["timeout"] = map(int, m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        r["non2xx"] = int(m.group(1))
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if m:
        r["rps"] = float(m.group(1))
    for q in ("50", "99"):
        m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)\s*$" % q, out, re.M)
        if m:
            v = float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]
            r["p" + q] = v
    return r


def wrk(url_hosts, port, path, conns, threads, seconds):
    procs = []
    for h in url_hosts:
        procs.append(subprocess.Popen(
            ["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % seconds, "--timeout", "5s",
             "--latency", "-H", "Authorization: Bearer " + TOKEN,
             "http://%s:%d%s" % (h, port, path)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    total = {"requests": 0, "connect": 0, "read": 0, "write": 0, "timeout": 0, "non2xx": 0,
             "rps": 0.0, "p50": 0.0, "p99": 0.0}
    raw = []
    for p in procs:
        out = p.communicate()[0]
        raw.append(out)
        r = parse_wrk(out)
        for k in ("requests", "connect", "read", "write", "timeout", "non2xx"):
            total[k] += r[k]
        total["rps"] += r["rps"]
        for k in ("p50", "p99"):
            total[k] = max(total[k], r[k] or 0.0)
    return total, raw


def settle(pid, baseline, timeout=20):
    """Waits for lingerd's fd count to come back to baseline; returns (fds, seconds)."""
    t0 = time.monotonic()
    while True:
        n = fd_count(pid)
        if n <= baseline or time.monotonic() - t0 > timeout:
            return n, time.monotonic() - t0
        time.sleep(0.25)


def main():
    in_private_netns()
    need("wrk")
    d = Daemon("--interval", "1", token=TOKEN, listen="0.0.0.0:0")
    broken = 0
    try:
        d.wait_snapshots(2)
        # Warm up so that the database readers and thread pool exist before the baseline.
        wrk(["127.0.0.1"], d.port, "/api/v1/snapshot", 16, 2, 2)
        wrk(["127.0.0.1"], d.port, "/metrics", 16, 2, 2)
        time.sleep(1)
        baseline = fd_count(d.pid)
        print("lingerd pid %d, port %d, fds at baseline %d, soft RLIMIT_NOFILE %s"
              % (d.pid, d.port, baseline,
                 open("/proc/%d/limits" % d.pid).read().split("Max open files")[1].split()[0]),
              flush=True)
        rows = []
        for path in PATHS:
            for shape, hosts, conns, threads in (
                    ("single", ["127.0.0.1"], 1000, 2),
                    ("spread", ["127.0.0.%d" % i for i in range(1, 17)], 62, 1)):
                # From an address of its own: not one of the load's clients for the per-IP limit.
                probe = Probe(d, timeout=1.0, host="127.0.0.200")
                probe.start()
                watch = FdWatch(d.pid)
                watch.start()
                t0, w0 = time.monotonic(), time.time()
                total, raw = wrk(hosts, d.port, path, conns, threads, SECONDS)
                elapsed, w1 = time.monotonic() - t0, time.time()
                probe.stop()
                peak = watch.stop()
                snaps, gap, slowest = sampler_gaps(d.db, w0, w1)
                fds, waited = settle(d.pid, baseline)
                cw = close_wait_of(d.pid)
                states = tcp_states_of(d.pid)
                failed = total["connect"] + total["read"] + total["write"] + total["timeout"] + \
                    total["non2xx"]
                rows.append((path, shape, len(hosts) * conns, total, failed, peak, fds, waited,
                             cw, probe, gap))
                print("\n== %s %s: %d connections, %.0fs" % (path, shape, len(hosts) * conns,
                                                             elapsed), flush=True)
                print("requests %d (%.0f/s), failed %d (connect %d, read %d, write %d, timeout "
                      "%d, non-2xx %d), latency p50 %.1f ms p99 %.1f ms"
                      % (total["requests"], total["rps"], failed, total["connect"],
                         total["read"], total["write"], total["timeout"], total["non2xx"],
                         total["p50"], total["p99"]))
                print("fds: baseline %d, peak during the load %d, %d after %.1fs; CLOSE_WAIT held "
                      "by lingerd: %d; its TCP sockets by state (hex): %s"
                      % (baseline, peak, fds, waited, cw, states))
                print("sampler: %d snapshots in %.0fs, longest gap %.2fs, slowest capture %.1f ms"
                      % (snaps, w1 - w0, gap, slowest))
                print("other client (127.0.0.200) " + probe.summary(), flush=True)
                if fds > baseline or cw:
                    broken = 1
                if total["requests"] == 0:
                    print(raw[0])
        print("\nsummary")
        print("%-17s %-6s %5s %8s %7s %7s %4s %4s %4s %3s %14s %8s"
              % ("path", "shape", "conns", "requests", "failed", "p99 ms", "fds0", "peak", "fds1",
                 "cw", "probe ok/fail", "snap gap"))
        for path, shape, conns, total, failed, peak, fds, waited, cw, probe, gap in rows:
            print("%-17s %-6s %5d %8d %7d %7.1f %4d %4d %4d %3d %9d/%-4d %7.2fs"
                  % (path, shape, conns, total["requests"], failed, total["p99"], baseline, peak,
                     fds, cw, probe.ok, probe.failed, gap))
        rc, secs = d.stop()
        print("SIGTERM: exit %s in %.2fs" % (rc, secs))
    finally:
        d.close()
    return broken


if __name__ == "__main__":
    sys.exit(main())
