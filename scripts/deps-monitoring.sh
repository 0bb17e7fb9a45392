#!/usr/bin/env bash
# Installs what the monitoring tests need, only what is missing: Debian's prometheus (the
# server and promtool, for tests/it_prometheus.py) and node with npm (for tests/it_openapi.py,
# which fetches its pinned npm packages itself). The prometheus service is not started:
# the tests run the binary by hand on loopback.
set -euo pipefail

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=()
installed prometheus || missing+=(prometheus)
# node and npm may come from one package (NodeSource's nodejs bundles npm): look for the commands.
if ! command -v node >/dev/null 2>&1; then
  missing+=(nodejs)
fi
if ! command -v npm >/dev/null 2>&1; then
  missing+=(npm)
fi
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
# Only a service this script just installed is stopped: the tests need the binaries, not a
# Prometheus listening on :9090.
if [[ " ${missing[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
  $sudo systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
