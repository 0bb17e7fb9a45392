#!/usr/bin/env bash
# Installs the Debian packages lingerd needs to build, run and test, only those missing
# (node and npm included: the build fetches the page's chart library from its lockfile).
# Usage: scripts/deps.sh [build|test]   (test adds the tools the test suite drives)
set -euo pipefail

want=(gcc make cmake pkg-config libmicrohttpd-dev libcjson-dev libsqlite3-dev iproute2)
if [ "${1:-build}" = test ]; then
  want+=(python3 curl procps util-linux sqlite3)
fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The build embeds the page's chart library, fetched with npm from its lockfile.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  sudo=sudo
else
  sudo=
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
