#!/usr/bin/env python3
"""benchkit.py - the Python half of bench/run.sh: polls, cross-checks and writes the report.

Subcommands (run.sh calls each inside the benchmark's network namespace where it matters):
  snaps      poll lingerd's /healthz on one keep-alive connection and print one JSON line per
             new snapshot (after skipping the first few)
  scrape     time N GETs of a URL, each on a fresh connection (as a scraper would), in ms
  wrk        parse `wrk --latency` output into {"rps": .., "p99_ms": ..}
  crosscheck compare lingerd's counts with dumpcount's and with what loadgen built; exit 1
             on a mismatch
  dbsize     bytes a SQLite database holds in use (pages minus free pages) and on disk
  report     fold run.sh's records into results JSON and a markdown table (targets included)
Standard library only, so the suite needs nothing from pip.
"""
import argparse
import http.client
import json
import os
import re
import sqlite3
import statistics
import sys
import time
import urllib.parse

STATES = ["ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT_1", "FIN_WAIT_2", "TIME_WAIT",
          "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING"]


def fold_state(name):
    """lingerd says CLOSED where the kernel (and dumpcount) say CLOSE."""
    name = name.upper().replace("-", "_")
    return "CLOSE" if name == "CLOSED" else name


# ---- snaps ----

def flatten(d, prefix=""):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flatten(v, prefix + k + "_"))
        else:
            out[prefix + k] = v
    return out


def find_key(h, pattern):
    for k in sorted(h):
        if re.fullmatch(pattern, k) and isinstance(h[k], (int, float)) and not isinstance(h[k], bool):
            return k
    return None


def record(path, n, key, values):
    with open(path, "a") as f:
        f.write(json.dumps({"n": n, "key": key, "values": values}) + "\n")


def get(conn, path):
    conn.request("GET", path)
    r = conn.getresponse()
    return r.status, r.read()


def self_metrics(text):
    """lingerd_* samples without labels from a Prometheus exposition, as floats."""
    out = {}
    for line in text.decode("utf-8", "replace").splitlines():
        if line.startswith("lingerd_") and "{" not in line:
            name, _, value = line.partition(" ")
            try:
                out[name] = float(value)
            except ValueError:
                pass
    return out


def cmd_snaps(a):
    """Samples lingerd's own figures for consecutive snapshots.

    /healthz is polled (cheap); on each new snapshot /metrics is read once for what healthz
    does not carry (commit time, /proc walks), and the sample is kept only if both describe the
    same snapshot.  Records KEY_capture (capture, diff, attribution: last_duration_ms),
    KEY_commit (the database transaction), KEY (their sum per snapshot) and KEY_attr (the
    last /proc walk, for samples where a walk happened since the previous one).
    """
    u = urllib.parse.urlsplit(a.url)
    deadline = time.monotonic() + a.timeout
    conn = None
    last_seq = None
    last_walks = None
    skipped = 0
    samples = []
    have_metrics = True
    while len(samples) < a.count:
        if time.monotonic() > deadline:
            print("benchkit snaps: only %d of %d snapshots before the timeout"
                  % (len(samples), a.count), file=sys.stderr)
            break
        try:
            if conn is None:
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
            _st, body = get(conn, "/healthz")
            h = flatten(json.loads(body))
            seq = h.get("snapshots")
            if seq is not None and seq != last_seq:
                m = {}
                if have_metrics:
                    st, text = get(conn, "/metrics")
                    if st == 200:
                        m = self_metrics(text)
                    else:
                        have_metrics = False
                if m and m.get("lingerd_snapshots_total") != seq:
                    last_seq = None  # a snapshot landed in between: start again
                    continue
                ck = find_key(h, r"(last_)?commit(_ms|_last_ms|_duration_ms)")
                commit = h.get(ck) if ck else None
                if commit is None and "lingerd_snapshot_commit_duration_seconds" in m:
                    commit = m["lingerd_snapshot_commit_duration_seconds"] * 1e3
                walks = m.get("lingerd_attribution_walks_total")
                walk_ms = m.get("lingerd_attribution_walk_duration_seconds")
                if walk_ms is not None:
                    walk_ms *= 1e3
                if last_seq is not None and skipped < a.skip:
                    skipped += 1
                elif last_seq is not None:
                    samples.append({"capture": h.get("last_duration_ms"), "commit": commit,
                                    "walk": walk_ms,
                                    "walked": walks is not None and last_walks is not None
                                    and walks != last_walks,
                                    "missed": seq - last_seq - 1})
                last_seq = seq
                last_walks = walks
        except (OSError, http.client.HTTPException, ValueError):
            conn = None
        time.sleep(a.poll)
    if not samples:
        return 1
    cap = [s["capture"] for s in samples]
    record(a.records, a.n, a.key + "_capture", cap)
    com = [s["commit"] for s in samples]
    if all(c is not None for c in com):
        record(a.records, a.n, a.key + "_commit", [round(c, 3) for c in com])
        record(a.records, a.n, a.key, [round(x + y, 3) for x, y in zip(cap, com)])
    else:
        record(a.records, a.n, a.key, cap)
    walked = [s["walk"] for s in samples if s["walked"] and s["walk"] is not None]
    if walked:
        record(a.records, a.n, a.key + "_attr", [round(w, 3) for w in walked])
    print(json.dumps({"samples": samples}))
    return 0 if len(samples) == a.count else 1


