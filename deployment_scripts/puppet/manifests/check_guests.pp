# Task reduced-footprint-check-guests: refuse bad vms_conf or settings before
# the host is changed in any way.
notice('MODULAR: reduced-footprint/check_guests.pp')

reduced_footprint::step { 'reduced-footprint-check-guests':
  command => '/bin/sh virt-guests check',
  timeout => 110,
}
