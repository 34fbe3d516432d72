#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Task reduced-footprint-guest-tools: what `virt-guests check` needs, for the
# Python the launcher picks (pick_python: the node's 2.7, else python3): that
# Python, and its yaml and jsonschema modules. Checks by importing them, and
# installs only what is missing: python-yaml, python-jsonschema for 2.7;
# python3-yaml, python3-jsonschema for 3.
set -eu
cd "$(dirname "$0")"
log() { echo "install-guest-tools: $*"; }
. virt_guests/packages.sh

if ! py=$(pick_python); then
  # Every Fuel node has python 2.7; a bare system may have none at all.
  name=$(pick python python3)
  log "no python2.7, python2 or python3 on this node: installing $name"
  require_available "$name"
  apt_install "$name"
  py=$(pick_python) || { log "still no Python after installing $name"; exit 1; }
fi
log "Python for virt-guests: $(describe_python "$py")"

prefix=$(python_packages_prefix "$py")
missing=()
for module in $(missing_modules "$py" yaml jsonschema); do
  missing+=("$prefix-$module")
done
if [ ${#missing[@]} -eq 0 ]; then
  log "$py imports yaml and jsonschema: nothing to do"
  exit 0
fi
log "$py cannot import: ${missing[*]#"$prefix"-} (packages ${missing[*]})"
require_available "${missing[@]}"
apt_install "${missing[@]}"
still=$(missing_modules "$py" yaml jsonschema)
if [ -n "$still" ]; then
  log "$py still cannot import: $still"
  exit 1
fi
log "done"
