"""What `lingerd lab linger` and `lingerd lab reuseaddr` teach, checked against evidence of our own.

In a fresh network namespace, so that its counters move for the lab alone:
- linger: the /proc/net/netstat and /proc/net/snmp counters read here before and after the run
  move by exactly the sum the lab reports; each case shows what Linux does (l_onoff 0: at once,
  FIN, TIME_WAIT; l_linger > 0 with unsent data: close() blocks l_linger, blocking or not, then
  the kernel keeps the socket in FIN_WAIT_1 and delivers everything, no RST; l_linger 0 and
  unread data: RST at once, no TIME_WAIT); ss, polled while the lab runs, saw the lingering
  closes in FIN-WAIT-1 and shows the TIME_WAITs after; our own clock bounds close()'s wait.
- reuseaddr: ss shows the TIME_WAITs; binds of our own on their ports fail and pass as the lab
  says.
- the text output for people says the same as the JSON."""
import errno
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from lingerd_test import BIN, SS_STATES, check, check_eq, done, run_in_private_netns, split_hostport  # noqa: E402

LINGER_S = 2           # --linger: two closes wait this long each
LINGER_BASE = 33300    # --port of the linger run: case k's server listens on BASE + k
REUSE_BASE = 33400
CASES = ["plain_close", "linger_timeout", "linger_timeout_nonblocking", "linger_0", "unread_data"]
COUNTERS = {"TCPAbortOnData": "TcpExt", "TCPAbortOnClose": "TcpExt", "TCPAbortOnLinger": "TcpExt",
            "OutRsts": "Tcp"}


def counters():
    """The four counters, read here from /proc/net/netstat and /proc/net/snmp."""
    vals = {}
    for path in ("/proc/net/netstat", "/proc/net/snmp"):
        with open(path) as f:
            lines = f.read().splitlines()
        for hdr, val in zip(lines[::2], lines[1::2]):
            prefix = hdr.split(":")[0]
            for name, v in zip(hdr.split()[1:], val.split()[1:]):
                if COUNTERS.get(name) == prefix:
                    vals[name] = int(v)
    return vals


def ss_now():
    """{(state, local addr, local port, peer addr, peer port): send queue} from ss (netlink)."""
    out = subprocess.run(["ss", "-Htan"], capture_output=True, text=True, check=True).stdout
    rows = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) < 5:
            continue
        la, lp = split_hostport(f[3])
        ra, rp = split_hostport(f[4])
        rows[(SS_STATES.get(f[0], f[0]), la, lp, ra, rp)] = int(f[2])
    return rows


class SsPoller:
    """Polls ss while the lab runs; .seen maps each (state, 4-tuple) to the largest send queue."""

    def __init__(self):
        self.seen = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            for k, q in ss_now().items():
                self.seen[k] = max(q, self.seen.get(k, 0))
            time.sleep(0.01)

    def close(self):
        self.stop.set()
        self.thread.join()


def closer_key(c, state):
    return (state, c["local"], c["lport"], c["remote"], c["rport"])


def run_lab(*args):
    p = subprocess.run([BIN, "lab"] + list(args), capture_output=True, text=True, timeout=60)
    check_eq(p.returncode, 0, "lab %s exits 0 (stderr: %s)" % (" ".join(args), p.stderr.strip()))
    return p.stdout