# ---- scrape ----

def cmd_scrape(a):
    u = urllib.parse.urlsplit(a.url)
    path = u.path + ("?" + u.query if u.query else "")
    out = []
    status = None
    size = 0
    for _ in range(a.count):
        t0 = time.perf_counter()
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=a.timeout)
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        t1 = time.perf_counter()
        c.close()
        status, size = r.status, len(body)
        out.append(round((t1 - t0) * 1e3, 3))
        if a.save and status == 200:
            with open(a.save, "wb") as f:
                f.write(body)
    print(json.dumps({"status": status, "bytes": size, "runs_ms": out}))
    return 0


# ---- wrk ----

def to_ms(v, unit):
    return float(v) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def cmd_wrk(a):
    text = open(a.file).read()
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p99 = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s|m)\b", text, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errs = re.search(r"Socket errors:(.*)", text)
    res = {"rps": float(rps.group(1)) if rps else None,
           "p99_ms": to_ms(p99.group(1), p99.group(2)) if p99 else None,
           "non2xx": int(non2xx.group(1)) if non2xx else 0,
           "socket_errors": errs.group(1).strip() if errs else ""}
    print(json.dumps(res))
    return 0


# ---- crosscheck ----

def counts_of(doc):
    c = doc.get("counts", {})
    return {fold_state(k): int(v) for k, v in c.items()}


def cmd_crosscheck(a):
    built = json.load(open(a.loadgen))["built"]
    orphans = json.load(open(a.loadgen)).get("fin_wait2_orphans", 0)
    dumps = [counts_of(json.load(open(p))) for p in a.dump]
    problems = []
    for name, path in (("lingerd", a.lingerd), ("lingerd --source proc", a.lingerd_proc)):
        if not path:
            continue
        mine = counts_of(json.load(open(path)))
        ok = False
        for d in dumps:
            if all(mine.get(s, 0) == d.get(s, 0) for s in STATES):
                ok = True
        if not ok:
            diff = {s: [mine.get(s, 0)] + [d.get(s, 0) for d in dumps]
                    for s in STATES if any(mine.get(s, 0) != d.get(s, 0) for d in dumps)}
            problems.append("%s counts differ from dumpcount's (state: [%s, dumpcount...]): %s"
                            % (name, name, json.dumps(diff)))
    d = dumps[0]
    for s in ("ESTABLISHED", "CLOSE_WAIT", "TIME_WAIT", "LISTEN"):
        if d.get(s, 0) != built.get(s, 0):
            problems.append("dumpcount sees %d %s, loadgen built %d" % (d.get(s, 0), s, built.get(s, 0)))
    fw2 = d.get("FIN_WAIT_2", 0)
    if not built["FIN_WAIT_2"] <= fw2 <= built["FIN_WAIT_2"] + orphans:
        problems.append("dumpcount sees %d FIN_WAIT_2, loadgen built %d (+%d orphans)"
                        % (fw2, built["FIN_WAIT_2"], orphans))
    print(json.dumps({"ok": not problems, "problems": problems, "dumpcount": d}))
    return 1 if problems else 0


