#!/usr/bin/env python3
"""tracecost.py - what the teardown tracer costs per TCP state change, measured two ways.

1. Connection churn (bench/churn.c: one process, loopback, ten state changes a connection) in a
   private network namespace, alternating runs without and with the tracer attached
   (bench/tracehold.c, lingerd's own loader): connections/s and CPU per connection.
2. The kernel's own accounting (kernel.bpf_stats_enabled=1 during the runs with the tracer):
   run time per program run, from `bpftool prog show`, of the programs the loader holds (not
   those of other lingerd instances on the host).  Every TCP state change on the host runs the
   program, so other traffic is in these figures too; that is the real cost.

Usage: bench/tracecost.py [--build DIR] [--rounds N] [--seconds S]   (as root)
Prints one line per run and a JSON summary."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

CHANGES_PER_CONN = 10


def churn(build, secs):
    out = subprocess.run(["unshare", "-n", "--", "sh", "-c",
                          'ip link set lo up && exec "$0" "$1"',
                          os.path.join(build, "tests", "churn"), str(secs)],
                         capture_output=True, text=True, check=True).stdout
    r = json.loads(out)
    r["conns_per_s"] = r["connections"] / r["seconds"]
    r["cpu_us_per_conn"] = r["cpu_seconds"] / r["connections"] * 1e6
    return r


def prog_ids(pid):
    """The ids of the BPF programs process pid holds open: other lingerd instances on the host
    load programs of the same names, and their figures must not mix with this run's."""
    ids = set()
    fds = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(fds):
        try:
            with open(os.path.join(fds, fd)) as f:
                ids.update(int(line.split()[1]) for line in f if line.startswith("prog_id:"))
        except OSError:
            pass
    return ids


def prog_stats(pid):
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True,
                         check=True).stdout
    mine = prog_ids(pid)
    return {p["name"]: (p.get("run_time_ns", 0), p.get("run_cnt", 0))
            for p in json.loads(out) if p.get("id") in mine and
            p.get("name") in ("on_state", "on_send_reset", "on_receive_reset")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3.0)
    a = ap.parse_args()
    stats_path = "/proc/sys/kernel/bpf_stats_enabled"
    with open(stats_path) as f:
        stats_was = f.read().strip()
    runs = {"off": [], "on": []}
    kernel = {}
    try:
        with open(stats_path, "w") as f:
            f.write("1")
        for rnd in range(a.rounds):
            for mode in ("off", "on") if rnd % 2 == 0 else ("on", "off"):
                hold = None
                if mode == "on":
                    hold = subprocess.Popen([os.path.join(a.build, "tests", "tracehold")],
                                            stdout=subprocess.PIPE, text=True)
                    line = hold.stdout.readline().strip()
                    if line != "attached":
                        sys.exit("tracer not attached: %s" % line)
                r = churn(a.build, a.seconds)
                if hold:
                    for name, (ns, cnt) in prog_stats(hold.pid).items():
                        k = kernel.setdefault(name, [0, 0])
                        k[0] += ns
                        k[1] += cnt
                    hold.terminate()
                    hold.wait(10)
                runs[mode].append(r)
                print("round %d tracer %-3s: %8.0f conn/s  %6.2f us CPU/conn" %
                      (rnd, mode, r["conns_per_s"], r["cpu_us_per_conn"]), flush=True)
                time.sleep(0.5)
    finally:
        with open(stats_path, "w") as f:
            f.write(stats_was)
    med = {m: {k: statistics.median(r[k] for r in runs[m])
               for k in ("conns_per_s", "cpu_us_per_conn")} for m in runs}
    summary = {
        "rounds": a.rounds, "seconds": a.seconds,
        "median": med,
        "throughput_change_pct": (med["on"]["conns_per_s"] / med["off"]["conns_per_s"] - 1) * 100,
        "cpu_ns_per_state_change": (med["on"]["cpu_us_per_conn"] - med["off"]["cpu_us_per_conn"])
        * 1e3 / CHANGES_PER_CONN,
        "kernel_ns_per_run": {n: (v[0] / v[1] if v[1] else None) for n, v in kernel.items()},
        "kernel_runs": {n: v[1] for n, v in kernel.items()},
    }
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
