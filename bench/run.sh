#!/usr/bin/env bash
# run.sh - lingerd's benchmark suite (issue 7): one command builds, loads, measures and reports.
#
# Usage: bench/run.sh [--sizes 10k,100k,200k] [--quick] [--lingerd PATH] [--out DIR]
#                     [--repeat N] [--samples N] [--steady SECONDS] [--wrk-seconds S]
#                     [--no-install] [--no-md] [--max-time SECONDS] [--label TEXT]
#
# For each N it makes a private network namespace, builds the load there with bench/loadgen,
# cross-checks lingerd's counts against bench/dumpcount's (a mismatch fails the run), then
# measures lingerd against the raw dump, ss, /proc, node_exporter and nginx in that namespace.
# Results: OUT/<timestamp>.json (default OUT is bench/results) and a markdown table, printed and
# written into BENCHMARKS.md (unless --quick, --out or --no-md).  Exit status: 0 done, 1 real
# breakage (build, load, lingerd not answering, counts that disagree), 77 cannot run here (not
# root, no network namespaces, a basic tool missing); a slow figure never fails the run.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
started=$(date -u +%Y%m%dT%H%M%SZ)
t_start=${EPOCHREALTIME/./}

sizes="10k,100k,200k"
quick=0
lingerd=""
out=""
repeat=""
samples=""
steady=""
wrk_s=""
install=1
write_md=1
max_time=""
label=""
trends_path=${BENCH_TRENDS_PATH:-"/api/v1/trends?from=-7d"}

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
	case "$1" in
	--sizes) sizes=$2; shift ;;
	--quick) quick=1 ;;
	--lingerd) lingerd=$2; shift ;;
	--out) out=$2; shift ;;
	--repeat) repeat=$2; shift ;;
	--samples) samples=$2; shift ;;
	--steady) steady=$2; shift ;;
	--wrk-seconds) wrk_s=$2; shift ;;
	--no-install) install=0 ;;
	--no-md) write_md=0 ;;
	--max-time) max_time=$2; shift ;;
	--label) label=$2; shift ;; # names the lingerd build in the report (default: git describe)
	-h | --help) usage; exit 0 ;;
	*) echo "run.sh: unknown option '$1'" >&2; usage >&2; exit 64 ;;
	esac
	shift
done

if [ "$quick" = 1 ]; then
	[ "$sizes" = "10k,100k,200k" ] && sizes=200
	: "${repeat:=3}" "${samples:=3}" "${steady:=2}" "${wrk_s:=1}" "${max_time:=100}"
	install=0
	write_md=0
else
	: "${repeat:=9}" "${samples:=9}" "${steady:=60}" "${wrk_s:=5}" "${max_time:=5400}"
fi
[ -n "$out" ] && write_md=0
: "${out:=$repo/bench/results}"

# N list: "10k,100k" -> 10000 100000
size_list=()
IFS=, read -ra _sz <<<"$sizes"
for s in "${_sz[@]}"; do
	case "$s" in
	*k) size_list+=($(( ${s%k} * 1000 ))) ;;
	*[!0-9]* | "") echo "run.sh: bad size '$s'" >&2; exit 64 ;;
	*) size_list+=("$s") ;;
	esac
done

log() { printf '[bench +%ss] %s\n' $(( (${EPOCHREALTIME/./} - t_start) / 1000000 )) "$*" >&2; }
# set -e ends the run at the first failing command: say which, or the log just stops (the
# trap covers the top level; commands inside functions that may fail say so themselves).
trap 'log "FAILED: line $LINENO: $BASH_COMMAND (status $?)"' ERR
skip_run() { log "SKIP: $*"; exit 77; }
die() { log "FAILED: $*"; exit 1; }

[ "$(id -u)" = 0 ] || skip_run "needs root (network namespaces, /proc of every process)"
for t in ip nsenter python3 cc ss; do
	command -v "$t" >/dev/null || skip_run "'$t' is not installed"
done
# The interpreter itself, not a version manager's shim that costs half a second a call.
py=$(python3 -c 'import sys; print(sys.executable)')

