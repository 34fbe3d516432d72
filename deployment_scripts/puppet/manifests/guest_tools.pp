# Task reduced-footprint-guest-tools: the node's Python with PyYAML and
# jsonschema, which `virt-guests check` needs (install-guest-tools.sh).
notice('MODULAR: reduced-footprint/guest_tools.pp')

reduced_footprint::step { 'reduced-footprint-guest-tools':
  command   => '/bin/bash install-guest-tools.sh',
  timeout   => 540,
  tries     => 3,
  try_sleep => 20,
}
