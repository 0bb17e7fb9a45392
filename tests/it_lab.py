"""Socket-state lab: `lingerd lab` holds every observable TCP state for real; checked against ss.

Scenarios: the lab in this namespace on ephemeral ports (exact socket set for its ports, owners
via ss -p, queues, SIGTERM cleanup); the lab in a fresh network namespace (whole-namespace
totals equal the lab's, to the socket); --summary; bad usage; a state that cannot be built (exit 1,
nothing left behind).  The linger and reuseaddr demonstrations: it_lab_teach.py; the demo:
it_lab_demo.py."""
import collections
import ipaddress
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from lingerd_test import BIN, SS_STATES, LabProc, check, check_eq, done, skip, split_hostport  # noqa: E402

STATES = ["LISTEN", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT_1", "FIN_WAIT_2",
          "TIME_WAIT", "CLOSE_WAIT", "LAST_ACK", "CLOSING"]
SCENARIOS = ["listen", "established", "syn_sent", "syn_recv", "fin_wait_1", "fin_wait_1_orphan",
             "fin_wait_2", "fin_wait_2_orphan", "time_wait", "close_wait", "close_wait_unread",
             "close_wait_leak", "last_ack", "closing"]
NETNS_FLAG = "--in-netns"
START_TIMEOUT = 20


def norm(addr):
    return str(ipaddress.ip_address(addr))


def ss_rows(extra=()):
    """(state, laddr, lport, raddr, rport, rq, wq, users) for every TCP socket ss reports."""
    out = subprocess.run(["ss", "-Htan"] + list(extra), capture_output=True, text=True,
                         check=True).stdout
    rows = []
    for line in out.splitlines():
        f = line.split()
        if len(f) < 5:
            continue
        la, lp = split_hostport(f[3])
        ra, rp = split_hostport(f[4])
        rows.append((SS_STATES.get(f[0], f[0]), norm(la), lp, norm(ra), rp, int(f[1]), int(f[2]),
                     " ".join(f[5:])))
    return rows


def key(row):
    return row[:5]


def sock_key(s):
    return (s["state"], norm(s["local"]), s["lport"], norm(s["remote"]), s["rport"])


def endpoints(rep):
    """(addr, port) of every scenario listener: each lab socket has one at one end."""
    host = {"ipv4": "127.0.0.1", "ipv6": "::1"}
    return {(host[fam], port) for scn in rep["layout"].values()
            for fam, port in scn["ports"].items()}


def ours(rows, eps):
    return [r for r in rows if (r[1], r[2]) in eps or (r[3], r[4]) in eps]


