#!/usr/bin/env bash
# Builds the Debian package build/lingerd_<version>_<arch>.deb from the plain (not sanitized)
# build and checks it with lintian: exits non-zero on a build failure or any lintian error.
# BUILD_DIR overrides the build folder (build).  What goes in: packaging/package.cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${BUILD_DIR:-build}

cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLINGERD_SANITIZE=OFF -DLINGERD_WERROR=ON >/dev/null
cmake --build "$dir" -j"$(nproc)" --target lingerd lingerd_package_docs
(cd "$dir" && cpack -G DEB >/dev/null)
version=$(sed -n 's/^project(lingerd VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
arch=$(dpkg --print-architecture)
deb="$dir/lingerd_${version}_${arch}.deb"
mv "$dir/cpack/lingerd_${version}_${arch}.deb" "$deb"
echo "package: $deb"
dpkg-deb --info "$deb" | sed -n 's/^ \(Version\|Depends\|Installed-Size\):/  \1:/p'

if command -v lintian >/dev/null; then
  # Errors fail the build; warnings are printed for the record.
  lintian --fail-on error --tag-display-limit 0 "$deb"
else
  echo "lintian is not installed (scripts/deps.sh test installs it): not checked" >&2
fi
