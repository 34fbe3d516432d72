# Task reduced-footprint-hypervisor: KVM, libvirt and libvirt-python; /dev/kvm
# usable by qemu; libvirtd running (install-hypervisor.sh).
notice('MODULAR: reduced-footprint/hypervisor.pp')

reduced_footprint::step { 'reduced-footprint-hypervisor':
  command   => '/bin/bash install-hypervisor.sh',
  timeout   => 1140,
  tries     => 3,
  try_sleep => 30,
}