def check_report(rep, tag):
    """The report against itself: N of each, states add up, layout as documented."""
    n = rep["count"]
    socks = rep["sockets"]
    check_eq(sorted(rep["states"]), sorted(STATES), tag + " all ten observable states reported")
    check_eq(list(rep["layout"]), SCENARIOS, tag + " layout lists every scenario in port order")
    for name, scn in rep["layout"].items():
        for fam in rep["families"]:
            got = [s for s in socks if s["scenario"] == name and s["family"] == fam
                   and s["state"] == scn["state"]]
            want = 2 * n if name == "established" else n  # both ends of N connections
            check_eq(len(got), want, "%s %s %s: N in %s" % (tag, name, fam, scn["state"]))
            if rep["port_base"]:
                check_eq(scn["ports"][fam], rep["port_base"] + scn["offset"],
                         "%s %s port is BASE+offset" % (tag, name))
    for st, info in rep["states"].items():
        mine = [s for s in socks if s["state"] == st]
        check(len(mine) >= n * len(rep["families"]), "%s %s: at least N a family" % (tag, st))
        check_eq(info["count"], len(mine), tag + " states.%s.count" % st)
        check_eq(info["ipv4"] + info["ipv6"], info["count"], tag + " states.%s by family" % st)
        check_eq(info["local_ports"], sorted(s["lport"] for s in mine),
                 tag + " %s local_ports" % st)
        check_eq(sum(v["count"] for v in info["variants"].values()), info["count"],
                 tag + " %s variants add up" % st)
        check_eq(info["pids"], sorted({s["pid"] for s in mine if s["pid"]}), tag + " %s pids" % st)
        scn_ports = {rep["layout"][s["scenario"]]["ports"][f]
                     for s in mine for f in rep["families"]}
        check_eq(sorted(scn_ports), info["ports"], tag + " %s ports" % st)
    by = collections.defaultdict(list)
    for s in socks:
        by[(s["scenario"], s["role"], s["state"])].append(s)
    fin_timeout = rep["tcp_fin_timeout_s"]
    for s in by[("close_wait", "server", "CLOSE_WAIT")]:
        check_eq(s["rqueue"], 0, tag + " close_wait read its EOF: rqueue 0")
    for s in by[("close_wait_unread", "server", "CLOSE_WAIT")]:
        check_eq(s["rqueue"], 101, tag + " close_wait_unread: 100 bytes and the FIN unread")
    for s in by[("close_wait_leak", "server", "CLOSE_WAIT")]:
        check_eq((s["owner"], s["pid"]), ("leaker", rep["leaker"]["pid"]), tag + " leak owner")
    for s in by[("fin_wait_2", "server", "FIN_WAIT_2")]:
        check_eq((s["owner"], s["expires_after_s"]), ("lab", None), tag + " held FIN_WAIT_2")
    for s in by[("fin_wait_2_orphan", "server", "FIN_WAIT_2")]:
        check_eq((s["owner"], s["expires_after_s"]), ("kernel", fin_timeout),
                 tag + " orphan FIN_WAIT_2 bounded by tcp_fin_timeout")
    for s in by[("time_wait", "server", "TIME_WAIT")]:
        check_eq((s["owner"], s["expires_after_s"]), ("kernel", 60), tag + " TIME_WAIT 60 s")
        check_eq(s["lport"], rep["layout"]["time_wait"]["ports"][s["family"]],
                 tag + " TIME_WAIT sits on the listener's port (server closed first)")
    for s in by[("fin_wait_1", "server", "FIN_WAIT_1")] + by[("last_ack", "server", "LAST_ACK")] \
            + by[("closing", "server", "CLOSING")]:
        check(s["wqueue"] > 1, tag + " %s: FIN queued behind unsent data" % s["state"])


def check_against_ss(rep, baseline, tag, whole_ns):
    """Every reported socket is in ss in its state, and nothing else is (on our ports, or at
    all in a namespace of our own), with the same queues."""
    eps = endpoints(rep)
    want = collections.Counter(sock_key(s) for s in rep["sockets"])
    got = None
    for _ in range(20):  # a dump is not atomic; the states themselves do not move
        rows = ss_rows()
        if not whole_ns:
            rows = ours(rows, eps)
        got = collections.Counter(key(r) for r in rows) - baseline
        if got == want:
            break
        time.sleep(0.1)
    check_eq(sorted((got - want).elements()), [], tag + " ss has no socket the lab did not report")
    check_eq(sorted((want - got).elements()), [], tag + " every reported socket is in ss")
    if whole_ns:
        check_eq(sum(baseline.values()), 0, tag + " the namespace was empty before the lab")
        totals = collections.Counter(r[0] for r in rows)
        check_eq({st: totals.get(st, 0) for st in STATES},
                 {st: v["count"] for st, v in rep["states"].items()},
                 tag + " whole-namespace totals by state equal the lab's counts")
    queues = {key(r): (r[5], r[6]) for r in rows}
    for s in rep["sockets"]:
        k = sock_key(s)
        if k in queues and s["state"] != "LISTEN":
            check_eq(queues[k], (s["rqueue"], s["wqueue"]), tag + " queues of %r" % (k,))


