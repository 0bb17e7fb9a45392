"""Core integration: real sockets on loopback, the real binary over HTTP, checked against ss.

Runs the same assertions with --source netlink and --source proc."""
import json
import os
import signal
import socket
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from lingerd_test import (BIN, Daemon, Teardown, check, check_eq, count_by_state, done,  # noqa: E402
                          run_in_private_netns, ss_sockets)

ALL_STATES = ["ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT_1", "FIN_WAIT_2", "TIME_WAIT",
              "CLOSED", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING"]


def nonzero(counts):
    return {k: v for k, v in counts.items() if v}


def scenario(source, family):
    fam = "ipv4" if family == socket.AF_INET else "ipv6"
    tag = "%s/%s" % (source, fam)
    d = Daemon("--interval", "0.2", "--source", source, "--persist-after", "0")
    lab = Teardown(family)
    try:
        d.wait_snapshots(2)
        h = d.json("/healthz")
        check_eq(h["status"], "ok", tag + " healthz status")
        check_eq(h["source"], source, tag + " healthz source")
        check_eq(h["db"], "ok", tag + " healthz db")

        snap = d.json("/api/v1/snapshot?port=%d" % lab.port)
        ss = count_by_state(ss_sockets(), port=lab.port)
        check_eq(sorted(snap["counts"].keys()), sorted(ALL_STATES), tag + " all 11 states present")
        check_eq(nonzero(snap["counts"]), ss, tag + " snapshot counts equal ss -Htan")
        check_eq(nonzero(snap["counts"]), Teardown.expected, tag + " snapshot counts equal the lab")
        check_eq(snap["total"], sum(Teardown.expected.values()), tag + " total")
        check_eq(snap["source"], source, tag + " snapshot source")

        fsnap = d.json("/api/v1/snapshot?port=%d&family=%s" % (lab.port, fam))
        check_eq(fsnap["counts"], snap["counts"], tag + " family filter keeps our sockets")
        other = "ipv6" if fam == "ipv4" else "ipv4"
        osnap = d.json("/api/v1/snapshot?port=%d&family=%s" % (lab.port, other))
        check_eq(osnap["total"], 0, tag + " other family has none of our sockets")

        # The whole list for the port, oldest in state first.
        socks = d.json("/api/v1/sockets?port=%d&limit=100" % lab.port)
        check_eq(len(socks["sockets"]), snap["total"], tag + " sockets list length")
        check(socks["next"] is None, tag + " no next page")
        sinces = [s["state_since"] for s in socks["sockets"]]
        check(sinces == sorted(sinces), tag + " oldest in state first")

        cw = d.json("/api/v1/sockets?port=%d&state=close-wait" % lab.port)["sockets"]
        check_eq(len(cw), 1, tag + " one CLOSE_WAIT")
        if cw:
            s = cw[0]
            check_eq(s["state"], "CLOSE_WAIT", tag + " state name")
            check_eq(s["family"], fam, tag + " family")
            check_eq(s["local"]["port"], lab.close_wait_local, tag + " CLOSE_WAIT local port")
            check_eq(s["remote"]["port"] != lab.port, True, tag + " CLOSE_WAIT remote is the client")
            check(s["inode"] > 0, tag + " CLOSE_WAIT is held by a process (inode > 0)")
            check_eq(s["uid"], os.getuid(), tag + " uid")
            if source == "netlink":
                check(isinstance(s["cookie"], str) and int(s["cookie"]) > 0, tag + " cookie string")
            age1 = s["age_s"]
            d.wait_snapshots(3)
            s2 = d.json("/api/v1/sockets?port=%d&state=CLOSE_WAIT" % lab.port)["sockets"][0]
            check(s2["age_s"] > age1, tag + " CLOSE_WAIT age grows (%s -> %s)" % (age1, s2["age_s"]))
            check_eq(s2["first_seen"], s["first_seen"], tag + " first_seen is stable")
            check_eq(s2["state_since"], s["state_since"], tag + " state_since is stable")

        tw = d.json("/api/v1/sockets?port=%d&state=time_wait" % lab.port)["sockets"]
        check_eq(len(tw), 1, tag + " one TIME_WAIT")
        if tw:
            check_eq(tw[0]["inode"], 0, tag + " TIME_WAIT is kernel-owned (inode 0)")
            check_eq(tw[0]["timer"]["kind"], "timewait", tag + " TIME_WAIT timer kind")
            check(0 < tw[0]["timer"]["expires_ms"] <= 60000, tag + " TIME_WAIT expires within 60 s")
            check_eq(tw[0]["local"]["port"], lab.time_wait_local, tag + " TIME_WAIT local port")

        fw = d.json("/api/v1/sockets?port=%d&state=FIN_WAIT_2,fin_wait_2" % lab.port)["sockets"]
        check_eq(len(fw), 1, tag + " one FIN_WAIT_2 (held after shutdown)")
        if fw and source == "netlink":
            check_eq(fw[0]["shutdown"], {"read": False, "write": True}, tag + " shutdown bits")

        # The same list as CSV, for spreadsheets and shell pipelines.
        import csv
        import io
        st, hdrs, raw = d.get("/api/v1/sockets?port=%d&format=csv" % lab.port)
        check_eq(st, 200, tag + " CSV status")
        check(hdrs.get("Content-Type", "").startswith("text/csv"), tag + " CSV content type")
        rows = list(csv.DictReader(io.StringIO(raw.decode())))
        check_eq(len(rows), snap["total"], tag + " CSV rows")
        check_eq(sorted(r["state"] for r in rows), sorted(x["state"] for x in socks["sockets"]),
                 tag + " CSV states match JSON")
        check(all(r["owner"] in ("process", "orphan") for r in rows), tag + " CSV owner column")

        # Filters: local_port, remote_port, min_age, paging.
        lp = d.json("/api/v1/sockets?local_port=%d" % lab.port)["sockets"]
        check_eq(sorted(s["state"] for s in lp), sorted(["CLOSE_WAIT", "ESTABLISHED", "LISTEN"]),
                 tag + " local_port filter")
        rp = d.json("/api/v1/sockets?remote_port=%d" % lab.port)["sockets"]
        check_eq(sorted(s["state"] for s in rp), sorted(["ESTABLISHED", "FIN_WAIT_2", "TIME_WAIT"]),
                 tag + " remote_port filter")
        old = d.json("/api/v1/sockets?port=%d&min_age=3600" % lab.port)["sockets"]
        check_eq(old, [], tag + " min_age=3600 matches nothing new")
        seen, cursor, pages = [], None, 0
        while True:
            q = "/api/v1/sockets?port=%d&limit=2" % lab.port + ("&cursor=" + cursor if cursor else "")
            page = d.json(q)
            seen += [(s["state"], s["local"]["port"], s["remote"]["port"]) for s in page["sockets"]]
            pages += 1
            cursor = page["next"]
            if not cursor or pages > 10:
                break
        check_eq(len(seen), snap["total"], tag + " paging returns every socket")
        check_eq(len(set(seen)), len(seen), tag + " paging returns no socket twice")
        check_eq(pages, 3, tag + " 6 sockets in pages of 2")

        # SIGTERM: exit 0 quickly; a restart on the same port works at once.
        port = d.port
        rc, took = d.stop()
        check_eq(rc, 0, tag + " SIGTERM exits 0")
        check(took < 2.0, tag + " SIGTERM exit within 2 s (%.2fs)" % took)
        with open(d.db + "-wal", "rb") if os.path.exists(d.db + "-wal") else open(os.devnull, "rb") as f:
            check_eq(len(f.read()), 0, tag + " WAL checkpointed on exit")
        d.listen = "127.0.0.1:%d" % port
        d.start()
        check_eq(d.port, port, tag + " restart on the same port")
        d.wait_snapshots(1)
        cw2 = d.json("/api/v1/sockets?port=%d&state=CLOSE_WAIT" % lab.port)["sockets"]
        if cw:
            check(len(cw2) == 1 and cw2[0]["first_seen"] == cw[0]["first_seen"],
                  tag + " CLOSE_WAIT age carried over a restart")
        rc, _ = d.stop(signal.SIGINT)
        check_eq(rc, 0, tag + " SIGINT exits 0")
    finally:
        lab.close()
        d.close()


def once():
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        ls.listen(1)
        r = subprocess.run([BIN, "--once", "--db", os.path.join(tmp, "x.db")],
                           capture_output=True, text=True, timeout=30)
        ls.close()
        check_eq(r.returncode, 0, "--once exit status")
        doc = json.loads(r.stdout)
        check(doc["counts"]["LISTEN"] >= 1 and len(doc["counts"]) == 11, "--once prints a snapshot")
    for bad in (["--interval", "0.01"], ["--interval", "x"], ["--source", "bpf"], ["--nope"],
                ["--listen", "nohost"], ["extra"], ["--listen"]):
        r = subprocess.run([BIN] + bad, capture_output=True, text=True, timeout=10)
        check_eq(r.returncode, 64, "bad flags %s exit 64" % bad)
        check("usage" in r.stderr or "--" in r.stderr, "bad flags %s explained on stderr" % bad)
    r = subprocess.run([BIN, "--help"], capture_output=True, text=True, timeout=10)
    check(r.returncode == 0 and "--interval" in r.stdout, "--help")
    r = subprocess.run([BIN, "--version"], capture_output=True, text=True, timeout=10)
    check(r.returncode == 0 and r.stdout.startswith("lingerd "), "--version")


def busy_port():
    """A port already taken: a clear message and a non-zero exit, not a hang."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    port = s.getsockname()[1]
    try:
        r = subprocess.run([BIN, "--listen", "127.0.0.1:%d" % port, "--db", "/tmp/lingerd-busy-test.db"],
                           capture_output=True, text=True, timeout=10)
        check(r.returncode != 0 and "Address already in use" in r.stderr,
              "taken port reported: %r" % r.stderr)
    finally:
        s.close()
        for sfx in ("", "-wal", "-shm"):
            if os.path.exists("/tmp/lingerd-busy-test.db" + sfx):
                os.unlink("/tmp/lingerd-busy-test.db" + sfx)


def main():
    once()
    busy_port()
    for src in ("netlink", "proc"):
        for fam in (socket.AF_INET, socket.AF_INET6):
            scenario(src, fam)
    done()


if __name__ == "__main__":
    run_in_private_netns(__file__, main, "other tests' sockets may share our ports", shared_ok=True)
