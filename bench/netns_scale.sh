#!/bin/bash
# netns_scale.sh - lingerd --netns all with 100k sockets in one namespace plus K near-empty ones,
# two builds side by side in one run: CPU per interval, snapshot latency and RSS, with ratios.
#
#   bench/netns_scale.sh [--before REV] [--ks "0 10 50 100"] [--count 100000] [--window S]
#
# Builds lingerd at REV (default: main) and at the working tree (Release, in a work folder),
# makes one namespace holding --count sockets (bench/loadgen, its default mix) and K namespaces
# each holding a listener and one connected pair (one small process enters them all), then for
# each K runs each build at --interval 1 for a warm-up and a measured window: CPU from
# /proc/PID/stat, snapshot latency from /metrics (lingerd_snapshot_duration_seconds, once a
# second, median and max), RSS at the end (and once before any load, for the per-socket cost).
# Needs root (namespaces).  Prints a Markdown table
# and writes it with the raw numbers under the work folder.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
before=main
ks="0 10 50 100"
count=100000
window=20
warm=8
while [ $# -gt 0 ]; do
	case $1 in
	--before) before=$2; shift 2 ;;
	--ks) ks=$2; shift 2 ;;
	--count) count=$2; shift 2 ;;
	--window) window=$2; shift 2 ;;
	--warm) warm=$2; shift 2 ;;
	*) echo "usage: $0 [--before REV] [--ks LIST] [--count N] [--window S] [--warm S]" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "netns_scale: needs root" >&2; exit 77; }

W=$(mktemp -d /tmp/lingerd-netns-scale.XXXXXX)
tag=lnsb$$
pids=()
made=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	for n in "${made[@]}"; do ip netns del "$n" 2>/dev/null || true; done
}
trap cleanup EXIT
log() { echo "netns_scale: $*" >&2; }

build() { # name rev-or-empty
	local src=$W/src-$1
	mkdir -p "$src"
	if [ -n "$2" ]; then
		git -C "$repo" archive "$2" | tar -x -C "$src"
	else
		(cd "$repo" && git ls-files -z | xargs -0 tar -c) | tar -x -C "$src"
	fi
	cmake -S "$src" -B "$W/build-$1" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$W/build-$1" -j2 --target lingerd >/dev/null
	echo "$W/build-$1/lingerd"
}
rev_before=$(git -C "$repo" rev-parse --short "$before")
rev_after="$(git -C "$repo" rev-parse --short HEAD)$(git -C "$repo" diff --quiet HEAD || echo +dirty)"
log "building $before ($rev_before) and the working tree ($rev_after)"
# BIN_BEFORE and BIN_AFTER name builds already made, to skip building.
bin_before=${BIN_BEFORE:-$(build before "$before")}
bin_after=${BIN_AFTER:-$(build after "")}
cc -std=c11 -O2 -o "$W/loadgen" "$here/loadgen.c" -lm

# One process holds a listener and a connected pair in each quiet namespace (setns per socket).
cat >"$W/holder.py" <<'EOF'
import ctypes, os, socket, sys, time
libc = ctypes.CDLL(None, use_errno=True)
keep = []
for name in sys.stdin.read().split():
    fd = os.open("/run/netns/" + name, os.O_RDONLY)
    if libc.setns(fd, 0x40000000) != 0:
        sys.exit("setns %s: %d" % (name, ctypes.get_errno()))
    os.close(fd)
    l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(8)
    c = socket.create_connection(l.getsockname()); s, _ = l.accept()
    keep += [l, c, s]
print("ready", len(keep), flush=True)
time.sleep(3600)
EOF

measure() { # binary label k
	local db=$W/db-$2-$3 port
	rm -f "$db"*
	"$1" --listen 127.0.0.1:0 --db "$db" --interval 1 --netns all >"$W/out-$2-$3" 2>"$W/err-$2-$3" &
	local pid=$!
	for _ in $(seq 100); do grep -q "listening on" "$W/out-$2-$3" && break; sleep 0.1; done
	port=$(sed -n 's/.*listening on http:\/\/[0-9.]*:\([0-9]*\).*/\1/p' "$W/out-$2-$3")
	python3 - "$pid" "$port" "$warm" "$window" "$2" "$3" >>"$W/results.jsonl" <<'EOF'
import json, os, statistics, sys, time, urllib.request
pid, port, warm, window, label, k = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5], int(sys.argv[6])
tick = os.sysconf("SC_CLK_TCK")
def cpu():
    f = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / tick
def metrics():
    m = {}
    for line in urllib.request.urlopen("http://127.0.0.1:%s/metrics" % port, timeout=30).read().decode().splitlines():
        if line and not line.startswith("#"):
            k_, _, v = line.rpartition(" ")
            m[k_] = float(v)
    return m
time.sleep(warm)
m0, c0, t0 = metrics(), cpu(), time.monotonic()
lat = []
while time.monotonic() - t0 < window:
    time.sleep(1)
    lat.append(metrics()["lingerd_snapshot_duration_seconds"] * 1e3)