def check_owners(rep, tag):
    """ss -p: the leaker alone holds the leaked CLOSE_WAITs; kernel-owned sockets have no
    process; the lab holds the rest."""
    eps = endpoints(rep)
    rows = {key(r): r[7] for r in ours(ss_rows(["-p"]), eps)}
    lab_pid, leak_pid = rep["pid"], rep["leaker"]["pid"]
    check(leak_pid > 0 and leak_pid != lab_pid, tag + " leaker is a separate process")
    try:
        with open("/proc/%d/comm" % leak_pid) as f:
            check_eq(f.read().strip(), "lab-leaker", tag + " leaker comm")
        with open("/proc/%d/stat" % leak_pid) as f:
            check_eq(int(f.read().rsplit(")", 1)[1].split()[1]), lab_pid, tag + " leaker's parent")
    except OSError as e:
        check(False, tag + " leaker process readable: %s" % e)
    for s in rep["sockets"]:
        users = rows.get(sock_key(s), "")
        pids = {int(p) for p in re.findall(r"pid=(\d+)", users)}
        names = set(re.findall(r'\("([^"]+)"', users))
        if s["owner"] == "kernel":
            check_eq(pids, set(), tag + " kernel-owned %r has no process" % (sock_key(s),))
        elif s["owner"] == "leaker":
            check_eq((pids, names), ({leak_pid}, {"lab-leaker"}),
                     tag + " leaked %r held by lab-leaker only" % (sock_key(s),))
        else:
            check_eq(pids, {lab_pid}, tag + " %r held by the lab" % (sock_key(s),))


def check_after_stop(rep, baseline, rc, err, tag, whole_ns):
    check_eq(rc, 0, tag + " exit status after SIGTERM (stderr: %s)" % err.strip())
    tw = collections.Counter(sock_key(s) for s in rep["sockets"]
                             if s["scenario"] == "time_wait")
    rows = ss_rows()
    if not whole_ns:
        rows = ours(rows, endpoints(rep))
    left = collections.Counter(key(r) for r in rows) - baseline
    check_eq(sorted((left - tw).elements()), [],
             tag + " only the kernel's TIME_WAIT sockets outlive the lab")
    check(not os.path.exists("/proc/%d" % rep["leaker"]["pid"]), tag + " leaker reaped")


def run_lab_scenario(tag, whole_ns, *args):
    # What was there before: fixed ports may still carry an earlier run's TIME_WAITs.
    baseline = collections.Counter(key(r) for r in ss_rows())
    lab = LabProc(*args, timeout=START_TIMEOUT)
    rep = lab.report
    try:
        check_report(rep, tag)
        check_against_ss(rep, baseline, tag, whole_ns)
        check_owners(rep, tag)
    finally:
        rc, _, err = lab.stop()
    check_after_stop(rep, baseline, rc, err, tag, whole_ns)
    return rep


def check_usage():
    for args in (["--count", "0"], ["--bogus"], ["--family", "5"], ["--port", "70000"],
                 ["--hold", "-1"], ["--count"], ["linger", "--count", "2"], ["--json"],
                 ["linger", "--summary"], ["linger", "--linger", "0"], ["reuseaddr", "--linger", "1"]):
        p = subprocess.run([BIN, "lab"] + args, capture_output=True, text=True, timeout=10)
        check_eq(p.returncode, 64, "bad usage %r exits 64" % (args,))
        check("usage" in p.stderr, "bad usage %r explains itself on stderr" % (args,))
        check_eq(p.stdout, "", "bad usage %r prints nothing on stdout" % (args,))


def check_build_failure(base):
    """A taken port makes one state unbuildable: exit 1 naming it, nothing left behind."""
    blocker = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    blocker.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    blocker.bind(("::1", base + SCENARIOS.index("fin_wait_1")))
    blocker.listen(1)
    try:
        p = subprocess.run([BIN, "lab", "--port", str(base), "--count", "1"],
                           capture_output=True, text=True, timeout=30)
        check_eq(p.returncode, 1, "unbuildable state exits 1")
        check("FIN_WAIT_1" in p.stderr and "EADDRINUSE" in p.stderr,
              "the failure names the state and the errno: %r" % p.stderr)
        check_eq(p.stdout, "", "no report when a state cannot be built")
        eps = {(a, base + k) for a in ("127.0.0.1", "::1") for k in range(len(SCENARIOS))}
        left = [key(r) for r in ours(ss_rows(), eps)]
        check_eq(left, [("LISTEN", "::1", base + 4, "::", 0)],
                 "nothing but the blocker is left on the lab's ports")
    finally:
        blocker.close()


