#!/usr/bin/env bash
# Installs the Debian packages lingerd needs to build, run and test, only those missing
# (node and npm included: the build fetches the page's chart library from its lockfile).
# Usage: scripts/deps.sh [build|test]   (test adds the tools the test suite drives)
set -euo pipefail
. "$(dirname "$0")/apt-lib.sh"

want=(gcc make cmake pkg-config libmicrohttpd-dev libcjson-dev libsqlite3-dev iproute2 nodejs npm scdoc)
# The teardown tracer (capture/events.c, LINGERD_BPF): clang compiles the BPF object, bpftool
# writes vmlinux.h and the skeleton, libbpf loads it.  Without them the feature is compiled out.
want+=(clang llvm bpftool libbpf-dev libelf-dev)
# zlib: gzip for large answers (server/http.c) and libbpf.
want+=(zlib1g-dev)
if [ "${1:-build}" = test ]; then
  want+=(python3 curl procps util-linux sqlite3 cppcheck tmux lintian clang-format)
fi
mapfile -t missing < <(missing_of "${want[@]}")
apt_install "${missing[@]}"
