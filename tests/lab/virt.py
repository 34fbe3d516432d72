"""libvirt on this host as the tests see it: virsh on qemu:///system, and
the guest type a stock guest can boot with here."""
import os
import re

from lab import hostlab

URI = 'qemu:///system'


def guest_virt_type():
    """'kvm' where KVM runs a stock guest kernel; 'qemu' (TCG) on hosts
    whose /dev/kvm is PVM (kvm_pvm, like the CI machines: only PVM-aware
    guest kernels run at speed; a stock one crawls through BIOS and GRUB)."""
    return 'qemu' if os.path.exists('/sys/module/kvm_pvm') else 'kvm'


def virsh(*args, **kw):
    """(rc, output) of virsh; raises on failure unless check=False."""
    return hostlab.run(['virsh', '-c', URI] + [str(a) for a in args], **kw)


def exists(name):
    return virsh('dominfo', name, check=False)[0] == 0


def state(name):
    rc, out = virsh('domstate', name, check=False)
    return out.strip() if rc == 0 else 'absent'


def destroy(name):
    if state(name) not in ('shut off', 'absent'):
        virsh('destroy', name, check=False)


def remove(name):
    """Stop and undefine; the disk files are removed by whoever made them."""
    destroy(name)
    if exists(name):
        virsh('undefine', name, '--nvram', check=False)
        if exists(name):
            virsh('undefine', name, check=False)


def disk_paths(name):
    _rc, xml = virsh('dumpxml', name)
    return re.findall(r"<source file='([^']+)'", xml)
