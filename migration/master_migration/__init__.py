"""rf-migrate-master: move a running Fuel master into a KVM guest on a virt node.

Runs on the old master under Python 2.7 (a stock Fuel 8.0/9.0 master: python
2.7.5, PyYAML 3.10) or Python 3.4+, from one source: the standard library
and PyYAML only (rf_common, shared with the guest code, holds the text
helpers that read the same under both). The destination
needs only sh, ssh, virsh, qemu-img, losetup, partx, parted, mkfs, mount and
rsync.
"""
from __future__ import absolute_import, division, print_function

PROG = 'rf-migrate-master'
__version__ = '1.0.0'