# ---- dbsize ----

def cmd_dbsize(a):
    files = sum(os.path.getsize(p) for p in (a.db, a.db + "-wal", a.db + "-shm")
                if os.path.exists(p))
    used = None
    try:
        c = sqlite3.connect("file:%s?mode=ro" % a.db, uri=True, timeout=5)
        pc = c.execute("PRAGMA page_count").fetchone()[0]
        fl = c.execute("PRAGMA freelist_count").fetchone()[0]
        ps = c.execute("PRAGMA page_size").fetchone()[0]
        c.close()
        used = (pc - fl) * ps
    except sqlite3.Error as e:
        print("benchkit dbsize: %s" % e, file=sys.stderr)
    print(json.dumps({"used_bytes": used, "file_bytes": files}))
    return 0


# ---- report ----

LABELS = [
    # key, label, unit
    ("built_total", "sockets built (+ listeners)", ""),
    ("host_load1_start", "host load average (1 min) before / after this N; 2 cores", ""),
    ("host_load1_end", "", ""),
    ("dumpcount", "raw netlink count dump, both families (floor, in-process)", "ms"),
    ("dumpcount_paced", "raw count dump, one per interval at 1% churn (as snapshots run)", "ms"),
    ("snap_c1", "lingerd snapshot, 1% churn/interval (capture+diff+commit)", "ms"),
    ("snap_c1_capture", "  of which capture+diff (healthz last_duration_ms)", "ms"),
    ("snap_c1_commit", "  of which commit", "ms"),
    ("snap_c1_us_per_sock", "  per socket", "us"),
    ("snap_c1_vs_paced", "  / raw dump at the same cadence (not a target)", "x"),
    ("snap_c10", "lingerd snapshot, 10% churn/interval (capture+diff+commit)", "ms"),
    ("snap_c10_commit", "  of which commit", "ms"),
    ("ss_tan", "`ss -tan`", "ms"),
    ("proc_read", "`cat /proc/net/tcp /proc/net/tcp6`", "ms"),
    ("snap_proc", "lingerd `--source proc` snapshot, no churn", "ms"),
    ("snap_attr", "lingerd snapshot with attribution each snapshot, 1% churn", "ms"),
    ("attr", "lingerd attribution (inode to process)", "ms"),
    ("ss_tanp", "`ss -tanp`", "ms"),
    ("once", "`lingerd --once` wall time (first snapshot, every row inserted)", "ms"),
    ("metrics", "lingerd /metrics scrape", "ms"),
    ("node_exporter", "node_exporter 1.5 tcpstat scrape", "ms"),
    ("http_snapshot_lingerd_rps", "wrk /api/v1/snapshot: lingerd", "req/s"),
    ("http_snapshot_nginx_rps", "wrk /api/v1/snapshot bytes: nginx", "req/s"),
    ("http_snapshot_lingerd_p99", "wrk /api/v1/snapshot p99: lingerd", "ms"),
    ("http_snapshot_nginx_p99", "wrk /api/v1/snapshot p99: nginx", "ms"),
    ("http_metrics_lingerd_rps", "wrk /metrics: lingerd", "req/s"),
    ("http_metrics_nginx_rps", "wrk /metrics bytes: nginx", "req/s"),
    ("http_metrics_lingerd_p99", "wrk /metrics p99: lingerd", "ms"),
    ("http_metrics_nginx_p99", "wrk /metrics p99: nginx", "ms"),
    ("http_sockets_lingerd_rps", "wrk /api/v1/sockets?limit=100: lingerd", "req/s"),
    ("http_sockets_nginx_rps", "wrk /api/v1/sockets?limit=100 bytes: nginx", "req/s"),
    ("http_sockets_lingerd_p99", "wrk /api/v1/sockets?limit=100 p99: lingerd", "ms"),
    ("http_sockets_nginx_p99", "wrk /api/v1/sockets?limit=100 p99: nginx", "ms"),
    ("http_trends_lingerd_rps", "wrk 7-day /api/v1/trends: lingerd", "req/s"),
    ("http_trends_nginx_rps", "wrk 7-day /api/v1/trends bytes: nginx", "req/s"),
    ("http_trends_lingerd_p99", "wrk 7-day /api/v1/trends p99: lingerd", "ms"),
    ("http_trends_nginx_p99", "wrk 7-day /api/v1/trends p99: nginx", "ms"),
    ("trends_7d", "7-day /api/v1/trends query", "ms"),
    ("steady_cpu_pct", "steady state at 1 s, 1% churn: CPU", "% of a core"),
    ("steady_rss_mb", "steady state: RSS at the end", "MB"),
    ("steady_hwm_mb", "steady state: peak RSS", "MB"),
    ("steady_snapshot_ms", "steady state: last snapshot (capture+diff+attribution)", "ms"),
    ("steady_rows_per_s", "steady state: socket rows written", "rows/s"),
    ("db_growth_mb_h", "database growth (pages in use)", "MB/hour"),
    ("db_growth_mb_day", "database growth (pages in use)", "MB/day"),
    ("db_file_growth_mb_h", "database growth (db+wal file sizes)", "MB/hour"),
    ("db_bytes_per_row", "database bytes per socket row written", "B"),
]