# ---------------------------------------------------------------- state and cleanup
W=$(mktemp -d /tmp/lingerd-bench.XXXXXX)
chmod 755 "$W"
records=$W/records.jsonl
: >"$records"
ns=""
lg_pid=""
lgfd=""
bg_pids=()
policy_added=""
watchdog=""
broken=0

stop_pid() { # pid [grace seconds]: TERM, wait, then KILL; only processes this script started
	local p=$1 g=${2:-10} i
	[ -n "$p" ] || return 0
	kill -0 "$p" 2>/dev/null || { wait "$p" 2>/dev/null || true; return 0; }
	kill -TERM "$p" 2>/dev/null || true
	for ((i = 0; i < g * 10; i++)); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
}

stop_loadgen() {
	if [ -n "$lgfd" ]; then
		echo quit >&"$lgfd" 2>/dev/null || true
	fi
	stop_pid "$lg_pid" 20
	lg_pid=""
	if [ -n "$lgfd" ]; then
		exec {lgfd}>&-
		lgfd=""
	fi
	rm -f "$W/lg.ctl"
}

ns_down() {
	local p
	for p in "${bg_pids[@]}"; do stop_pid "$p" 5; done
	bg_pids=()
	nginx_up=0
	stop_loadgen
	if [ -n "$ns" ]; then
		# Whatever still runs in our private namespace was started by this script.
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
		ip netns del "$ns" 2>/dev/null || true
		ns=""
	fi
}

cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	[ -n "$watchdog" ] && kill "$watchdog" 2>/dev/null && wait "$watchdog" 2>/dev/null
	ns_down
	[ -n "$policy_added" ] && rm -f /usr/sbin/policy-rc.d
	rm -rf "$W"
	exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "stopped (--max-time ${max_time}s or SIGTERM)"; exit 124' TERM
# The watchdog's sleep must not hold our stdout open (a pipe reader would wait for it).
(
	trap 'kill "$sp" 2>/dev/null; exit 0' TERM
	sleep "$max_time" &
	sp=$!
	wait "$sp" && kill -TERM $$
) >/dev/null 2>&1 &
watchdog=$!

