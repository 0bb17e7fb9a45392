"""Namespaces on a schedule (--netns all): quiet named namespaces are dumped less often than every
interval, yet their counts equal `ss -N NAME -Htan` at quiescence; a namespace that changes is
picked up within two snapshots; the shared connection hash per namespace matches what
net.ipv4.tcp_ehash_entries reads inside it (including a namespace made with its own hash), with
the finding; and at a 0.1 s interval with many namespaces /healthz and /metrics say that a full
round takes longer than the interval."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from lingerd_test import SS_STATES, Daemon, check, check_eq, done, skip  # noqa: E402

INTERVAL = 0.5
PREFIX = "lsc%d" % os.getpid()

# Inside a namespace: a listener and n established pairs, held until killed; prints "ready".
HOLDER = r"""
import resource, socket, sys, time
n = int(sys.argv[1])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(1024)
keep = []
for _ in range(n):
    c = socket.create_connection(l.getsockname())
    s, _ = l.accept()
    keep += [c, s]
print("ready", flush=True)
time.sleep(600)
"""


def ss_counts(cmd):
    out = subprocess.run(cmd + ["ss", "-Htan"], capture_output=True, text=True, check=True).stdout
    counts = {}
    for line in out.splitlines():
        st = SS_STATES.get(line.split()[0], line.split()[0])
        counts[st] = counts.get(st, 0) + 1
    return counts


def ehash(cmd):
    return int(subprocess.run(cmd + ["sysctl", "-n", "net.ipv4.tcp_ehash_entries"],
                              capture_output=True, text=True, check=True).stdout)


def nonzero(c):
    return {k: v for k, v in c.items() if v}


def hold(cmd, n, procs):
    p = subprocess.Popen(cmd + [sys.executable, "-c", HOLDER, str(n)], stdout=subprocess.PIPE, text=True)
    procs.append(p)
    check_eq(p.stdout.readline().strip(), "ready", "holder of %d pairs ready" % n)
    return p


def by_name(d, path="/api/v1/netns"):
    ans = d.json(path)
    return ans, {n["name"]: n for n in ans["namespaces"]}


def metric(d, name):
    for line in d.get("/metrics", raw=True)[2].decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def main():
    names = {k: "%s-%s" % (PREFIX, k) for k in "abcd"}
    extra = ["%s-x%d" % (PREFIX, i) for i in range(40)]
    procs, made, daemons = [], [], []
    probe = subprocess.run(["ip", "netns", "add", names["a"]], capture_output=True, text=True)
    if probe.returncode != 0:
        skip("cannot create a named network namespace: %s" % probe.stderr.strip())
        done()
    made.append(names["a"])
    try:
        for k in "bcd":
            subprocess.run(["ip", "netns", "add", names[k]], check=True)
            made.append(names[k])
        for n in names.values():
            subprocess.run(["ip", "netns", "exec", n, "ip", "link", "set", "lo", "up"], check=True)
        ex = {k: ["ip", "netns", "exec", n] for k, n in names.items()}
        hold(ex["a"], 2, procs)
        hold(ex["b"], 3, procs)
        # A namespace with a hash of its own: made from d, where tcp_child_ehash_entries is set.
        subprocess.run(ex["d"] + ["sysctl", "-q", "-w", "net.ipv4.tcp_child_ehash_entries=1000"], check=True)
        own = subprocess.Popen(ex["d"] + ["unshare", "-n", "sleep", "120"])
        procs.append(own)
        time.sleep(0.3)
        ex["own"] = ["nsenter", "-t", str(own.pid), "-n"]
        own_name = "pid:%d" % own.pid

        d = Daemon("--netns", "all", "--interval", str(INTERVAL))
        daemons.append(d)
        # Twelve intervals of quiet: each quiet namespace is dumped at its start, then every
        # 2, 4, 8 intervals.  Every snapshot is seen (polled at five times the interval).
        seen = {}
        deadline = time.time() + 12 * INTERVAL
        while time.time() < deadline:
            ans, ns = by_name(d)
            for k in "abc":
                seen.setdefault(k, {})[ans["taken_at"]] = ns[names[k]]["dumped"]
            time.sleep(INTERVAL / 5)
        for k in "abc":
            snaps, dumps = len(seen[k]), sum(seen[k].values())
            print("%s: dumped in %d of %d snapshots" % (names[k], dumps, snaps))
            check(snaps >= 8 and 1 <= dumps <= snaps // 2,
                  "quiet %s dumped in at most half the snapshots (%d of %d)" % (names[k], dumps, snaps))
        ans, ns = by_name(d)
        for k in ["a", "b", "c", "d", "own"]:
            name = own_name if k == "own" else names[k]
            e = ns.get(name)
            if not check(e is not None, "%s is followed" % name):
                continue
            check_eq(nonzero(e["counts"]), ss_counts(ex[k]), "counts of quiet %s against ss" % name)
            check(e["age_s"] is not None and e["age_s"] >= 0 and
                  abs(e["dumped_at"] + e["age_s"] - ans["taken_at"]) < 0.01,
                  "%s: dumped_at + age_s is the snapshot's time (%r)" % (name, e))
            k_view = ehash(ex[k])
            check_eq((e["shares_host_hash"], e["ehash_entries"]), (k_view < 0, abs(k_view)),
                     "%s: shared hash as the kernel says (tcp_ehash_entries %d)" % (name, k_view))
            print("%s: %r" % (name, {f: e[f] for f in ("total", "dumped", "age_s", "dump_every",
                                                      "shares_host_hash", "ehash_entries")}))
        check_eq((ns[own_name]["shares_host_hash"], ns[own_name]["ehash_entries"]), (False, 1024),
                 "the namespace made under tcp_child_ehash_entries=1000 has 1024 buckets of its own")
        check(ns[names["c"]]["dump_every"] >= 2, "quiet %s backs off: %r" % (names["c"], ns[names["c"]]))
        sharing = sum(1 for e in ans["namespaces"] if e["name"] != "self" and e["shares_host_hash"])
        f = [x for x in d.json("/api/v1/findings?min_age=0")["findings"] if x["id"] == "netns_shared_hash"]
        if check_eq(len(f), 1 if sharing else 0, "one netns_shared_hash finding (%d sharing)" % sharing) and f:
            ev = f[0]["evidence"]
            check_eq((ev["namespaces_sharing"], ev["namespaces_followed"]), (sharing, len(ans["namespaces"]) - 1),
                     "the finding counts the sharing namespaces")
            check_eq(ev["tcp_child_ehash_entries"], int(subprocess.run(
                ["sysctl", "-n", "net.ipv4.tcp_child_ehash_entries"], capture_output=True, text=True).stdout),
                "the finding shows the host's tcp_child_ehash_entries")
        ko = [x for x in d.json("/api/v1/findings?min_age=0&lang=ko")["findings"] if x["id"] == "netns_shared_hash"]
        check(bool(ko) == bool(f) and (not ko or ko[0]["title"] != f[0]["title"]), "the finding in Korean too")

        # A change in quiet c: picked up within two snapshots.
        check(ns[names["c"]]["dump_every"] >= 2, "c is quiet before it changes")
        t_start = time.time()
        hold(ex["c"], 4, procs)
        want = ss_counts(ex["c"])
        t0 = time.time()
        taken, got = set(), None
        while time.time() < t0 + 10 * INTERVAL:
            ans, ns = by_name(d)
            if ans["taken_at"] > t0:
                taken.add(ans["taken_at"])
            if ans["taken_at"] > t0 and nonzero(ns[names["c"]]["counts"]) == want:
                got = ns[names["c"]]
                break
            time.sleep(INTERVAL / 10)
        print("change in %s seen after %d snapshots: %r" % (names["c"], len(taken), got and nonzero(got["counts"])))
        check(got is not None and len(taken) <= 2, "the change in %s is seen within two snapshots (%d)"
              % (names["c"], len(taken)))
        check(got is not None and got["dumped_at"] >= t_start - 0.01,
              "what is served of %s comes from a dump made since it changed: %r" % (names["c"], got))
        snaps, dumps = d.get("/healthz")[2]["snapshots"], metric(d, "lingerd_netns_dumps_total")
        followed = metric(d, "lingerd_netns_followed")
        print("%d snapshots, %d namespaces, %d dumps" % (snaps, followed, dumps))
        check(dumps < snaps * followed * 0.75, "fewer dumps than snapshots times namespaces")
        d.stop()

        # A tiny interval and many namespaces: a full round takes longer than the interval.
        for n in extra:
            subprocess.run(["ip", "netns", "add", n], check=True)
            made.append(n)
        # The host's hash grows by 32000 sockets (two holders: the fd limit may be 20000): every
        # dump of a sharing namespace walks them.
        hold(ex["a"], 8000, procs)
        hold(ex["b"], 8000, procs)
        d = Daemon("--netns", "all", "--interval", "0.1")
        daemons.append(d)
        d.wait_snapshots(5)
        status, _, h = d.get("/healthz")
        full = metric(d, "lingerd_netns_full_round_seconds")
        print("interval 0.1 s: %r; full round %.3f s" % ({k: h.get(k) for k in (
            "status", "problems", "netns_round_ms", "netns_round_slow")}, full))
        check(full > 0.1, "a full round of %d namespaces takes over 0.1 s (%.3f)" % (len(extra), full))
        check("netns_round_slow" in h["problems"] and h.get("netns_round_slow"),
              "/healthz lists netns_round_slow and says why")
        check(h["status"] == "ok" or set(h["problems"]) - {"netns_round_slow"},
              "a slow round alone does not degrade /healthz")
        check(metric(d, "lingerd_netns_round_duration_seconds") is not None, "/metrics has the round's time")
        check("round of network namespaces is slow" in d.log(), "the slow round is logged")
    finally:
        for d in daemons:
            d.stop()
        for p in procs:
            p.kill()
            p.wait()
        for n in made:
            subprocess.run(["ip", "netns", "del", n])
    done()


if __name__ == "__main__":
    main()