def median(v):
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None


def fmt(v, unit=""):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if unit == "req/s" or abs(v) >= 1000:
        return "%.0f" % v
    if abs(v) >= 100:
        return "%.0f" % v
    if abs(v) >= 10:
        return "%.1f" % v
    if abs(v) >= 1:
        return "%.2f" % v
    return "%.3f" % v


def load_records(path):
    vals = {}   # (n, key) -> median value
    runs = {}   # (n, key) -> list
    notes = []
    for line in open(path):
        line = line.strip()
        if not line:
            continue
        r = json.loads(line)
        if "note" in r:
            notes.append(r)
            continue
        k = (r["n"], r["key"])
        if "values" in r:
            runs[k] = r["values"]
            vals[k] = median(r["values"])
        else:
            vals[k] = r["value"]
    return vals, runs, notes


def derive(vals, sizes):
    for n in sizes:
        walk = vals.get((n, "snap_attr_attr"))
        with_a, without = vals.get((n, "snap_attr_capture")), vals.get((n, "snap_c1_capture"))
        if walk is not None:
            vals[(n, "attr")] = walk
        elif with_a is not None and without is not None:
            # Not exposed by the daemon: the extra time of snapshots that attribute.
            vals[(n, "attr")] = max(0.0, with_a - without)
        s = vals.get((n, "snap_c1"))
        if s is not None and n:
            vals[(n, "snap_c1_us_per_sock")] = s * 1e3 / n
        p = vals.get((n, "dumpcount_paced"))
        if s is not None and p:
            vals[(n, "snap_c1_vs_paced")] = s / p