def check_linger():
    before = counters()
    poller = SsPoller()
    t0 = time.monotonic()
    try:
        out = run_lab("linger", "--json", "--linger", str(LINGER_S), "--port", str(LINGER_BASE))
    finally:
        took = time.monotonic() - t0
        poller.close()
    after = counters()
    lines = out.splitlines()
    check_eq(len(lines), 1, "linger --json prints one line")
    rep = json.loads(lines[0])
    cases = {c["case"]: c for c in rep["cases"]}
    check_eq([c["case"] for c in rep["cases"]], CASES, "linger cases in order")
    check_eq(rep["linger_s"], LINGER_S, "--linger sets l_linger")
    for k, name in enumerate(CASES):
        check_eq((cases[name]["remote"], cases[name]["rport"]), ("127.0.0.1", LINGER_BASE + k),
                 "--port: case %s's peer listens on BASE+%d" % (name, k))

    # The counters: what we read moved by exactly what the lab says its cases moved.
    for name in COUNTERS:
        check_eq(after[name] - before[name], sum(c["counters"][name] for c in rep["cases"]),
                 "%s moved by the sum of the lab's cases (our own reads)" % name)
    zero = {n: 0 for n in COUNTERS}

    # l_onoff = 0: close() returns at once; a FIN (the peer reads EOF); TIME_WAIT on the closer.
    c = cases["plain_close"]
    check_eq(c["so_linger"], None, "plain close: no SO_LINGER")
    check(c["close_ms"] < 100, "plain close: close() returns at once (%.3f ms)" % c["close_ms"])
    check_eq((c["close_result"], c["peer_read"], c["wire"]), ("ok", "eof", "FIN"),
             "plain close: FIN, the peer reads EOF")
    check_eq(c["counters"], zero, "plain close moves no abort counter and sends no RST")
    check_eq(c["time_wait"], 1, "plain close: TIME_WAIT on the closer")

    # l_linger > 0, unsent data, a peer that does not read: close() blocks l_linger, blocking
    # socket or not (Linux never answers EWOULDBLOCK here), then returns 0 without an RST; the
    # socket lives on in FIN_WAIT_1 with the data, which the peer then reads in full.
    for name, blocking in (("linger_timeout", True), ("linger_timeout_nonblocking", False)):
        c = cases[name]
        check_eq((c["so_linger"], c["blocking"]), ([1, LINGER_S], blocking), name + " setup")
        check(c["unsent_bytes"] > 0, "%s: data unsent at close() (%d)" % (name, c["unsent_bytes"]))
        check(LINGER_S * 1000 * 0.95 <= c["close_ms"] < LINGER_S * 1000 + 1000,
              "%s: close() blocked about l_linger (%.1f ms)" % (name, c["close_ms"]))
        check_eq(c["close_result"], "ok", name + ": close() returns 0 (no EWOULDBLOCK on Linux)")
        check_eq(c["after_close"]["state"], "FIN_WAIT_1", name + ": FIN_WAIT_1 after close()")
        check(c["after_close"]["send_queue"] >= c["unsent_bytes"],
              name + ": the unsent data is still queued after close()")
        check_eq(c["counters"], zero, name + ": no RST, no abort counted")
        check_eq((c["peer_read"], c["wire"], c["peer_bytes"]), ("eof", "FIN", c["written_bytes"]),
                 name + ": the peer read everything written, then EOF")
        check_eq(c["time_wait"], 1, name + ": TIME_WAIT on the closer in the end")
        seen = poller.seen.get(closer_key(c, "FIN_WAIT_1"))
        check(seen is not None and seen > 0,
              name + ": ss saw the closer in FIN-WAIT-1 with data queued (%r)" % seen)

    # l_linger = 0, and unread data without SO_LINGER: an RST at once, no TIME_WAIT.
    for name, counter in (("linger_0", "TCPAbortOnData"), ("unread_data", "TCPAbortOnClose")):
        c = cases[name]
        check(c["close_ms"] < 100, "%s: close() returns at once (%.3f ms)" % (name, c["close_ms"]))
        check_eq((c["close_result"], c["peer_read"], c["wire"]), ("ok", "ECONNRESET", "RST"),
                 name + ": RST, the peer reads ECONNRESET")
        check_eq(c["counters"], dict(zero, OutRsts=1, **{counter: 1}),
                 name + ": one RST sent, counted in " + counter)
        check_eq(c["time_wait"], 0, name + ": no TIME_WAIT")
        check(not any(k[1:] == closer_key(c, "")[1:] and k[0] in ("TIME_WAIT", "FIN_WAIT_1")
                      for k in poller.seen), name + ": ss never saw it in FIN-WAIT-1 or TIME-WAIT")
    check_eq(cases["linger_0"]["so_linger"], [1, 0], "linger_0: SO_LINGER {1, 0}")
    check_eq(cases["unread_data"]["unread_bytes"], 3, "unread_data: 3 bytes left unread")

    # Our clock: two closes waited l_linger each.
    check(took >= 2 * LINGER_S, "the run took at least 2 x l_linger (%.2f s)" % took)
    # ss after the run: TIME_WAIT where the lab says, and only there.
    rows = ss_now()
    for name in CASES:
        c = cases[name]
        check_eq(closer_key(c, "TIME_WAIT") in rows, c["time_wait"] == 1,
                 name + ": ss shows a TIME_WAIT exactly where the lab reports one")
    # Every state the lab's watcher reports for the closer is a state name, and a close the lab
    # reports ending in TIME_WAIT ends there in its timeline too.
    for name in CASES:
        states = [e["state"] for e in cases[name]["states"] if e["end"] == "closer"]
        check(states[:1] == ["ESTABLISHED"], name + ": the timeline starts ESTABLISHED")
        want_last = "TIME_WAIT" if cases[name]["time_wait"] else None
        check_eq(states[-1:], [want_last], name + ": the timeline ends as ss shows it")


