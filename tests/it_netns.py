"""Every network namespace: three named namespaces, the lab inside each, counts per namespace
equal to `ss -N NAME -Htan`, and a namespace deleted mid-run disappears with its history kept."""
import os
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from lingerd_test import BIN, SS_STATES, Daemon, check, check_eq, done, skip  # noqa: E402


def ss_counts(ns):
    out = subprocess.run(["ss", "-N", ns, "-Htan"], capture_output=True, text=True, check=True).stdout
    counts = {}
    for line in out.splitlines():
        st = SS_STATES.get(line.split()[0], line.split()[0])
        counts[st] = counts.get(st, 0) + 1
    return counts


def nonzero(c):
    return {k: v for k, v in c.items() if v}


def main():
    names = ["lingerd-t%d-%s" % (os.getpid(), x) for x in "abc"]
    made, labs = [], []
    probe = subprocess.run(["ip", "netns", "add", names[0]], capture_output=True, text=True)
    if probe.returncode != 0:
        skip("cannot create named network namespaces here: %s" % probe.stderr.strip())
        print("0 passed, 0 failed")
        return
    made.append(names[0])
    d = None
    try:
        for n in names[1:]:
            subprocess.run(["ip", "netns", "add", n], check=True)
            made.append(n)
        for n in names:
            subprocess.run(["ip", "netns", "exec", n, "ip", "link", "set", "lo", "up"], check=True)
            p = subprocess.Popen(["ip", "netns", "exec", n, BIN, "lab", "--count", "1", "--port", "0"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            p.stdout.readline()  # the lab's report: every socket is in place
            labs.append(p)
        d = Daemon("--interval", "0.5", "--netns", "all", "--persist-after", "0", "--metrics-netns")
        # Every namespace of the host is dumped: on a busy machine a snapshot takes a while.
        d.wait_snapshots(2, timeout=90)
        listing = d.json("/api/v1/netns")["namespaces"]
        by_name = {x["name"]: x for x in listing}
        check_eq(listing[0]["name"], "self", "own namespace listed first")
        for n in names:
            check(n in by_name, "namespace %s is listed by its file name" % n)
            if n not in by_name:
                continue
            x = by_name[n]
            check_eq(x["kind"], "named", "%s kind" % n)
            check_eq(x["error"], None, "%s dumped without error" % n)
            want = ss_counts(n)
            check_eq(nonzero(x["counts"]), want, "%s counts equal ss -N %s" % (n, n))
            snap = d.json("/api/v1/snapshot?netns=%s" % n)
            check_eq(nonzero(snap["counts"]), want, "snapshot?netns=%s equals ss" % n)
            check_eq(snap["netns"], n, "snapshot names its namespace")
            socks = d.json("/api/v1/sockets?netns=%s&limit=10000" % n)["sockets"]
            check_eq(len(socks), sum(want.values()), "sockets?netns=%s lists them all" % n)
            check(all(s["netns"] == n for s in socks), "sockets carry their namespace")
            leak = d.json("/api/v1/lingering?group_by=process&states=CLOSE_WAIT&netns=%s" % n)["groups"]
            check(any(g.get("comm") == "lab-leaker" for g in leak),
                  "process attribution inside %s finds lab-leaker" % n)
            f = d.json("/api/v1/findings?min_age=0&netns=%s" % n)["findings"]
            check(any(x["id"].startswith("close_wait_leak/") and x["subject"].get("comm") == "lab-leaker"
                      for x in f), "findings per namespace: the leak in %s" % n)
        # Per-namespace series, opted in, agree with the JSON.
        _, _, metrics = d.get("/metrics")
        text = metrics.decode()
        for n in names:
            want = ss_counts(n)
            got = {}
            for line in text.splitlines():
                if line.startswith('lingerd_netns_tcp_sockets{netns="%s",' % n):
                    st = line.split('state="')[1].split('"')[0]
                    got[st] = int(line.rsplit(" ", 1)[1])
            check_eq({k: v for k, v in got.items() if v},
                     {k.lower().replace("_wait_", "_wait").replace("fin_wait_", "fin_wait"): v
                      for k, v in want.items()}, "metrics for %s" % n)
        # The own namespace's view is not polluted by the others.
        self_total = d.json("/api/v1/snapshot")["total"]
        all_total = d.json("/api/v1/snapshot?netns=all")["total"]
        check(all_total >= self_total + sum(sum(ss_counts(n).values()) for n in names) - 2,
              "netns=all adds the namespaces (%d vs %d)" % (all_total, self_total))
        st, _, body = d.get("/api/v1/snapshot?netns=no-such-namespace")
        check_eq(st, 404, "an unknown namespace is a 404")
        ns_id = by_name.get(names[0], {}).get("id")

        # Delete one namespace mid-run: it disappears, its history stays.
        labs[0].terminate()
        labs[0].wait(15)
        subprocess.run(["ip", "netns", "del", names[0]], check=True)
        made.remove(names[0])
        gone = False
        for _ in range(40):
            if names[0] not in {x["name"] for x in d.json("/api/v1/netns")["namespaces"]}:
                gone = True
                break
            time.sleep(0.25)
        check(gone, "a deleted namespace disappears")
        d.wait_snapshots(2, timeout=90)
        check_eq(d.get("/healthz")[2]["db"], "ok", "still recording after the deletion")
        c = sqlite3.connect(d.db)
        rows = c.execute("select count(*), sum(last_seen is null) from sockets where netns = ?",
                         (ns_id,)).fetchone() if ns_id else (0, 0)
        c.close()
        check(rows[0] > 0, "its sockets' history is kept (%d rows)" % rows[0])
        check_eq(rows[1], 0, "and every one of them has ended")
    finally:
        for p in labs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
        if d:
            d.close()
        for n in made:
            subprocess.run(["ip", "netns", "del", n])
    done()


main()
