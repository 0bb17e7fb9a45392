#!/usr/bin/env bash
# Installs what the dashboard needs, only what is missing: node and npm (the build fetches uPlot
# from the npm registry into web/node_modules, pinned by web/package-lock.json) and Debian's
# chromium (tests/it_dashboard.py drives it headless through playwright-core; playwright's own
# browser downloads are not used, so no browser build is fetched from outside Debian).
set -euo pipefail

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=()
# node and npm may come from one package (NodeSource's nodejs bundles npm): look for the commands.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
installed chromium || missing+=(chromium)
# Hangul in the Korean explanations needs a Korean font, or chromium draws boxes: Nanum is the
# small one (10 MB); an installed Noto CJK does as well.
installed fonts-nanum || installed fonts-noto-cjk || missing+=(fonts-nanum)
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
