# Shared by install-guest-tools.sh and install-hypervisor.sh (sourced).
# Every function checks before it acts: with everything present, no apt call.

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
  local opts=(-y -q -o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-confdef)
  log "installing: $*"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install "${opts[@]}" "$@"; then
    log "install failed; refreshing the package lists and trying again"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install "${opts[@]}" "$@"
  fi
}

# One need met by any of several package names (Ubuntu 14.04, 16.04+ and
# Debian name them differently). Prints the name to install, or nothing
# when one of them is already installed.
pick() {
  local name
  for name in "$@"; do installed "$name" && return 0; done
  for name in "$@"; do available "$name" && { echo "$name"; return 0; }; done
  # Nothing known: let apt say what is wrong with the first name.
  echo "$1"
}
