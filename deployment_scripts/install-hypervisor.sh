#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Task reduced-footprint-hypervisor: KVM, qemu-img, libvirt and its binding
# for the Python virt-guests runs with (python-libvirt for 2.7,
# python3-libvirt for 3; checked by importing it); /dev/kvm usable by qemu;
# libvirtd answering. Every step checks before it acts, so a node that has
# all of it is left as it is.
set -eu
cd "$(dirname "$0")"
log() { echo "install-hypervisor: $*"; }
. virt_guests/packages.sh
URI=qemu:///system

install_packages() {
  local wanted=() name py binding
  if ! py=$(pick_python); then
    log "no python2.7, python2 or python3 on this node: run install-guest-tools.sh first"
    exit 1
  fi
  log "Python for virt-guests: $(describe_python "$py")"
  binding="$(python_packages_prefix "$py")-libvirt"
  # 14.04 and 16.04: libvirt-bin; later releases and Debian split it.
  for need in "qemu-system-x86 qemu-kvm" "qemu-utils" \
              "libvirt-daemon-system libvirt-bin" "libvirt-clients libvirt-bin"; do
    # shellcheck disable=SC2086
    name=$(pick $need)
    [ -n "$name" ] && wanted+=("$name")
  done
  if [ -n "$(missing_modules "$py" libvirt)" ]; then
    log "$py cannot import libvirt: needs $binding"
    wanted+=("$binding")
  fi
  if [ ${#wanted[@]} -eq 0 ]; then
    log "KVM, qemu-utils, libvirt and $binding (libvirt for $py) are installed"
    return 0
  fi
  require_available "${wanted[@]}"
  # Two needs may pick the same name (libvirt-bin): install it once.
  # shellcheck disable=SC2046
  apt_install $(printf '%s\n' "${wanted[@]}" | sort -u)
  if [ -n "$(missing_modules "$py" libvirt)" ]; then
    log "$py still cannot import libvirt after installing $binding"
    exit 1
  fi
}

# qemu runs unprivileged; right after the packages are installed /dev/kvm
# can still be root-only (a bug of the core feature). udev keeps it so
# across reboots only if a rule says so.
fix_kvm() {
  if [ ! -e /dev/kvm ]; then
    log "no /dev/kvm: enable VT-x/AMD-V in the BIOS; virt-guests will refuse"
    return 0
  fi
  getent group kvm >/dev/null || groupadd -r kvm
  if [ "$(stat -c '%G %a' /dev/kvm)" != "kvm 660" ]; then
    log "/dev/kvm was $(stat -c '%G %a' /dev/kvm): setting group kvm, mode 0660"
    chgrp kvm /dev/kvm && chmod 0660 /dev/kvm
  fi
  if id libvirt-qemu >/dev/null 2>&1 && ! id -nG libvirt-qemu | grep -qw kvm; then
    log "adding libvirt-qemu to group kvm"
    usermod -a -G kvm libvirt-qemu
  fi
  if ! grep -qs 'KERNEL=="kvm"' /lib/udev/rules.d/*.rules /etc/udev/rules.d/*.rules; then
    log "adding a udev rule for /dev/kvm"
    echo 'KERNEL=="kvm", GROUP="kvm", MODE="0660"' \
      > /etc/udev/rules.d/65-reduced-footprint-kvm.rules
  fi
}

libvirt_answers() {
  timeout 20 virsh -c "$URI" version >/dev/null 2>&1
}

# Through the node's own service manager: systemd (16.04+) or upstart/sysv
# (14.04: the service is libvirt-bin).
start_libvirt() {
  if libvirt_answers; then
    log "libvirtd answers on $URI"
    return 0
  fi
  log "libvirtd does not answer on $URI: starting it"
  if [ -d /run/systemd/system ]; then
    systemctl start libvirtd 2>/dev/null || systemctl start libvirt-bin
  else
    service libvirt-bin start 2>/dev/null || service libvirtd start
  fi
  for _ in $(seq 30); do
    libvirt_answers && { log "libvirtd answers on $URI"; return 0; }
    sleep 1
  done
  log "libvirtd still does not answer on $URI"
  return 1
}

install_packages
fix_kvm
start_libvirt
log "done"
