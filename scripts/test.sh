#!/usr/bin/env bash
# Installs what is missing, builds with ASan+UBSan and -Werror, and runs the whole ctest suite.
# The exit code is the suite's result.  BUILD_DIR overrides the build folder (build-san).
#
# --tsan: the same suite (C unit tests, fuzz replays and integration tests; not lint, not the
# benchmark smoke run, not it_http_front, whose pass mark is a share of answers under a flood
# that a five to fifteen times slower binary cannot meet) against a ThreadSanitizer build in
# build-tsan.  Every process built there
# writes its reports to build-tsan/tsan-reports/ (the daemon's stderr is the tests' own), and any
# report fails the run, even when every test passed.  Other arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."

tsan=0
if [ "${1:-}" = --tsan ]; then
  tsan=1
  shift
fi

scripts/deps.sh test
scripts/deps-monitoring.sh
scripts/deps-web.sh
if [ "$tsan" = 1 ]; then
  dir=${BUILD_DIR:-build-tsan}
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DLINGERD_TSAN=ON -DLINGERD_WERROR=ON >/dev/null
else
  dir=${BUILD_DIR:-build-san}
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DLINGERD_SANITIZE=ON -DLINGERD_WERROR=ON >/dev/null
fi
cmake --build "$dir" -j"$(nproc)"
# Also build the plain binary the README and the tests' tools refer to.
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLINGERD_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)" --target lingerd

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
if [ "$tsan" = 0 ]; then
  cd "$dir"
  exec ctest --output-on-failure --timeout 600 -j2 "$@"
fi

reports=$PWD/$dir/tsan-reports
rm -rf "$reports"
mkdir -p "$reports"
export TSAN_OPTIONS=${TSAN_OPTIONS:-second_deadlock_stack=1:log_path=$reports/tsan:suppressions=$PWD/tests/tsan.supp}
rc=0
(cd "$dir" && ctest --output-on-failure --timeout 1800 -j2 -E '^(lint|bench_smoke|it_http_front)$' "$@") || rc=$?
n=$(find "$reports" -type f | wc -l)
if [ "$n" -gt 0 ]; then
  for f in "$reports"/*; do
    echo "=== $f"
    cat "$f"
  done
  echo "test.sh --tsan: ThreadSanitizer wrote $n report file(s), above"
  rc=1
else
  echo "test.sh --tsan: no ThreadSanitizer report"
fi
exit "$rc"
