#!/usr/bin/env bash
# Installs what the monitoring tests need, only what is missing: Debian's prometheus (the
# server and promtool, for tests/it_prometheus.py), prometheus-alertmanager (tests/it_fleet.py)
# and node with npm (for tests/it_openapi.py,
# which fetches its pinned npm packages itself). The prometheus service is not started:
# the tests run the binary by hand on loopback.
set -euo pipefail
. "$(dirname "$0")/apt-lib.sh"

mapfile -t missing < <(missing_of prometheus prometheus-alertmanager nodejs npm)
apt_install "${missing[@]}"
# Only a service this script just installed is stopped: the tests need the binaries, not a
# Prometheus listening on :9090 or an Alertmanager on :9093.
for svc in prometheus prometheus-alertmanager; do
  if [[ " ${missing[*]} " == *" $svc "* ]] && [ -d /run/systemd/system ]; then
    [ "$(id -u)" -ne 0 ] && sudo=sudo || sudo=
    $sudo systemctl disable --now "$svc" >/dev/null 2>&1 || true
  fi
done
