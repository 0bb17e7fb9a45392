#!/usr/bin/env bash
# tests/fuzz/run.sh - builds lingerd's libFuzzer harnesses with clang (ASan+UBSan) and runs
# each for a while, then reports executions, coverage and findings per harness.
#
# Usage: tests/fuzz/run.sh [SECONDS [HARNESS...]]     SECONDS per harness, 600 by default
#        tests/fuzz/run.sh --report [SECONDS [HARNESS...]]  only the table of the last run
# Env:   BUILD_DIR (build-fuzz)  OUT_DIR (BUILD_DIR/fuzz-out)  JOBS (nproc, fuzzers at once)
#        SRC_DIR (the repository)  MERGE=1 minimises what was found back into corpus/NAME
# Exit:  0 when no harness found anything, 1 otherwise (crash-*, leak-*, timeout-*, oom-*
#        reproducers are left in OUT_DIR/NAME/artifacts; replay one with
#        BUILD_DIR/tests/fuzz_NAME FILE).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=${SRC_DIR:-$(cd "$here/../.." && pwd)}
report_only=0
if [ "${1:-}" = --report ]; then
  report_only=1
  shift
fi
secs=${1:-600}
[ $# -gt 0 ] && shift
all=$(sed -n 's/^set(LINGERD_FUZZ_HARNESSES \(.*\))$/\1/p' "$here/fuzz.cmake")
harnesses=("$@")
[ ${#harnesses[@]} -eq 0 ] && read -r -a harnesses <<<"$all"
build=${BUILD_DIR:-$src/build-fuzz}
out=${OUT_DIR:-$build/fuzz-out}
jobs=${JOBS:-$(nproc)}

if [ "$report_only" = 0 ]; then
  command -v clang >/dev/null || { echo "run.sh: needs clang (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }
  CC=clang cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLINGERD_SANITIZE=ON \
    -DLINGERD_FUZZ=ON >/dev/null
  targets=()
  for h in "${harnesses[@]}"; do targets+=(--target "fuzz_$h"); done
  cmake --build "$build" -j"$(nproc)" "${targets[@]}"

  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

  run_one() {
    local h=$1 d="$out/$1"
    rm -rf "$d"
    mkdir -p "$d/corpus" "$d/artifacts"
    # New inputs go to d/corpus; the checked-in seeds are read, never written.
    "$build/tests/fuzz_$h" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
      -max_len=4096 -print_final_stats=1 -artifact_prefix="$d/artifacts/" \
      "$d/corpus" "$here/corpus/$h" >"$d/log" 2>&1 || true
    if [ "${MERGE:-0}" = 1 ]; then
      "$build/tests/fuzz_$h" -merge=1 "$here/corpus/$h" "$d/corpus" >>"$d/log" 2>&1 || true
    fi
  }

  echo "fuzzing ${harnesses[*]} for ${secs}s each, $jobs at a time; logs in $out"
  running=0
  for h in "${harnesses[@]}"; do
    run_one "$h" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
      wait -n || true
      running=$((running - 1))
    fi
  done
  wait
fi

found=0
printf '%-8s %8s %12s %9s %7s %7s %8s\n' harness seconds execs exec/s cov ft findings
for h in "${harnesses[@]}"; do
  log="$out/$h/log"
  # A run that crashed has no "Done" line: every lookup may come back empty.
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1 || true)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1 || true)
  t=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | tail -1 | awk '{print $5}' || true)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}' || true)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | awk '{print $2}' || true)
  n=$(find "$out/$h/artifacts" -type f | wc -l)
  if [ "$n" -gt 0 ]; then
    found=1
  fi
  printf '%-8s %8s %12s %9s %7s %7s %8s\n' "$h" "${t:-?}" "${execs:-?}" "${rate:-?}" \
    "${cov:-?}" "${ft:-?}" "$n"
  if [ "$n" -gt 0 ]; then
    find "$out/$h/artifacts" -type f | sed 's/^/    /'
    grep -m1 -E 'ERROR: |FUZZ_CHECK|runtime error' "$log" | sed 's/^/    /' || true
  fi
done
exit "$found"