def targets(vals, sizes, quick):
    """Every ratio of issue 7, at N = 100k where the issue says so (else the largest N run)."""
    ref = 100000 if 100000 in sizes else max(sizes)
    rows = []

    def ratio(num, den):
        a, b = vals.get((ref, num)), vals.get((ref, den))
        return a / b if a is not None and b else None

    def add(what, value, limit, ok, unit="x", shown=None):
        rows.append({"target": what, "n": ref, "value": value, "unit": unit, "limit": limit,
                     "met": None if value is None else bool(ok(value)), "shown": shown})

    add("snapshot (1% churn) / raw counting dump", ratio("snap_c1", "dumpcount"), "<= 1.25x",
        lambda v: v <= 1.25)
    add("snapshot (1% churn) / `ss -tan`", ratio("snap_c1", "ss_tan"), "<= 0.6x", lambda v: v <= 0.6)
    per = [vals[(n, "snap_c1_us_per_sock")] for n in sizes
           if n >= 10000 and vals.get((n, "snap_c1_us_per_sock"))]
    flat = max(per) / min(per) if len(per) >= 2 else None
    rows.append({"target": "snapshot cost per socket, max/min over N >= 10k", "n": "all",
                 "value": flat, "unit": "x", "limit": "<= 1.3x",
                 "met": None if flat is None else flat <= 1.3,
                 "shown": None if flat is None else " / ".join("%.2f us" % p for p in per)})
    add("`--source proc` snapshot / read of /proc/net/tcp{,6}", ratio("snap_proc", "proc_read"),
        "<= 1.2x", lambda v: v <= 1.2)
    add("attribution / `ss -tanp`", ratio("attr", "ss_tanp"), "<= 0.2x", lambda v: v <= 0.2)
    add("/metrics scrape median", vals.get((ref, "metrics")), "<= 5 ms", lambda v: v <= 5, " ms")
    ne, me = vals.get((ref, "node_exporter")), vals.get((ref, "metrics"))
    add("node_exporter tcpstat / lingerd /metrics", ne / me if ne and me else None, ">= 30x",
        lambda v: v >= 30)
    add("/api/v1/snapshot req/s / nginx req/s",
        ratio("http_snapshot_lingerd_rps", "http_snapshot_nginx_rps"), ">= 0.5x",
        lambda v: v >= 0.5)
    add("/api/v1/snapshot p99", vals.get((ref, "http_snapshot_lingerd_p99")), "<= 10 ms",
        lambda v: v <= 10, " ms")
    add("steady state CPU at 1 s", vals.get((ref, "steady_cpu_pct")), "< 20% of a core",
        lambda v: v < 20, "%")
    add("steady state RSS", vals.get((ref, "steady_rss_mb")), "< 64 MB", lambda v: v < 64, " MB")
    add("database growth at 1% churn/s", vals.get((ref, "db_growth_mb_day")), "< 100 MB/day",
        lambda v: v < 100, " MB/day")
    add("7-day trends query", vals.get((ref, "trends_7d")), "< 20 ms", lambda v: v < 20, " ms")
    return rows


def size_name(n):
    return "%gk" % (n / 1000) if n >= 1000 else str(n)


def markdown(meta, vals, sizes, trows, notes, quick):
    out = []
    m = meta["machine"]
    out.append("Run %s (%s): %s, %s cores, kernel %s, %s GiB; lingerd %s (%s build)%s."
               % (meta["started_at"], meta.get("mode", "full"), m["cpu"], m["nproc"], m["kernel"],
                  m["mem_gib"], meta["lingerd_rev"], meta["build"],
                  "; quick smoke run, figures are not meaningful" if quick else ""))
    out.append("")
    out.append("Medians of repeated runs, all in one private network namespace per N, with the "
               "load of `bench/loadgen` (70% ESTABLISHED pairs, 10% each CLOSE_WAIT, FIN_WAIT_2, "
               "TIME_WAIT).")
    out.append("")
    out.append("| measure | unit | " + " | ".join("N=" + size_name(n) for n in sizes) + " |")
    out.append("|---|---|" + "---:|" * len(sizes))
    for key, label, unit in LABELS:
        if all(vals.get((n, key)) is None for n in sizes):
            continue
        if key == "host_load1_end":
            continue
        if key == "host_load1_start":
            cells = " | ".join("%s / %s" % (fmt(vals.get((n, key))), fmt(vals.get((n, "host_load1_end"))))
                               for n in sizes)
        else:
            cells = " | ".join(fmt(vals.get((n, key)), unit) for n in sizes)
        out.append("| %s | %s | %s |" % (label, unit, cells))
    out.append("")
    out.append("Targets of issue 7 (ratios from this run):")
    out.append("")
    out.append("| target | N | measured | limit | met |")
    out.append("|---|---|---:|---|---|")
    for r in trows:
        v = r["value"]
        shown = fmt(v) + r["unit"] if v is not None else "not measured"
        if r.get("shown"):
            shown += " (%s)" % r["shown"]
        met = "-" if r["met"] is None else ("yes" if r["met"] else "**no**")
        n = size_name(r["n"]) if isinstance(r["n"], int) else r["n"]
        out.append("| %s | %s | %s | %s | %s |" % (r["target"], n, shown, r["limit"], met))
    if notes:
        out.append("")
        out.append("Notes from the run:")
        out.append("")
        seen = set()
        for nt in notes:
            txt = ("N=%s: " % size_name(nt["n"]) if nt.get("n") else "") + nt["note"]
            if txt not in seen:
                seen.add(txt)
                out.append("- " + txt)
    return "\n".join(out) + "\n"