m1, c1, t1 = metrics(), cpu(), time.monotonic()
rss = [int(l.split()[1]) for l in open("/proc/%s/status" % pid) if l.startswith("VmRSS:")][0]
snaps = m1["lingerd_snapshots_total"] - m0["lingerd_snapshots_total"]
r = {"label": label, "k": k, "cpu_pct": 100 * (c1 - c0) / (t1 - t0), "snapshots": snaps,
     "cpu_ms_per_snapshot": 1e3 * (c1 - c0) / snaps if snaps else None,
     "lat_ms_median": statistics.median(lat), "lat_ms_max": max(lat), "rss_mb": rss / 1024,
     "netns_dumps_per_snapshot": (m1.get("lingerd_netns_dumps_total", 0) - m0.get("lingerd_netns_dumps_total", 0)) / snaps if snaps else None,
     "followed": m1.get("lingerd_netns_followed")}
print(json.dumps(r), flush=True)
print(json.dumps(r), file=sys.stderr)
EOF
	kill "$pid"; wait "$pid" || true
}

# Before any load: the "after" build's RSS with lingerd's own namespace only, for the per-socket cost.
measure "$bin_after" idle 0

# The busy namespace.
busy=$tag-busy
ip netns add "$busy"; made+=("$busy")
ip -n "$busy" link set lo up
mkfifo "$W/lg.ctl"
exec {lgfd}<>"$W/lg.ctl"
nsenter --net="/run/netns/$busy" -- nice -n 10 "$W/loadgen" --count "$count" --max-runtime 1800 \
	<"$W/lg.ctl" >"$W/lg.out" 2>"$W/lg.err" &
pids+=($!)
for _ in $(seq 600); do
	grep -q '"event":"\(ready\|error\)"' "$W/lg.out" 2>/dev/null && break
	sleep 0.5
done
grep -q '"event":"ready"' "$W/lg.out" || { cat "$W/lg.out" "$W/lg.err" >&2; exit 1; }
log "loadgen: $(grep '"event":"ready"' "$W/lg.out" | head -1)"

have=0
for k in $ks; do
	if [ "$k" -gt "$have" ]; then
		names=""
		for i in $(seq $((have + 1)) "$k"); do
			ip netns add "$tag-q$i"; made+=("$tag-q$i")
			ip -n "$tag-q$i" link set lo up
			names="$names $tag-q$i"
		done
		echo "$names" | python3 "$W/holder.py" >"$W/holder-$k.out" &
		pids+=($!)
		for _ in $(seq 100); do grep -q ready "$W/holder-$k.out" && break; sleep 0.1; done
		have=$k
	fi
	log "K=$k: $(uptime)"
	measure "$bin_before" before "$k"
	measure "$bin_after" after "$k"
done

python3 - "$W/results.jsonl" "$rev_before" "$rev_after" "$count" <<'EOF' | tee "$W/report.md"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {(r["label"], r["k"]): r for r in rows}
print("100k-socket namespace (%s sockets) plus K near-empty namespaces, --netns all, --interval 1;"
      " before = %s, after = %s." % (sys.argv[4], sys.argv[2], sys.argv[3]))
print()
print("| K | CPU % before | CPU % after | after/before | latency ms before (median/max) | "
      "latency ms after (median/max) | dumps/snapshot after | RSS MB before / after |")
print("|---|---|---|---|---|---|---|---|")
for k in sorted({r["k"] for r in rows}):
    b, a = by.get(("before", k)), by.get(("after", k))
    if not b or not a:
        continue
    print("| %d | %.1f | %.1f | %.2f | %.0f / %.0f | %.0f / %.0f | %.1f | %.0f / %.0f |" % (
        k, b["cpu_pct"], a["cpu_pct"], a["cpu_pct"] / b["cpu_pct"] if b["cpu_pct"] else 0,
        b["lat_ms_median"], b["lat_ms_max"], a["lat_ms_median"], a["lat_ms_max"],
        a["netns_dumps_per_snapshot"] or 0, b["rss_mb"], a["rss_mb"]))
a0 = by.get(("after", 0))
for k in sorted({r["k"] for r in rows}):
    a = by.get(("after", k))
    if a0 and a and k:
        print("\nafter, K=%d against K=0: CPU %.2fx, median latency %.2fx, RSS +%.2f MB (%.0f KiB a namespace)" % (
            k, a["cpu_pct"] / a0["cpu_pct"], a["lat_ms_median"] / a0["lat_ms_median"],
            a["rss_mb"] - a0["rss_mb"], 1024 * (a["rss_mb"] - a0["rss_mb"]) / k))
i = by.get(("idle", 0))
if i and a0:
    print("\nRSS: %.1f MB without the load, %.1f MB with it: %.0f bytes a socket" % (
        i["rss_mb"], a0["rss_mb"], (a0["rss_mb"] - i["rss_mb"]) * 1048576 / int(sys.argv[4])))
EOF
log "raw numbers: $W/results.jsonl"
