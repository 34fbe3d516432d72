"""Developer check of the harness, without the migration script: put the
cached master root on a disk image made here, boot it in a KVM guest on
rfb-adm and run the operator's checks from a namespace.

Not a test of the product (this script installs the boot loader itself,
which in the proof is the migration's post-migrate step's job). Use it to
tell a broken root or harness from a broken migration:

    .venv/bin/python -m tests.master_boot.selfcheck_boot [--keep]
"""
import argparse
import pathlib
import shutil
import sys
import tempfile
import time

from lab import hostlab, virt

from . import guest
from . import master_config as cfg
from . import master_root

NAME = 'rfb-selfcheck'
IMAGES = pathlib.Path('/var/lib/libvirt/images/rfb-selfcheck')


def make_image(root_tree, image, size='3G'):
    """Raw disk, one msdos partition, ext4, the root, grub in its MBR."""
    hostlab.run(['truncate', '-s', size, str(image)])
    hostlab.run(['parted', '-s', str(image), 'mklabel', 'msdos',
                 'mkpart', 'primary', 'ext4', '1MiB', '100%', 'set', '1', 'boot', 'on'])
    _rc, loop = hostlab.run(['losetup', '-f', '--show', '-P', str(image)])
    loop = loop.strip()
    _partition_node(loop)
    mnt = pathlib.Path(tempfile.mkdtemp(prefix='rfb-mnt-'))
    try:
        hostlab.run(['mkfs.ext4', '-q', '-F', loop + 'p1'])
        hostlab.run(['mount', loop + 'p1', str(mnt)])
        hostlab.run(['cp', '-a', str(root_tree) + '/.', str(mnt)], timeout=600)
        _rc, uuid = hostlab.run(['blkid', '-s', 'UUID', '-o', 'value', loop + 'p1'])
        (mnt / 'etc/fstab').write_text('UUID=%s / ext4 errors=remount-ro 0 1\n'
                                       % uuid.strip())
        _install_grub(mnt, loop)
    finally:
        hostlab.quiet(['umount', '-R', str(mnt)])
        hostlab.quiet(['losetup', '-d', loop])
        mnt.rmdir()


def _partition_node(loop):
    # The kernel's scan can miss the new label here; partx reads it again.
    for _ in range(10):
        if pathlib.Path(loop + 'p1').exists():
            return
        time.sleep(0.2)
    hostlab.run(['partx', '-a', loop])


def _install_grub(mnt, loop):
    for sub, args in (('proc', ['-t', 'proc', 'proc']), ('sys', ['-t', 'sysfs', 'sys']),
                      ('dev', ['--bind', '/dev'])):
        hostlab.run(['mount'] + args + [str(mnt / sub)])
    hostlab.run(['chroot', str(mnt), 'grub-install', '--target=i386-pc', loop])
    hostlab.run(['chroot', str(mnt), 'update-grub'])
    # Without udev's /dev/disk/by-uuid here grub-mkconfig names the loop
    # device; the guest knows its root by UUID.
    _rc, uuid = hostlab.run(['blkid', '-s', 'UUID', '-o', 'value', loop + 'p1'])
    cfg_path = mnt / 'boot/grub/grub.cfg'
    cfg_path.write_text(cfg_path.read_text().replace(
        'root=%sp1' % loop, 'root=UUID=%s' % uuid.strip()))


def domain_xml(image):
    return """<domain type='{virt_type}'>
  <name>{name}</name><memory unit='MiB'>512</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <features><acpi/></features>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/>
      <source file='{image}'/><target dev='vda' bus='virtio'/></disk>
    <interface type='bridge'><mac address='{mac}'/><source bridge='{br}'/>
      <model type='virtio'/></interface>
    <serial type='pty'/><console type='pty'/>
  </devices>
</domain>
""".format(virt_type=virt.guest_virt_type(), name=NAME, image=image,
           mac=cfg.ADMIN['mac'], br=cfg.ADMIN_BRIDGE)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--keep', action='store_true', help='leave it all up')
    args = parser.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix='rfb-selfcheck-'))
    try:
        return _check(work)
    finally:
        if not args.keep:
            _teardown(work)


def _check(work):
    t0 = time.monotonic()
    tarball, built = master_root.cached_root_tarball()
    tree = master_root.extract_root(tarball, work / 'root')
    key, pub = hostlab.make_keypair(work / 'id_ed25519')
    master_root.authorize_key(tree, pub)
    IMAGES.mkdir(parents=True, exist_ok=True)
    image = IMAGES / 'disk.raw'
    make_image(tree, image)
    t_image = time.monotonic()
    hostlab.make_bridge(cfg.ADMIN_BRIDGE, cfg.DESTINATION_ADDRESS + '/24')
    hostlab.make_netns('rfb-op', cfg.ADMIN_BRIDGE, 'rfb-o0', 'eth0',
                       '52:54:00:99:00:03', cfg.OPERATOR_ADDRESS + '/24')
    known = work / 'known_hosts'
    known.write_text(hostlab.known_hosts_line(
        cfg.ADMIN['ipaddress'], 22,
        (tree / 'etc/ssh/ssh_host_ed25519_key.pub').read_text()))
    (work / 'domain.xml').write_text(domain_xml(image))
    virt.virsh('define', str(work / 'domain.xml'))
    serial = guest.SerialLog(NAME, work / 'serial.log')
    virt.virsh('start', NAME)
    serial.follow()
    operator = guest.Operator('rfb-op', key, known)
    try:
        boot = operator.wait_answering(240, 'the guest at the admin address')
    except AssertionError:
        print(serial.tail())
        raise
    print('root build %.1fs, image %.1fs, boot to answering %.1fs'
          % (built, t_image - t0, boot))
    print('health:', operator.api('/health'))
    print('ssh:', operator.ssh('hostname; findmnt -n -o SOURCE /; uptime')[1])
    return 0


def _teardown(work):
    virt.remove(NAME)
    hostlab.remove_netns('rfb-op')
    hostlab.remove_link('rfb-o0')
    hostlab.remove_link(cfg.ADMIN_BRIDGE)
    shutil.rmtree(str(IMAGES), ignore_errors=True)
    shutil.rmtree(str(work), ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
