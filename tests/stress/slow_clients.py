#!/usr/bin/env python3
"""Slow and idle clients against lingerd: slowhttptest slow headers (slowloris), plain idle
connections, and slowhttptest slow read, each while two probes ask /healthz with a 1 s deadline:
one from 127.0.0.1 (the attacker's own address, like any other local user on loopback) and one
from 127.0.0.200.  Reports what each probe got, how long snapshots stalled, how many attacking
connections lingerd held, and lingerd's fd and CLOSE_WAIT count afterwards.

lingerd listens on 0.0.0.0 (with --token-file) inside a private network namespace so that the
second probe can come from another address.

Usage: tests/stress/slow_clients.py [SECONDS]     (60 by default; env LINGERD_BIN)"""
import os
import re
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stresslib import (TOKEN, Daemon, FdWatch, Probe, close_wait_of, fd_count, in_private_netns, need,  # noqa: E402
                       sampler_gaps, tcp_states_of)

SECONDS = int(sys.argv[1]) if len(sys.argv) > 1 else 60


def slowhttptest(args):
    p = subprocess.Popen(["slowhttptest"] + args, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    return p


def summarize_slowhttptest(out):
    """The last status block: connection counts and whether its own probe saw the service."""
    out = re.sub(r"\x1b\[[0-9;]*m", "", out)  # its colours
    blocks = re.findall(r"slow HTTP test status on (\d+)th second:\s*\n\s*initializing:\s*(\d+)"
                        r"\s*\n\s*pending:\s*(\d+)\s*\n\s*connected:\s*(\d+)\s*\n\s*error:\s*(\d+)"
                        r"\s*\n\s*closed:\s*(\d+)\s*\n\s*service available:\s*(\w+)", out)
    if not blocks:
        return "no status parsed: " + out[-400:]
    peak = max(int(b[3]) for b in blocks)
    unavailable = sum(1 for b in blocks if b[6] != "YES")
    last = blocks[-1]
    return ("at %ss: connected %s, pending %s, closed %s, error %s; peak connected %d; its own "
            "probe found the service unavailable in %d of %d status reports"
            % (last[0], last[3], last[2], last[5], last[4], peak, unavailable, len(blocks)))


class IdleClients(threading.Thread):
    """n connections that never send a byte; counts how many the server closed over time."""

    def __init__(self, host, port, n, seconds):
        super().__init__(daemon=True)
        self.host, self.port, self.n, self.seconds = host, port, n, seconds
        self.opened = self.refused = 0
        self.closed_by_server = 0
        self.first_close_s = None

    def run(self):
        socks = []
        t0 = time.monotonic()
        for _ in range(self.n):
            s = socket.socket()
            s.setblocking(True)
            s.settimeout(2)
            try:
                s.connect((self.host, self.port))
                s.setblocking(False)
                socks.append(s)
                self.opened += 1
            except OSError:
                self.refused += 1
                s.close()
        alive = list(socks)
        while time.monotonic() - t0 < self.seconds and alive:
            still = []
            for s in alive:
                try:
                    data = s.recv(1)
                    if data == b"":
                        raise ConnectionResetError
                    still.append(s)
                except BlockingIOError:
                    still.append(s)
                except OSError:
                    self.closed_by_server += 1
                    if self.first_close_s is None:
                        self.first_close_s = time.monotonic() - t0
            alive = still
            time.sleep(0.2)
        for s in socks:
            s.close()


def scenario(d, name, start, baseline):
    """Runs start() (returns a finish() giving a text) with two probes; prints figures."""
    same = Probe(d, timeout=1.0, host="127.0.0.1")
    other = Probe(d, timeout=1.0, host="127.0.0.200")
    h0 = d.healthz(timeout=5)[1]
    same.start()
    other.start()
    watch = FdWatch(d.pid)
    watch.start()
    w0 = time.time()
    finish = start()
    text = finish()
    w1 = time.time()
    peak = watch.stop()
    same.stop()
    other.stop()
    snaps, gap, slowest = sampler_gaps(d.db, w0, w1)
    h1 = d.healthz(timeout=5)[1]
    t0 = time.monotonic()
    while fd_count(d.pid) > baseline and time.monotonic() - t0 < 30:
        time.sleep(0.5)
    fds = fd_count(d.pid)
    cw = close_wait_of(d.pid)
    print("\n== %s" % name)
    print(text)
    print("lingerd fds: baseline %d, peak %d, %d afterwards (%.1fs later); CLOSE_WAIT held: %d; "
          "sockets by state (hex): %s" % (baseline, peak, fds, time.monotonic() - t0, cw,
                                          tcp_states_of(d.pid)))
    print("sampler: %d snapshots in %.0fs, longest gap %.2fs, slowest capture %.1f ms"
          % (snaps, w1 - w0, gap, slowest))
    print("snapshots during the scenario: %s -> %s"
          % (h0.get("snapshots") if isinstance(h0, dict) else "?",
             h1.get("snapshots") if isinstance(h1, dict) else "?"))
    print("same address  " + same.summary())
    print("other address " + other.summary(), flush=True)
    return {"name": name, "same_ok": same.ok, "same_failed": same.failed, "other_ok": other.ok,
            "other_failed": other.failed, "gap": gap, "fds": fds, "baseline": baseline, "cw": cw,
            "peak": peak}


def main():
    in_private_netns()
    need("slowhttptest")
    d = Daemon("--interval", "1", token=TOKEN, listen="0.0.0.0:0")
    rows = []
    try:
        d.wait_snapshots(2)
        for _ in range(3):
            d.get("/healthz")
            d.get("/api/v1/openapi.json")
        time.sleep(0.5)
        baseline = fd_count(d.pid)
        print("lingerd pid %d port %d, fds at baseline %d; scenarios of %ds"
              % (d.pid, d.port, baseline, SECONDS), flush=True)

        def slowloris():
            p = slowhttptest(["-H", "-c", "1000", "-r", "200", "-i", "5", "-x", "24", "-p", "1",
                              "-l", str(SECONDS), "-u", "http://127.0.0.1:%d/healthz" % d.port])
            return lambda: "slowhttptest " + summarize_slowhttptest(p.communicate()[0])

        def idle():
            c = IdleClients("127.0.0.1", d.port, 1000, SECONDS)
            c.start()

            def finish():
                c.join()
                return ("idle clients: %d opened, %d refused at connect, %d closed by lingerd "
                        "(first after %s s)" % (c.opened, c.refused, c.closed_by_server,
                                                "%.1f" % c.first_close_s if c.first_close_s
                                                else "-"))
            return finish

        def slowread():
            p = slowhttptest(["-X", "-c", "500", "-r", "100", "-w", "10", "-y", "20", "-n", "5",
                              "-z", "32", "-k", "3", "-p", "1", "-l", str(SECONDS), "-u",
                              "http://127.0.0.1:%d/api/v1/openapi.json" % d.port])
            return lambda: "slowhttptest " + summarize_slowhttptest(p.communicate()[0])

        rows.append(scenario(d, "slow headers (slowloris): 1000 connections, a header line "
                                "every 5 s", slowloris, baseline))
        rows.append(scenario(d, "idle connections: 1000 that never send a byte", idle, baseline))
        rows.append(scenario(d, "slow read: 500 connections reading 32 bytes every 5 s through "
                                "a 10-20 byte window", slowread, baseline))
        print("\nsummary")
        print("%-58s %14s %14s %9s %5s %5s %4s" % ("scenario", "probe same ok/fail",
                                                    "other ok/fail", "snap gap", "peak", "fds", "cw"))
        for r in rows:
            print("%-58s %9d/%-4d %9d/%-4d %8.2fs %5d %5d %4d"
                  % (r["name"][:58], r["same_ok"], r["same_failed"], r["other_ok"],
                     r["other_failed"], r["gap"], r["peak"], r["fds"], r["cw"]))
        rc, secs = d.stop()
        print("SIGTERM: exit %s in %.2fs" % (rc, secs))
    finally:
        d.close()
    broken = any(r["other_failed"] or r["gap"] > 3 or r["fds"] > r["baseline"] or r["cw"]
                 for r in rows)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