# ---------------------------------------------------------------- records
rec() { printf '{"n":%s,"key":"%s","value":%s}\n' "$1" "$2" "$3" >>"$records"; }
recv() { printf '{"n":%s,"key":"%s","values":%s}\n' "$1" "$2" "$3" >>"$records"; }
note() { # n text
	log "note: $2"
	"$py" -c 'import json,sys; print(json.dumps({"n": int(sys.argv[1]) or None, "note": sys.argv[2]}))' \
		"$1" "$2" >>"$records"
}
jget() { "$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {"d": d}))' "$1" "$2"; }

inns() { nsenter --net="/run/netns/$ns" -- "$@"; }

# Times R runs of a command inside the namespace, in-namespace clock, output discarded.
timeit() {
	local r=$1
	shift
	inns bash -c '
		r=$1; shift; out=""
		for ((i = 0; i < r; i++)); do
			t0=${EPOCHREALTIME/./}; "$@" >/dev/null 2>&1 || { echo "[]"; exit 0; }; t1=${EPOCHREALTIME/./}
			us=$((t1 - t0)); out+="${out:+,}$((us / 1000)).$(printf %03d $((us % 1000)))"
		done
		echo "[$out]"' _ "$r" "$@"
}

wait_line() { # file regex timeout pid
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		kill -0 "$4" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# ---------------------------------------------------------------- packages and build
need_pkgs=()
have() { command -v "$1" >/dev/null 2>&1; }
if [ "$install" = 1 ]; then
	"$repo/scripts/deps.sh" build
	for p in wrk:wrk nginx:nginx prometheus-node-exporter:prometheus-node-exporter curl:curl; do
		have "${p%%:*}" || need_pkgs+=("${p#*:}")
	done
	if [ ${#need_pkgs[@]} -gt 0 ]; then
		log "installing ${need_pkgs[*]}"
		# Debian starts services on install; nothing of this suite may listen on the host.
		if [ ! -e /usr/sbin/policy-rc.d ]; then
			printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
			chmod 755 /usr/sbin/policy-rc.d
			policy_added=1
		fi
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >"$W/apt.log" 2>&1 ||
			log "apt-get install failed (see below); the comparisons that need them are skipped"
		if [ -n "$policy_added" ]; then
			rm -f /usr/sbin/policy-rc.d
			policy_added=""
		fi
	fi
fi

build="given"
if [ -z "$lingerd" ]; then
	log "building a Release lingerd in build-bench/"
	cmake -S "$repo" -B "$repo/build-bench" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >"$W/cmake.log" 2>&1 ||
		{ tail -20 "$W/cmake.log" >&2; die "cmake configure failed"; }
	cmake --build "$repo/build-bench" -j"$(nproc)" --target lingerd >>"$W/cmake.log" 2>&1 ||
		{ tail -30 "$W/cmake.log" >&2; die "lingerd does not build"; }
	lingerd=$repo/build-bench/lingerd
	build=Release
fi
[ -x "$lingerd" ] || die "no lingerd binary at $lingerd"
lingerd=$(cd "$(dirname "$lingerd")" && pwd)/$(basename "$lingerd")

tools=$W/tools
mkdir -p "$tools"
for t in loadgen dumpcount; do
	cc -std=c11 -O2 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
		-o "$tools/$t" "$here/$t.c" -lm 2>"$W/cc.log" ||
		{ cat "$W/cc.log" >&2; die "bench/$t.c does not compile"; }
done
kit() { "$py" "$here/benchkit.py" "$@"; }

# Can we make a namespace at all?
ns="lingerd-bench-$$-probe"
ip netns add "$ns" 2>/dev/null || { ns=""; skip_run "cannot create a network namespace"; }
ip netns del "$ns"
ns=""

# ---------------------------------------------------------------- machine
rev=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$repo" diff --quiet HEAD -- server api db CMakeLists.txt 2>/dev/null || rev="$rev+dirty"
[ -n "$label" ] && rev=$label
"$py" - "$W/meta.json" "$started" "$rev" "$build" "$lingerd" "$quick" "$sizes" "$repeat" "$samples" \
	"$steady" <<'EOF'
import json, os, platform, sys
cpu = "unknown"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break
mem = 0
for line in open("/proc/meminfo"):
    if line.startswith("MemTotal:"):
        mem = int(line.split()[1]) / 1048576
a = sys.argv
json.dump({"started_at": a[2], "lingerd_rev": a[3], "build": a[4], "lingerd": a[5],
           "mode": "quick" if a[6] == "1" else "full", "sizes": a[7],
           "repeat": int(a[8]), "samples": int(a[9]), "steady_s": float(a[10]),
           "machine": {"nproc": os.cpu_count(), "kernel": platform.release(), "cpu": cpu,
                       "mem_gib": round(mem, 1), "os": platform.platform()}},
          open(a[1], "w"), indent=1)
EOF
log "lingerd $rev ($build): $lingerd; sizes ${size_list[*]}; work dir $W"

# ---------------------------------------------------------------- pieces
start_loadgen() { # n
	mkfifo "$W/lg.ctl"
	exec {lgfd}<>"$W/lg.ctl"
	# Started by nsenter itself (no shell function in between) so that $! is the process.
	# nice 10: the load yields the CPU to what is measured (2 cores here) rather than racing it.
	nsenter --net="/run/netns/$ns" -- nice -n 10 "$tools/loadgen" --count "$1" --max-runtime "$max_time" \
		<"$W/lg.ctl" >"$W/lg.out" 2>"$W/lg.err" &
	lg_pid=$!
	if ! wait_line "$W/lg.out" '"event":"(ready|error)"' 300 "$lg_pid" ||
		! grep -q '"event":"ready"' "$W/lg.out"; then
		cat "$W/lg.out" "$W/lg.err" >&2
		die "loadgen could not build $1 sockets"
	fi
	grep '"event":"ready"' "$W/lg.out" | head -1 >"$W/lg.json"
}

churn() { # fraction
	check_load
	echo "churn $1" >&"$lgfd"
}

check_load() {
	kill -0 "$lg_pid" 2>/dev/null && ! grep -q '"event":"error"' "$W/lg.out" ||
		{ cat "$W/lg.out" "$W/lg.err" >&2; die "the load generator stopped"; }
}

daemon_pid=""
daemon_url=""
start_daemon() { # name lingerd-args...
	local name=$1
	shift
	rm -f "$W/$name.db"*
	nsenter --net="/run/netns/$ns" -- "$lingerd" --listen 127.0.0.1:0 --db "$W/$name.db" "$@" \
		>"$W/$name.out" 2>"$W/$name.err" &
	daemon_pid=$!
	bg_pids+=("$daemon_pid")
	if ! wait_line "$W/$name.out" 'listening on http://' 180 "$daemon_pid"; then
		tail -20 "$W/$name.err" >&2
		die "lingerd ($name: $*) did not start serving"
	fi
	daemon_url=$(grep -o 'http://[0-9.:]*' "$W/$name.out" | head -1)
}

stop_daemon() {
	stop_pid "$daemon_pid" 15
	daemon_pid=""
}

snaps() { # n key timeout
	if ! inns "$py" "$here/benchkit.py" snaps --url "$daemon_url" --records "$records" --n "$1" \
		--key "$2" --count "$samples" --skip 2 --timeout "$3" >"$W/snaps.out"; then
		note "$1" "$2: fewer than $samples snapshots sampled within ${3}s"
		[ -s "$W/snaps.out" ] || die "lingerd's /healthz did not answer ($2)"
	fi
}

http_status() { # url -> status code (000 when unreachable)
	inns "$py" - "$1" <<'EOF' 2>/dev/null || echo 000
import http.client, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
c.request("GET", u.path + ("?" + u.query if u.query else ""))
print(c.getresponse().status)
EOF
}

nginx_up=0
start_nginx() {
	mkdir -p "$W/www" "$W/nginx-tmp"
	cat >"$W/nginx.conf" <<EOF
worker_processes 2;
daemon off;
user root;
pid $W/nginx.pid;
error_log $W/nginx.err warn;
events { worker_connections 1024; }
http {
	access_log off;
	default_type application/json;
	keepalive_requests 1000000;
	client_body_temp_path $W/nginx-tmp/body;
	proxy_temp_path $W/nginx-tmp/proxy;
	fastcgi_temp_path $W/nginx-tmp/fastcgi;
	uwsgi_temp_path $W/nginx-tmp/uwsgi;
	scgi_temp_path $W/nginx-tmp/scgi;
	server { listen 127.0.0.1:18080; root $W/www; }
}
EOF
	nsenter --net="/run/netns/$ns" -- nginx -e "$W/nginx.err" -c "$W/nginx.conf" >"$W/nginx.out" 2>&1 &
	bg_pids+=($!)
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$(http_status http://127.0.0.1:18080/)" != 000 ] && { nginx_up=1; return 0; }
		sleep 0.1
	done
	return 1
}

# wrk: lingerd's endpoint and the same bytes from nginx.  n name path
http_pair() {
	local n=$1 name=$2 path=$3 st
	st=$(inns "$py" "$here/benchkit.py" scrape --url "$daemon_url$path" --count 1 --save "$W/www/$name" |
		jget /dev/stdin 'd["status"]')
	if [ "$st" != 200 ]; then
		note "$n" "HTTP $path: lingerd answers $st; skipped"
		return 0
	fi
	inns timeout $((wrk_s + 30)) wrk -t2 -c16 -d"${wrk_s}s" --latency "$daemon_url$path" >"$W/wrk.txt" 2>&1 ||
		{ note "$n" "wrk on lingerd $path failed"; return 0; }
	kit wrk "$W/wrk.txt" >"$W/wrk.json"
	rec "$n" "http_${name%%.*}_lingerd_rps" "$(jget "$W/wrk.json" 'd["rps"]')"
	rec "$n" "http_${name%%.*}_lingerd_p99" "$(jget "$W/wrk.json" 'd["p99_ms"]')"
	[ "$(jget "$W/wrk.json" 'd["non2xx"]')" = 0 ] || note "$n" "wrk: lingerd answered non-2xx on $path"
	inns timeout $((wrk_s + 30)) wrk -t2 -c16 -d"${wrk_s}s" --latency "http://127.0.0.1:18080/$name" >"$W/wrk.txt" 2>&1 ||
		{ note "$n" "wrk on nginx $name failed"; return 0; }
	kit wrk "$W/wrk.txt" >"$W/wrk.json"
	rec "$n" "http_${name%%.*}_nginx_rps" "$(jget "$W/wrk.json" 'd["rps"]')"
	rec "$n" "http_${name%%.*}_nginx_p99" "$(jget "$W/wrk.json" 'd["p99_ms"]')"
}

proc_ticks() { # pid -> utime+stime in clock ticks
	local rest
	rest=$(<"/proc/$1/stat")
	rest=${rest##*) }
	awk '{ print $12 + $13 }' <<<"$rest"
}

# ---------------------------------------------------------------- one size
bench_size() {
	local n=$1 r_slow interval
	ns="lingerd-bench-$$-$n"
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	log "N=$n: building the load in netns $ns (host load average $(cut -d' ' -f1-3 /proc/loadavg))"
	rec "$n" host_load1_start "$(cut -d' ' -f1 /proc/loadavg)"
	start_loadgen "$n"
	rec "$n" built_total "$(jget "$W/lg.json" 'd["total"] + d["built"]["LISTEN"]')"
	rec "$n" loadgen_build_ms "$(jget "$W/lg.json" 'd["build_ms"]')"

	# --- correctness first: lingerd must count what the kernel holds
	inns "$tools/dumpcount" >"$W/d1.json"
	local t0=${EPOCHREALTIME/./}
	inns "$lingerd" --once --db "$W/once.db" >"$W/once.json" 2>"$W/once.err" ||
		{ cat "$W/once.err" >&2; die "lingerd --once failed at N=$n"; }
	rec "$n" once $(( (${EPOCHREALTIME/./} - t0) / 1000 ))
	inns "$lingerd" --once --source proc --db "$W/once-proc.db" >"$W/once-proc.json" 2>"$W/once.err" ||
		{ cat "$W/once.err" >&2; die "lingerd --once --source proc failed at N=$n"; }
	inns "$tools/dumpcount" >"$W/d2.json"
	if kit crosscheck --loadgen "$W/lg.json" --dump "$W/d1.json" --dump "$W/d2.json" \
		--lingerd "$W/once.json" --lingerd-proc "$W/once-proc.json" >"$W/cross.json"; then
		log "N=$n: counts agree (lingerd netlink, lingerd proc, dumpcount, loadgen)"
	else
		broken=1
		note "$n" "CROSS-CHECK FAILED: $(jget "$W/cross.json" '"; ".join(d["problems"])')"
		[ "$quick" = 1 ] && die "lingerd's counts do not match the load"
	fi

	# --- the floor and what users run instead, without churn
	log "N=$n: dumpcount, ss -tan, /proc, ss -tanp"
	inns "$tools/dumpcount" --repeat $((repeat + 2)) >"$W/dc.json"
	recv "$n" dumpcount "$(jget "$W/dc.json" 'd["runs_ms"][2:]')"
	recv "$n" ss_tan "$(timeit "$repeat" ss -tan)"
	recv "$n" proc_read "$(timeit "$repeat" cat /proc/net/tcp /proc/net/tcp6)"
	r_slow=$repeat
	[ "$n" -ge 100000 ] && r_slow=3
	recv "$n" ss_tanp "$(timeit "$r_slow" ss -tanp)"

	interval=1
	[ "$quick" = 1 ] && interval=0.2
	local snap_to=$((60 + n / 2000))

	# --- the floor again, at the snapshots' cadence and churn: one dump per interval finds
	# the kernel's socket tables colder than back-to-back dumps do (reported, not a target)
	churn 0.01
	inns "$tools/dumpcount" --repeat $((repeat + 2)) --gap "$interval" >"$W/dcp.json"
	recv "$n" dumpcount_paced "$(jget "$W/dcp.json" 'd["runs_ms"][2:]')"

	# --- capture: netlink, no attribution, 1% and 10% churn per interval
	log "N=$n: lingerd snapshots at 1% and 10% churn"
	start_daemon cap --interval "$interval" --attribution-interval 0
	snaps "$n" snap_c1 "$snap_to"
	churn 0.10
	snaps "$n" snap_c10 "$snap_to"
	churn 0.01

	# --- /metrics and HTTP, same daemon, 1% churn
	local st
	st=$(http_status "$daemon_url/metrics")
	if [ "$st" = 200 ]; then
		inns "$py" "$here/benchkit.py" scrape --url "$daemon_url/metrics" --count $((repeat + 2)) >"$W/m.json"
		recv "$n" metrics "$(jget "$W/m.json" 'd["runs_ms"][2:]')"
	else
		note "$n" "lingerd has no /metrics yet (HTTP $st): /metrics comparisons skipped"
	fi
	st=$(http_status "$daemon_url$trends_path")
	if [ "$st" = 200 ]; then
		inns "$py" "$here/benchkit.py" scrape --url "$daemon_url$trends_path" --count "$repeat" >"$W/t.json"
		recv "$n" trends_7d "$(jget "$W/t.json" 'd["runs_ms"]')"
		note "$n" "trends timed on a database holding minutes, not 7 days, of history"
	else
		note "$n" "lingerd has no $trends_path yet (HTTP $st): trends skipped"
	fi
	if have wrk && have nginx; then
		[ "$nginx_up" = 1 ] || start_nginx || note "$n" "nginx did not start; HTTP comparisons skipped"
		if [ "$nginx_up" = 1 ]; then
			log "N=$n: wrk against lingerd and nginx"
			http_pair "$n" snapshot.json /api/v1/snapshot
			if [ "$quick" = 0 ]; then # the smoke run stays under a minute
				http_pair "$n" metrics.txt /metrics
				http_pair "$n" sockets.json "/api/v1/sockets?limit=100"
				[ "$(http_status "$daemon_url$trends_path")" != 200 ] ||
					http_pair "$n" trends.json "$trends_path"
			fi
		fi
	else
		note "$n" "wrk or nginx not installed: HTTP comparisons skipped"
	fi
	stop_daemon

	# --- attribution: every snapshot that finds new lingering sockets walks /proc
	log "N=$n: lingerd with attribution"
	start_daemon attr --interval "$interval" --attribution-interval 0.1
	snaps "$n" snap_attr "$snap_to"
	grep -q '"key": *"snap_attr_attr"' "$records" ||
		note "$n" "no /proc walk time sampled (none happened, or not exposed): attribution = snapshot with it minus without"
	stop_daemon

	# --- --source proc, without churn (as the plain read was timed)
	churn 0
	log "N=$n: lingerd --source proc"
	start_daemon proc --interval "$interval" --attribution-interval 0 --source proc
	snaps "$n" snap_proc $((snap_to * 3))
	stop_daemon

	# --- node_exporter's tcpstat, scraped the same way as /metrics
	if have prometheus-node-exporter; then
		nsenter --net="/run/netns/$ns" -- prometheus-node-exporter --collector.disable-defaults --collector.tcpstat \
			--web.listen-address=127.0.0.1:19100 >"$W/ne.log" 2>&1 &
		local ne=$!
		bg_pids+=("$ne")
		local i
		for ((i = 0; i < 100; i++)); do
			[ "$(http_status http://127.0.0.1:19100/metrics)" = 200 ] && break
			sleep 0.1
		done
		if inns "$py" "$here/benchkit.py" scrape --url http://127.0.0.1:19100/metrics \
			--count $((repeat + 2)) >"$W/ne.json"; then
			recv "$n" node_exporter "$(jget "$W/ne.json" 'd["runs_ms"][2:]')"
		else
			note "$n" "node_exporter did not answer"
		fi
		stop_pid "$ne" 5
	else
		note "$n" "prometheus-node-exporter not installed: its comparison skipped"
	fi

	# --- steady state: defaults, 1 s interval, 1% churn per second
	log "N=$n: steady state for ${steady}s"
	churn 0.01
	start_daemon steady --interval 1
	local warm=$((5 + n / 20000))
	[ "$quick" = 1 ] && warm=1
	sleep "$warm"
	local pid=$daemon_pid tk=$(getconf CLK_TCK) k1 k2 t1 t2 h1 h2
	kill -0 "$pid" 2>/dev/null || { tail -20 "$W/steady.err" >&2; die "steady state: lingerd exited"; }
	k1=$(proc_ticks "$pid")
	t1=${EPOCHREALTIME/./}
	kit dbsize "$W/steady.db" >"$W/db1.json" || die "steady state: reading the database size failed"
	inns "$py" "$here/benchkit.py" scrape --url "$daemon_url/healthz" --count 1 --save "$W/h1.json" >/dev/null ||
		die "steady state: /healthz did not answer"
	inns "$py" "$here/benchkit.py" scrape --url "$daemon_url/metrics" --count 1 --save "$W/m1.txt" >/dev/null ||
		die "steady state: /metrics did not answer"
	sleep "$steady"
	kill -0 "$pid" 2>/dev/null || { tail -20 "$W/steady.err" >&2; die "steady state: lingerd exited"; }
	k2=$(proc_ticks "$pid")
	t2=${EPOCHREALTIME/./}
	kit dbsize "$W/steady.db" >"$W/db2.json" || die "steady state: reading the database size failed"
	inns "$py" "$here/benchkit.py" scrape --url "$daemon_url/healthz" --count 1 --save "$W/h2.json" >/dev/null ||
		die "steady state: /healthz did not answer"
	local secs
	secs=$("$py" -c "print(($t2 - $t1) / 1e6)")
	rec "$n" steady_cpu_pct "$("$py" -c "print(round(($k2 - $k1) / $tk / $secs * 100, 2))")"
	rec "$n" steady_rss_mb "$(awk '/^VmRSS:/ { print $2 / 1024 }' "/proc/$pid/status")"
	rec "$n" steady_hwm_mb "$(awk '/^VmHWM:/ { print $2 / 1024 }' "/proc/$pid/status")"
	rec "$n" steady_snapshot_ms "$(jget "$W/h2.json" 'd["last_duration_ms"]')"
	inns "$py" "$here/benchkit.py" scrape --url "$daemon_url/metrics" --count 1 --save "$W/m2.txt" >/dev/null ||
		die "steady state: /metrics did not answer"
	"$py" - "$W/db1.json" "$W/db2.json" "$W/h1.json" "$W/h2.json" "$secs" "$n" "$W/m1.txt" "$W/m2.txt" \
		>>"$records" <<'EOF'
import json, os, sys
d1, d2, h1, h2 = (json.load(open(p)) for p in sys.argv[1:5])
secs, n = float(sys.argv[5]), int(sys.argv[6])
def rows(path):
    if not os.path.exists(path):
        return None
    for line in open(path):
        if line.startswith("lingerd_database_rows_written_total "):
            return float(line.split()[1])
    return None
r1, r2 = rows(sys.argv[7]), rows(sys.argv[8])
def rec(k, v):
    print(json.dumps({"n": n, "key": k, "value": v}))
if d1["used_bytes"] is not None and d2["used_bytes"] is not None:
    per_s = (d2["used_bytes"] - d1["used_bytes"]) / secs
    rec("db_growth_mb_h", round(per_s * 3600 / 1e6, 2))
    rec("db_growth_mb_day", round(per_s * 86400 / 1e6, 1))
rec("db_file_growth_mb_h", round((d2["file_bytes"] - d1["file_bytes"]) / secs * 3600 / 1e6, 2))
rec("steady_snapshots", h2.get("snapshots", 0) - h1.get("snapshots", 0))
if r1 is not None and r2 is not None and r2 > r1:
    rec("steady_rows_per_s", round((r2 - r1) / secs, 1))
    if d1["used_bytes"] is not None and d2["used_bytes"] is not None:
        rec("db_bytes_per_row", round((d2["used_bytes"] - d1["used_bytes"]) / (r2 - r1), 1))
EOF
	stop_daemon
	check_load
	rec "$n" host_load1_end "$(cut -d' ' -f1 /proc/loadavg)"
	ns_down
	log "N=$n: done"
}

for n in "${size_list[@]}"; do
	bench_size "$n"
done

# ---------------------------------------------------------------- report
mkdir -p "$out"
json_out=$out/$started.json
if [ "$write_md" = 1 ]; then
	md_args=(--md "$W/table.md" --update "$repo/BENCHMARKS.md")
else
	md_args=(--md "$out/$started.md")
fi
[ "$quick" = 1 ] && md_args+=(--quick)
kit report --records "$records" --meta "$W/meta.json" --json "$json_out" "${md_args[@]}"
log "results: $json_out$([ "$write_md" = 1 ] && echo " and BENCHMARKS.md")"
[ "$broken" = 0 ] || die "lingerd's counts did not match the load (see the notes above)"
exit 0
