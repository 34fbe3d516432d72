"""Guests on a virt node: vms_conf in astute.yaml -> running KVM guests.

Layers: spec (parse and validate) -> render (domain XML) -> plan (pure
diff of desired and observed) -> hypervisor (the only libvirt user).
host checks what the node can take; cli ties them together. compat holds
the few things Python 2.7 and 3 do differently; astute reads the file.
"""
from __future__ import absolute_import, division, print_function
