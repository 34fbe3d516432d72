"""rf-migrate-master: move a running Fuel master into a KVM guest on a virt node.

Runs on the old master (Python 3.4+, stdlib and PyYAML only). The destination
needs only sh, ssh, virsh, qemu-img, losetup, partx, parted, mkfs, mount and
rsync.
"""
PROG = 'rf-migrate-master'
__version__ = '1.0.0'
