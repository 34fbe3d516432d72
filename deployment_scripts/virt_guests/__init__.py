"""Guests on a virt node: vms_conf in astute.yaml -> running KVM guests.

Layers: spec (parse and validate) -> render (domain XML) -> plan (pure
diff of desired and observed) -> hypervisor (the only libvirt user).
host checks what the node can take; cli ties them together; astute reads
the file. Text that reads the same under Python 2.7 and 3 comes from the
rf_common package beside this one (shared with rf-migrate-master).
"""
from __future__ import absolute_import, division, print_function