def check_summary(rep):
    """--summary: a few short lines for people, with the same counts as the JSON report."""
    p = subprocess.run([BIN, "lab", "--count", "1", "--hold", "1", "--port", "0", "--summary"],
                       capture_output=True, text=True, timeout=30)
    check_eq(p.returncode, 0, "--summary exits 0 (%s)" % p.stderr.strip())
    lines = p.stdout.splitlines()
    check(2 <= len(lines) <= 6 and max(map(len, lines)) < 200,
          "--summary prints a few short lines: %r" % p.stdout)
    counts = dict((m.group(1), int(m.group(2)))
                  for m in re.finditer(r"\b([A-Z_0-9]+) (\d+)(?:,|$)", p.stdout, re.M))
    check_eq(counts, {st: v["count"] for st, v in rep["states"].items()},
             "--summary counts by state equal the JSON report's")
    leak = re.search(r"CLOSE_WAIT leak: (\d+) held by process lab-leaker", p.stdout)
    check(leak is not None, "--summary names the leaking process: %r" % p.stdout)
    if leak:
        check_eq(int(leak.group(1)), rep["states"]["CLOSE_WAIT"]["variants"]
                 ["close_wait_leak/server"]["count"], "--summary's leak count")


def in_netns():
    """Runs inside a fresh network namespace: whole-namespace totals are exact."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    rep = run_lab_scenario("netns", True, "--count", "2", "--port", "31100")
    check_eq(rep["port_base"], 31100, "netns fixed port base")
    # TIME_WAITs of the first run are still there: a second run on the same ports must work.
    run_lab_scenario("netns rerun", False, "--count", "1", "--port", "31100", "--family", "6")
    check_build_failure(32100)
    # SIGINT works like SIGTERM; --hold ends by itself.
    lab = LabProc("--count", "1", "--family", "4", "--port", "0", timeout=START_TIMEOUT)
    rc, _, err = lab.stop(signal.SIGINT)
    check_eq(rc, 0, "SIGINT exits 0 (%s)" % err.strip())
    t0 = time.monotonic()
    p = subprocess.run([BIN, "lab", "--count", "1", "--hold", "1", "--port", "0"],
                       capture_output=True, text=True, timeout=30)
    check_eq(p.returncode, 0, "--hold 1 exits 0 by itself")
    check(time.monotonic() - t0 < 10, "--hold 1 ends promptly")
    check_eq(len(p.stdout.splitlines()), 1, "--hold prints one line")
    check_summary(json.loads(p.stdout))
    done()


def main():
    if not os.access(BIN, os.X_OK):
        check(False, "LINGERD_BIN is not an executable: %s" % BIN)
        done()
    t0 = time.monotonic()
    check_usage()
    run_lab_scenario("host", False, "--count", "2", "--port", "0")
    probe = subprocess.run(["unshare", "-n", "--", "ip", "link", "set", "lo", "up"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        skip("netns scenario: cannot create a network namespace (unshare -n: %s)"
             % (probe.stderr.strip() or "rc %d" % probe.returncode))
    else:
        p = subprocess.run(["unshare", "-n", "--", sys.executable, os.path.abspath(__file__),
                            NETNS_FLAG], capture_output=True, text=True, timeout=120)
        sys.stdout.write(p.stdout)
        sys.stdout.write(p.stderr)
        check_eq(p.returncode, 0, "netns scenario passed")
    print("it_lab took %.1f s" % (time.monotonic() - t0))
    done()


if __name__ == "__main__":
    if NETNS_FLAG in sys.argv:
        in_netns()
    else:
        main()
