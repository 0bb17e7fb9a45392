# apt-lib.sh - sourced by the deps scripts: what is installed, and installing only what is missing.

# installed PKG: true when the Debian package PKG is installed.
installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

# missing_of PKG...: prints the packages among PKG... that are not installed, one per line.
# node and npm are looked for as commands (NodeSource's nodejs bundles npm).
missing_of() {
  local p
  for p in "$@"; do
    case $p in
      nodejs) command -v node >/dev/null 2>&1 || echo nodejs ;;
      npm) command -v npm >/dev/null 2>&1 || echo npm ;;
      *) installed "$p" || echo "$p" ;;
    esac
  done
}

# apt_install PKG...: installs PKG... (none: nothing to do), through sudo when not root.
apt_install() {
  [ $# -eq 0 ] && return 0
  local sudo=
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  echo "installing: $*"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "$@"
}
