# Task reduced-footprint-guests: check the host's capacity, then create,
# define, start and autostart the guests (`virt-guests apply`).
notice('MODULAR: reduced-footprint/guests.pp')

reduced_footprint::step { 'reduced-footprint-guests':
  command => '/bin/sh virt-guests apply',
  timeout => 1740,
}
