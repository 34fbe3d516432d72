"""The copy is made bootable during the warm phase (GRUB, initramfs,
fstab); what the master changes after that must still reach the guest
right: a new fstab line and a new kernel installed between the boot
preparation and the final sync. Checked on the copy after the refreshed
fixes (no boot: the boot proof boots the unchanged case)."""
import subprocess

import pytest

from . import boot_lab

pytestmark = [pytest.mark.slow, pytest.mark.kvm]

LATE_FSTAB_LINE = 'tmpfs /mnt/rfb-late tmpfs defaults 0 0'
NEW_KERNEL_SUFFIX = '-rfbnew'


def install_new_kernel(tree):
    """A 'new kernel' as a package would leave it: vmlinuz, modules and a
    host-built initrd under a new version (hard links: same bytes)."""
    kernels = sorted((tree / 'boot').glob('vmlinuz-*'))
    assert kernels, 'no kernel in the master root'
    old = kernels[-1].name[len('vmlinuz-'):]
    new = old + NEW_KERNEL_SUFFIX
    modules = tree / 'usr/lib/modules'  # /lib is a link to it (merged /usr)
    if not (modules / old).is_dir():
        modules = tree / 'lib/modules'
    subprocess.check_call(['cp', '-al', str(modules / old), str(modules / new)])
    for prefix in ('vmlinuz-', 'initrd.img-', 'config-', 'System.map-'):
        if (tree / 'boot' / (prefix + old)).exists():
            subprocess.check_call(['cp', '-a', str(tree / 'boot' / (prefix + old)),
                                   str(tree / 'boot' / (prefix + new))])
    return new


@pytest.fixture(scope='module')
def late(system_libvirt, zipapp, tmp_path_factory):
    with boot_lab.running(tmp_path_factory.mktemp('rfb-late'), zipapp, 'late_changes',
                          records=0) as bl:
        bl.prepared_code, _ = bl.migrate('--stop-after', 'post_migrate')
        fstab = bl.tree / 'etc/fstab'
        fstab.write_text(fstab.read_text() + LATE_FSTAB_LINE + '\n')
        (bl.tree / 'mnt/rfb-late').mkdir(parents=True, exist_ok=True)
        bl.new_kernel = install_new_kernel(bl.tree)
        bl.exit_code, bl.output = bl.migrate('--resume', '--stop-after',
                                             'refresh_fixes')
        yield bl


def copy_root_uuid(bl):
    return subprocess.check_output(['findmnt', '-n', '-o', 'UUID',
                                    str(bl.copy_mount())],
                                   universal_newlines=True).strip()


def test_fstab_changed_after_boot_preparation_reaches_copy(late):
    assert late.prepared_code == 3 and late.exit_code == 3, \
        late.failure_report()
    copy = late.copy_mount()
    fstab = (copy / 'etc/fstab').read_text()
    active = [line.split() for line in fstab.splitlines()
              if line.strip() and not line.lstrip().startswith('#')]
    assert ['UUID=%s' % copy_root_uuid(late), '/'] in \
        [fields[:2] for fields in active], fstab
    assert LATE_FSTAB_LINE.split() in active, fstab
    assert (copy / 'etc/fstab.rf-premigrate').read_text() == \
        (late.tree / 'etc/fstab').read_text()


def test_kernel_installed_after_boot_preparation_is_in_grub_config(late):
    assert late.exit_code == 3, late.failure_report()
    copy = late.copy_mount()
    grub_cfg = (copy / 'boot/grub/grub.cfg').read_text()
    assert '/boot/vmlinuz-%s ' % late.new_kernel in grub_cfg, grub_cfg[-3000:]
    assert 'root=UUID=%s' % copy_root_uuid(late) in grub_cfg
    assert (copy / 'boot' / ('vmlinuz-' + late.new_kernel)).exists()
    assert 'boot loader again' in late.output, late.output[-3000:]
