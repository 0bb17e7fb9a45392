"""The lab against lingerd, exactly: in a fresh network namespace, for both capture sources,
every state of the lab on IPv4 and IPv6 is counted and listed by lingerd as the lab built it and
as `ss` sees it at the same moment: addresses, ports, owner (inode 0 when the kernel owns the
socket) and timer kind."""
import collections
import ipaddress
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from lingerd_test import (SS_STATES, Daemon, LabProc, check, check_eq, done,  # noqa: E402
                          run_in_private_netns, split_hostport)

# ss prints the timer as timer:(on|keepalive|timewait|persist,...); lingerd's names.
SS_TIMERS = {"on": "retransmit", "keepalive": "keepalive", "timewait": "timewait",
             "persist": "probe"}


def norm(a):
    return str(ipaddress.ip_address(a))


# Ports of the daemons this test started: their HTTP connections leave TIME_WAIT behind.
DAEMON_PORTS = set()


def ss_rows(skip_port):
    out = subprocess.run(["ss", "-Htano"], capture_output=True, text=True, check=True).stdout
    rows = {}
    for line in out.splitlines():
        f = line.split()
        la, lp = split_hostport(f[3])
        ra, rp = split_hostport(f[4])
        if lp in DAEMON_PORTS or rp in DAEMON_PORTS:
            continue
        timer = "none"
        for x in f[5:]:
            if x.startswith("timer:("):
                timer = SS_TIMERS.get(x[7:].split(",")[0], x)
        k = (SS_STATES.get(f[0], f[0]), norm(la), lp, norm(ra), rp)
        rows.setdefault(k, []).append(timer)
    return rows


def lingerd_rows(d):
    socks = d.json("/api/v1/sockets?limit=10000")["sockets"]
    rows = {}
    for s in socks:
        if s["local"]["port"] in DAEMON_PORTS or s["remote"]["port"] in DAEMON_PORTS:
            continue
        k = (s["state"], norm(s["local"]["addr"]), s["local"]["port"], norm(s["remote"]["addr"]),
             s["remote"]["port"])
        rows.setdefault(k, []).append(s)
    return rows


def scenario(source, lab):
    tag = source
    d = Daemon("--interval", "0.3", "--source", source, "--attribution-interval", "0.3")
    DAEMON_PORTS.add(d.port)
    try:
        d.wait_snapshots(3)
        want = collections.Counter()
        owner = {}
        for s in lab.report["sockets"]:
            k = (s["state"], norm(s["local"]), s["lport"], norm(s["remote"]), s["rport"])
            want[k] += 1
            owner[k] = s["owner"]
        got = lingerd_rows(d)
        ss = ss_rows(d.port)
        got_c = collections.Counter({k: len(v) for k, v in got.items()})
        ss_c = collections.Counter({k: len(v) for k, v in ss.items()})
        check_eq(sorted((got_c - want).items()), [], tag + " lingerd lists no socket the lab did not make")
        check_eq(sorted((want - got_c).items()), [], tag + " lingerd lists every socket the lab made")
        check_eq(got_c, ss_c, tag + " lingerd's sockets equal ss's, socket by socket")

        # Whole-namespace totals per state: lab == lingerd == ss (lingerd's own port aside).
        by_state = collections.Counter()
        for (st, *_), n in want.items():
            by_state[st] += n
        snap = d.json("/api/v1/snapshot")["counts"]
        mine = collections.Counter()
        for s in d.json("/api/v1/sockets?limit=10000")["sockets"]:
            if s["local"]["port"] in DAEMON_PORTS or s["remote"]["port"] in DAEMON_PORTS:
                mine[s["state"]] += 1
        totals = {k: v - mine.get(k, 0) for k, v in snap.items() if v - mine.get(k, 0)}
        check_eq(totals, dict(by_state), tag + " snapshot totals equal the lab's")
        for fam in ("ipv4", "ipv6"):
            n = sum(1 for s in lab.report["sockets"] if s["family"] == fam)
            f = d.json("/api/v1/snapshot?family=%s" % fam)["total"]
            m = sum(1 for s in d.json("/api/v1/sockets?limit=10000&family=%s" % fam)["sockets"]
                    if s["local"]["port"] in DAEMON_PORTS or s["remote"]["port"] in DAEMON_PORTS)
            check_eq(f - m, n, "%s %s total" % (tag, fam))

        # Each socket: owner and timer kind.
        bad_owner, bad_timer = [], []
        for k, socks in got.items():
            for s in socks:
                kernel = owner.get(k) == "kernel"
                if (s["inode"] == 0) != kernel or s["owner"] != ("orphan" if kernel else "process"):
                    bad_owner.append((k, s["inode"], owner.get(k)))
            timers = sorted(s["timer"]["kind"] for s in socks)
            if k in ss and timers != sorted(ss[k]):
                bad_timer.append((k, timers, sorted(ss[k])))
        check_eq(bad_owner, [], tag + " inode is 0 exactly where the kernel owns the socket")
        # A retransmit or probe timer can come and go between two looks; other kinds cannot.
        stable = [b for b in bad_timer if not set(b[1] + b[2]) <= {"retransmit", "probe", "none"}]
        check_eq(stable, [], tag + " timer kinds equal ss's")
        check(len(bad_timer) <= 2, tag + " timer kinds mostly equal ss's (%d differ)" % len(bad_timer))
        states = {k[0] for k in got}
        check_eq(len(states), 10, tag + " all 10 observable states seen")
        if source == "netlink":
            leak = d.json("/api/v1/sockets?comm=lab-leaker")["sockets"]
            n = lab.report["states"]["CLOSE_WAIT"]["variants"]["close_wait_leak/server"]["count"]
            check_eq(len(leak), n, tag + " the leak is attributed to lab-leaker")
    finally:
        d.close()


def main():
    lab = LabProc("--count", "2", "--port", "0")
    try:
        for src in ("netlink", "proc"):
            scenario(src, lab)
    finally:
        lab.stop()
    done()


if __name__ == "__main__":
    run_in_private_netns(__file__, main, "whole-namespace totals are needed")