def cmd_report(a):
    meta = json.load(open(a.meta))
    vals, runs, notes = load_records(a.records)
    sizes = sorted({n for (n, _k) in vals} | {n for (n, _k) in runs})
    derive(vals, sizes)
    trows = targets(vals, sizes, a.quick) if sizes else []
    doc = {"meta": meta, "sizes": sizes,
           "medians": {str(n): {k: v for (nn, k), v in sorted(vals.items()) if nn == n}
                       for n in sizes},
           "runs": {str(n): {k: v for (nn, k), v in sorted(runs.items()) if nn == n}
                    for n in sizes},
           "targets": trows, "notes": notes}
    with open(a.json, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    md = markdown(meta, vals, sizes, trows, notes, a.quick)
    if a.md:
        with open(a.md, "w") as f:
            f.write(md)
    if a.update:
        text = open(a.update).read()
        begin, end = "<!-- bench:results:begin -->", "<!-- bench:results:end -->"
        if begin in text and end in text:
            head, rest = text.split(begin, 1)
            _old, tail = rest.split(end, 1)
            text = head + begin + "\n" + md + end + tail
        else:
            text = text.rstrip("\n") + "\n\n" + begin + "\n" + md + end + "\n"
        with open(a.update, "w") as f:
            f.write(text)
    sys.stdout.write(md)
    return 0


def main():
    p = argparse.ArgumentParser(prog="benchkit")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("snaps")
    s.add_argument("--url", required=True)
    s.add_argument("--records", required=True)
    s.add_argument("--n", type=int, required=True)
    s.add_argument("--key", required=True)
    s.add_argument("--count", type=int, default=5)
    s.add_argument("--skip", type=int, default=1)
    s.add_argument("--poll", type=float, default=0.05)
    s.add_argument("--timeout", type=float, default=120)
    s = sub.add_parser("scrape")
    s.add_argument("--url", required=True)
    s.add_argument("--count", type=int, default=5)
    s.add_argument("--timeout", type=float, default=60)
    s.add_argument("--save")
    s = sub.add_parser("wrk")
    s.add_argument("file")
    s = sub.add_parser("crosscheck")
    s.add_argument("--loadgen", required=True)
    s.add_argument("--dump", action="append", required=True)
    s.add_argument("--lingerd")
    s.add_argument("--lingerd-proc")
    s = sub.add_parser("dbsize")
    s.add_argument("db")
    s = sub.add_parser("report")
    s.add_argument("--records", required=True)
    s.add_argument("--meta", required=True)
    s.add_argument("--json", required=True)
    s.add_argument("--md")
    s.add_argument("--update")
    s.add_argument("--quick", action="store_true")
    a = p.parse_args()
    return {"snaps": cmd_snaps, "scrape": cmd_scrape, "wrk": cmd_wrk, "crosscheck": cmd_crosscheck,
            "dbsize": cmd_dbsize, "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
