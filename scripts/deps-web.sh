#!/usr/bin/env bash
# Installs what the dashboard needs, only what is missing: node and npm (the build fetches uPlot
# from the npm registry into the build folder, pinned by web/package-lock.json) and Debian's
# chromium (tests/it_dashboard.py drives it headless through playwright-core; playwright's own
# browser downloads are not used, so no browser build is fetched from outside Debian).
set -euo pipefail
. "$(dirname "$0")/apt-lib.sh"

mapfile -t missing < <(missing_of nodejs npm chromium)
# Hangul in the Korean explanations needs a Korean font, or chromium draws boxes: Nanum is the
# small one (10 MB); an installed Noto CJK does as well.
installed fonts-nanum || installed fonts-noto-cjk || missing+=(fonts-nanum)
apt_install "${missing[@]}"
