#!/usr/bin/env bash
# Installs what is missing, builds build/lingerd and runs it in the foreground on this host.
# Extra arguments go to lingerd (for example: scripts/run.sh --interval 1).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF >/dev/null
cmake --build build -j"$(nproc)"
exec build/lingerd --listen 127.0.0.1:9471 --db ./lingerd.db "$@"
