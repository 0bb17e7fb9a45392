#!/usr/bin/env bash
# Installs what is missing, builds with ASan+UBSan and -Werror, and runs the whole ctest suite.
# The exit code is the suite's result.  BUILD_DIR overrides the build folder (build-san).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh test
scripts/deps-monitoring.sh
scripts/deps-web.sh
dir=${BUILD_DIR:-build-san}
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DLINGERD_SANITIZE=ON -DLINGERD_WERROR=ON >/dev/null
cmake --build "$dir" -j"$(nproc)"
# Also build the plain binary the README and the tests' tools refer to.
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLINGERD_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)" --target lingerd

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$dir"
ctest --output-on-failure --timeout 600 -j2 "$@"
