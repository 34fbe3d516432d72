#!/bin/bash
# Task reduced-footprint-guest-tools: what `virt-guests check` needs
# (python3, PyYAML, jsonschema). Installs only what is missing.
set -eu
cd "$(dirname "$0")"
log() { echo "install-guest-tools: $*"; }
. virt_guests/packages.sh

missing=()
for package in python3 python3-yaml python3-jsonschema; do
  installed "$package" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  log "python3, python3-yaml and python3-jsonschema are installed: nothing to do"
  exit 0
fi
apt_install "${missing[@]}"
log "done"