def check_reuseaddr():
    out = run_lab("reuseaddr", "--json", "--port", str(REUSE_BASE))
    rep = json.loads(out)
    got = [(c["old_reuseaddr"], c["new_reuseaddr"], c["port"], c["bind"]) for c in rep["cases"]]
    # bind() passes a TIME_WAIT only when it and the TIME_WAIT's own socket (which inherited it
    # from its listener) both have SO_REUSEADDR.
    check_eq(got, [(True, False, REUSE_BASE, "EADDRINUSE"), (True, True, REUSE_BASE, "ok"),
                   (False, True, REUSE_BASE + 1, "EADDRINUSE"),
                   (False, False, REUSE_BASE + 1, "EADDRINUSE")], "reuseaddr bind results")
    rows = ss_now()
    for c in rep["cases"]:
        t = c["time_wait"]
        check_eq((t["count"], t["lport"]), (1, c["port"]), "a TIME_WAIT on port %d" % c["port"])
        check(("TIME_WAIT", t["local"], t["lport"], t["remote"], t["rport"]) in rows,
              "ss shows the TIME_WAIT on port %d" % c["port"])
    # Our own binds on the same ports, while the TIME_WAITs last, agree with the lab's.
    for old_reuse, port in ((True, REUSE_BASE), (False, REUSE_BASE + 1)):
        for new_reuse in (False, True):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, int(new_reuse))
            try:
                s.bind(("127.0.0.1", port))
                s.listen(1)
                res = "ok"
            except OSError as e:
                res = errno.errorcode.get(e.errno, str(e.errno))
            finally:
                s.close()
            lab = [c["bind"] for c in rep["cases"]
                   if (c["old_reuseaddr"], c["new_reuseaddr"]) == (old_reuse, new_reuse)]
            check_eq([res], lab, "our bind on port %d (SO_REUSEADDR %s) agrees with the lab"
                     % (port, new_reuse))


def check_text():
    """Without --json: several short lines for people, saying what the JSON says."""
    out = run_lab("linger", "--port", "0")
    check(all(len(line) <= 100 for line in out.splitlines()), "linger text lines fit 100 columns")
    for k, name in enumerate(CASES):
        check("%d. %s:" % (k + 1, name) in out, "linger text has case %s" % name)
    closes = re.findall(r"close\(\) returned (\S+) after ([\d.]+) ms", out)
    check_eq(len(closes), len(CASES), "linger text says how long each close() took")
    if len(closes) == len(CASES):
        check(float(closes[1][1]) >= 950 and float(closes[0][1]) < 100,
              "linger text: the lingering close() took about l_linger (1 s), the plain one not")
    check_eq(re.findall(r"on the wire: (\w+)", out), ["FIN", "FIN", "FIN", "RST", "RST"],
             "linger text: FIN or RST per case")
    out = run_lab("reuseaddr", "--port", "0")
    check_eq(re.findall(r"bind\(\) (with|without) +SO_REUSEADDR: (\w+)", out),
             [("without", "EADDRINUSE"), ("with", "ok"), ("with", "EADDRINUSE"),
              ("without", "EADDRINUSE")], "reuseaddr text: the four binds")


def main():
    t0 = time.monotonic()
    check_linger()
    check_reuseaddr()
    check_text()
    print("it_lab_teach took %.1f s" % (time.monotonic() - t0))
    done()


if __name__ == "__main__":
    run_in_private_netns(__file__, main, "the counters must move for the lab alone")
