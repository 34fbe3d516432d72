# shellcheck shell=sh
# Shared by the launcher virt-guests, install-guest-tools.sh and
# install-hypervisor.sh (sourced; POSIX sh). Every function checks before it
# acts: with everything present, no apt call.

# The Python that runs virt_guests, the one choice made for every task: the
# node's Python 2.7 where there is one (a stock Fuel 8.0/9.0 node, Ubuntu
# 14.04), else python3 (later Ubuntu, Debian). Prints its path.
pick_python() {
  choose_python && command -v "$python_name"
}

# The same choice, its name left in python_name: no subshell, for the
# launcher of every task run (a no-op re-run counts milliseconds).
choose_python() {
  for python_name in python2.7 python2 python3; do
    command -v "$python_name" >/dev/null 2>&1 && return 0
  done
  return 1
}

# The prefix of the Debian/Ubuntu package names of that Python's modules:
# python (python-yaml, ...) for 2.7, python3 (python3-yaml, ...) for 3.
python_packages_prefix() {
  case "$("$1" -c 'import sys; print(sys.version_info[0])')" in
    2) echo python ;;
    *) echo python3 ;;
  esac
}

# "python2.7 2.7.6 (/usr/bin/python2.7)", for the task logs.
describe_python() {
  echo "$(basename "$1") $("$1" -c 'import platform; print(platform.python_version())') ($1)"
}

# The modules of $1 (a Python) that it cannot import, among $2...
missing_modules() {
  mm_python=$1
  shift
  for mm_module in "$@"; do
    "$mm_python" -c "import $mm_module" >/dev/null 2>&1 || echo "$mm_module"
  done
}

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# A package the node's repositories offer (apt-cache shows a candidate).
available() {
  apt-cache policy "$1" 2>/dev/null | grep -q 'Candidate: [^(]'
}

# Install the named packages; refresh the package lists once if apt cannot
# find them (a node whose lists are older than its mirrors).
apt_install() {
  log "installing: $*"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
      -o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-confdef "$@"; then
    log "install failed; refreshing the package lists and trying again"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
      -o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-confdef "$@"
  fi
}

# Say which package the node's repositories lack, rather than apt's error
# (python3-libvirt may be missing from Ubuntu 14.04: it must then come from
# the plugin's own repository). Exits the script when one is missing.
require_available() {
  ra_all=yes
  for ra_name in "$@"; do available "$ra_name" || ra_all=no; done
  [ "$ra_all" = yes ] && return 0
  apt-get update -q >/dev/null
  for ra_name in "$@"; do
    available "$ra_name" && continue
    log "package $ra_name is in none of this node's repositories: add it to the plugin's repository (repositories/ubuntu)"
    exit 1
  done
}

# One need met by any of several package names (Ubuntu 14.04, 16.04+ and
# Debian name them differently). Prints the name to install, or nothing
# when one of them is already installed.
pick() {
  for pk_name in "$@"; do installed "$pk_name" && return 0; done
  for pk_name in "$@"; do available "$pk_name" && { echo "$pk_name"; return 0; }; done
  # Nothing known: let apt say what is wrong with the first name.
  echo "$1"
}
