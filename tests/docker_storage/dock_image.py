"""Build the disk of the 8.0-like source master, from Debian's packages.

A raw disk with a scaled-down 8.0 layout (GPT: p1 bios_grub, p2 root ext4,
p3 the docker PV on its own partition), Debian 11 (bullseye: python2.7,
lvm2, thin-provisioning-tools and docker.io 20.10, which still has the
devicemapper driver). The root is made by debootstrap on this host; the
docker storage can only be made where device-mapper exists, so a helper
boot of the image (TCG guest, kernel line rfe.build=1) runs
docker-storage-setup (VG docker, the thin pool), starts docker on the pool,
imports a tiny image and creates Fuel 8.0's containers, then powers off.

The disk (sparse), its kernel and initrd are cached under CACHE_DIR, keyed
by a hash of the recipe; the per-run parts (the test's keys, the script,
its config) are written into a copy of the disk by the lab, never cached.
"""
import fcntl
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import time

from lab import hostlab, virt

from master_boot import master_config, master_root

from . import dock_config as cfg

_run = master_root._run
_write = master_root._write
_pseudo_fs = master_root._mounted_pseudo_fs

CACHE_DIR = pathlib.Path('/var/cache/reduced-footprint-tests')
BUILD_DIR = pathlib.Path('/var/lib/libvirt/images/rfe-build')
SUITE = 'bullseye'
# Bump when the build procedure changes in a way the recipe does not show.
BUILDER_VERSION = 1

PACKAGES = [
    'linux-image-amd64', 'initramfs-tools', 'systemd', 'systemd-sysv', 'udev',
    'dbus', 'openssh-server', 'openssh-client', 'grub-pc', 'python2.7',
    'python3', 'iproute2', 'kmod', 'e2fsprogs', 'xfsprogs', 'procps',
    'lvm2', 'thin-provisioning-tools', 'docker.io', 'busybox-static', 'rsync',
    # docker 20.10 refuses to start containers where the kernel has
    # AppArmor (Debian's does) and apparmor_parser is missing
    'apparmor',
]
# the boot proof's root leaves out the same (bullseye's own paths included)
DPKG_EXCLUDES = master_root.DPKG_EXCLUDES
ENABLED_UNITS = ['systemd-networkd.service', 'rfe-admin-net.service',
                 'ssh.service', 'docker.service',
                 'docker-storage-setup.service', 'fuel-records-api.service',
                 'rfe-build.service', 'serial-getty@ttyS0.service']
MASKED_UNITS = ['docker.socket', 'apt-daily.timer', 'apt-daily-upgrade.timer',
                'e2scrub_all.timer', 'fstrim.timer']

HERE = pathlib.Path(__file__).resolve().parent
FIXTURES = HERE / 'fixtures'
RECORDS_API = HERE.parent / 'master_boot' / 'fixtures' / 'fuel-records-api'
# Pure-Python PyYAML and jsonschema for the master's python2.7 (bullseye
# has no python2 packages of them), from the .venv27 tools/setup made.
VENV27_SITE = HERE.parent.parent / '.venv27' / 'lib' / 'python2.7' / 'site-packages'
PY27_MODULES = ['yaml', 'jsonschema']
PY27_SITE = '/usr/local/lib/python2.7/dist-packages'


def _fixture(name):
    text = (FIXTURES / name).read_text()
    subst = {'@DOCKER_STORAGE@': cfg.docker_storage(), '@IMAGE@': cfg.IMAGE,
             '@WRITER_LOG@': cfg.WRITER_LOG, '@WRITER@': cfg.WRITER,
             '@CONTAINERS@': ' '.join(cfg.CONTAINERS),
             '@RELEASE@': cfg.RELEASE}
    for key, value in subst.items():
        text = text.replace(key, value)
    return text


def root_files():
    """Every file the recipe writes into the root: {path: (mode, text)}."""
    admin = cfg.ADMIN
    files = {
        '/etc/hostname': (0o644, cfg.HOSTNAME + '\n'),
        '/etc/hosts': (0o644, '127.0.0.1 localhost\n%s fuel.test fuel\n'
                       % admin['ipaddress']),
        '/etc/fuel/astute.yaml': (0o600, cfg.astute_yaml()),
        '/etc/systemd/system/rfe-admin-net.service': (0o644, cfg.admin_net_unit()),
        '/usr/local/sbin/rfe-admin-net': (0o755, cfg.admin_net_script()),
        '/etc/systemd/network/20-rfe-control.network': (
            0o644, cfg.networkd(cfg.CONTROL_MAC, cfg.CONTROL_ADDRESS)),
        '/etc/ssh/sshd_config.d/10-rfe.conf': (0o644, (
            'PermitRootLogin prohibit-password\n'
            'PasswordAuthentication no\nUseDNS no\n')),
        '/etc/default/grub': (0o644, cfg.default_grub()),
        '/etc/sysconfig/docker-storage-setup': (0o644, 'VG=%s\nDEVS=/dev/vda%d\n'
                                                % (cfg.VG, cfg.DOCKER_PART)),
        '/usr/bin/docker-storage-setup': (0o755, _fixture('docker-storage-setup')),
        '/usr/bin/dockerctl': (0o755, _fixture('dockerctl')),
        '/usr/local/sbin/rfe-build-containers': (0o755, _fixture('rfe-build-containers')),
        '/usr/local/sbin/fuel-records-api': (0o755, RECORDS_API.read_text()),
        '/etc/systemd/system/fuel-records-api.service': (
            0o644, master_config.records_api_unit()),
        '/etc/systemd/system/docker.service': (0o644, cfg.docker_unit()),
        '/etc/systemd/system/docker-storage-setup.service': (
            0o644, cfg.storage_setup_unit()),
        '/etc/systemd/system/rfe-build.service': (0o644, cfg.build_unit()),
        '/etc/initramfs-tools/conf.d/rfe-modules': (0o644, 'MODULES=most\n'),
        '/usr/sbin/policy-rc.d': (0o755, '#!/bin/sh\nexit 101\n'),
    }
    for short in cfg.CONTAINERS:
        files['/etc/systemd/system/docker-%s.service' % short] = (
            0o644, cfg.container_unit(short))
    for number in range(3):
        files['%s/record-%d' % (cfg.DATA_DIR, number)] = (
            0o644, 'record %d of the 8.0-like master\n' % number)
    return files


def py27_files():
    """{path in the root: source path} of the pure-Python modules."""
    found = {}
    for module in PY27_MODULES:
        for src in sorted((VENV27_SITE / module).rglob('*.py')):
            found['%s/%s' % (PY27_SITE, src.relative_to(VENV27_SITE))] = src
    return found


def recipe():
    # the archive this machine's apt uses (for bookworm: the same archive
    # holds bullseye), as the boot proof's root does
    return {'suite': SUITE, 'mirror': master_root.configured_mirror(),
            'packages': PACKAGES,
            'dpkg_excludes': DPKG_EXCLUDES, 'units': ENABLED_UNITS,
            'masked': MASKED_UNITS, 'builder': BUILDER_VERSION,
            'layout': [cfg.ROOT_MIB, cfg.DOCKER_PV_MIB],
            'files': {k: [v[0], v[1]] for k, v in sorted(root_files().items())},
            'py27': {k: hashlib.sha256(v.read_bytes()).hexdigest()
                     for k, v in sorted(py27_files().items())}}


def recipe_key(rcp):
    return hashlib.sha256(json.dumps(rcp, sort_keys=True).encode()).hexdigest()[:16]


class Cached(object):
    """The cached disk, kernel and initrd of one recipe, and its facts."""

    def __init__(self, key):
        self.key = key
        self.stem = CACHE_DIR / ('rfe-master-disk-%s' % key)
        self.disk = self.stem.with_suffix('.img')
        self.kernel = self.stem.with_suffix('.vmlinuz')
        self.initrd = self.stem.with_suffix('.initrd')
        self.facts_path = self.stem.with_suffix('.json')

    def complete(self):
        return all(p.exists() for p in (self.disk, self.kernel, self.initrd,
                                        self.facts_path))

    def facts(self):
        return json.loads(self.facts_path.read_text())


def cached_disk(log=print):
    """(Cached, build_seconds) for the current recipe, built if missing."""
    rcp = recipe()
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    cached = Cached(recipe_key(rcp))
    with open(str(CACHE_DIR / '.rfe-build.lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two runs never build at once
        if cached.complete():
            return cached, 0.0
        started = time.monotonic()
        _build(rcp, cached, log)
        for stale in CACHE_DIR.glob('rfe-master-disk-*'):
            if not stale.name.startswith(cached.stem.name):
                stale.unlink()
        return cached, time.monotonic() - started


def _build(rcp, cached, log):
    remove_build_leftovers()
    BUILD_DIR.mkdir(parents=True)
    disk = BUILD_DIR / 'disk.img'
    facts = {'recipe': cached.key}
    try:
        started = time.monotonic()
        _partition(disk)
        with LoopDisk(disk) as loop:
            root_dev = loop.part(cfg.ROOT_PART)
            _run(['mkfs.ext4', '-q', '-L', 'fuel-root', root_dev])
            facts['root_uuid'] = _run(['blkid', '-s', 'UUID', '-o', 'value',
                                       root_dev]).strip()
            mnt = BUILD_DIR / 'root'
            mnt.mkdir()
            _run(['mount', root_dev, str(mnt)])
            try:
                _debootstrap(rcp, mnt, log)
                _install(rcp, mnt, log)
                _write_files(mnt, facts['root_uuid'])
                _finish(mnt)
                kernels = sorted((mnt / 'boot').glob('vmlinuz-*'))
                initrds = sorted((mnt / 'boot').glob('initrd.img-*'))
                shutil.copyfile(str(kernels[-1]), str(BUILD_DIR / 'vmlinuz'))
                shutil.copyfile(str(initrds[-1]), str(BUILD_DIR / 'initrd'))
                facts['host_key'] = (mnt / 'etc/ssh/ssh_host_ed25519_key.pub').read_text()
            finally:
                _run(['umount', str(mnt)])
        facts['root_build_s'] = round(time.monotonic() - started, 1)
        started = time.monotonic()
        log('source disk: helper boot makes the docker storage (TCG)')
        serial = _helper_boot(disk, facts['root_uuid'])
        facts['helper_boot_s'] = round(time.monotonic() - started, 1)
        if 'RFE-BUILD-OK' not in serial:
            shutil.copyfile(str(BUILD_DIR / 'serial.log'),
                            str(CACHE_DIR / 'rfe-build-failed-serial.log'))
            raise RuntimeError('the helper boot did not make the docker storage '
                               '(serial: %s/rfe-build-failed-serial.log):\n%s'
                               % (CACHE_DIR, serial[-6000:]))
        facts['built'] = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
        for src, dst in ((BUILD_DIR / 'vmlinuz', cached.kernel),
                         (BUILD_DIR / 'initrd', cached.initrd)):
            shutil.copyfile(str(src), str(dst))
        _run(['cp', '--sparse=always', str(disk), str(cached.disk) + '.partial'])
        os.rename(str(cached.disk) + '.partial', str(cached.disk))
        cached.facts_path.write_text(json.dumps(facts, indent=1, sort_keys=True))
    finally:
        remove_build_leftovers()


def _partition(disk):
    total = 2 + cfg.ROOT_MIB + cfg.DOCKER_PV_MIB + 2
    _run(['truncate', '-s', '%dM' % total, str(disk)])
    root_end = 2 + cfg.ROOT_MIB
    _run(['parted', '-s', str(disk), 'mklabel', 'gpt',
          'mkpart', 'bios', '1MiB', '2MiB', 'set', '1', 'bios_grub', 'on',
          'mkpart', 'root', 'ext4', '2MiB', '%dMiB' % root_end,
          'mkpart', 'docker', '%dMiB' % root_end,
          '%dMiB' % (root_end + cfg.DOCKER_PV_MIB), 'set', '3', 'lvm', 'on'])


class LoopDisk(object):
    """A disk image on a loop device with its partitions (no device-mapper
    needed: the loop driver scans the partition table)."""

    def __init__(self, path):
        self.path = path
        self.dev = None

    def __enter__(self):
        self.dev = _run(['losetup', '-P', '--show', '-f', str(self.path)]).strip()
        if not os.path.exists(self.part(2)):  # no udev: ask partx
            subprocess.call(['partx', '-a', self.dev], stderr=subprocess.DEVNULL)
        hostlab.wait_for(lambda: os.path.exists(self.part(2)), 10,
                         'partitions of %s' % self.dev)
        return self

    def part(self, number):
        return '%sp%d' % (self.dev, number)

    def __exit__(self, *exc):
        subprocess.call(['partx', '-d', self.dev], stderr=subprocess.DEVNULL)
        subprocess.call(['losetup', '-d', self.dev])


def _debootstrap(rcp, root, log):
    log('source disk: debootstrap %s from %s' % (rcp['suite'], rcp['mirror']))
    _run(['debootstrap', '--variant=minbase', '--include=ca-certificates',
          rcp['suite'], str(root), rcp['mirror']])


def _install(rcp, root, log):
    excludes = ''.join('path-exclude=%s\n' % p for p in rcp['dpkg_excludes'])
    (root / 'etc/dpkg/dpkg.cfg.d/rfe-small').write_text(excludes)
    _write(root, '/etc/initramfs-tools/conf.d/rfe-modules', 0o644, 'MODULES=most\n')
    _write(root, '/usr/sbin/policy-rc.d', 0o755, '#!/bin/sh\nexit 101\n')
    log('source disk: apt-get install %s' % ' '.join(rcp['packages']))
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive', LC_ALL='C.UTF-8')
    with _pseudo_fs(root):
        _run(['chroot', str(root), 'apt-get', 'install', '-y', '-q',
              '--no-install-recommends'] + rcp['packages'], env=env)
        _run(['chroot', str(root), 'apt-get', 'clean'], env=env)


def _write_files(root, root_uuid):
    for path, (mode, text) in root_files().items():
        _write(root, path, mode, text)
    for path, src in py27_files().items():
        _write(root, path, 0o644, src.read_text())
    _write(root, '/etc/fstab', 0o644,
           'UUID=%s / ext4 errors=remount-ro 0 1\n' % root_uuid)


def _finish(root):
    _run(['chroot', str(root), 'systemctl', 'enable'] + ENABLED_UNITS)
    _run(['chroot', str(root), 'systemctl', 'mask'] + MASKED_UNITS)
    (root / 'etc/machine-id').write_text('')
    (root / 'usr/sbin/policy-rc.d').unlink()
    for stale in ('var/lib/apt/lists', 'var/cache/apt'):
        for child in (root / stale).glob('*'):
            if child.is_file():
                child.unlink()


def kernel_line(root_uuid, extra=''):
    return ('root=UUID=%s ro %s %s' % (root_uuid, cfg.KERNEL_ARGS, extra)).strip()


def _helper_boot(disk, root_uuid):
    """Boot the image once with rfe.build=1; returns its serial output."""
    serial = BUILD_DIR / 'serial.log'
    xml = domain_xml(cfg.BUILD_GUEST, disk, BUILD_DIR / 'vmlinuz',
                     BUILD_DIR / 'initrd', kernel_line(root_uuid, 'rfe.build=1'),
                     nics=[], serial_file=serial, memory_mib=1024)
    (BUILD_DIR / 'domain.xml').write_text(xml)
    virt.remove(cfg.BUILD_GUEST)
    virt.virsh('create', str(BUILD_DIR / 'domain.xml'))
    try:
        hostlab.wait_for(lambda: virt.state(cfg.BUILD_GUEST) in ('absent', 'shut off'),
                         1200, 'the helper boot to power off', interval=2)
    finally:
        virt.remove(cfg.BUILD_GUEST)
    return serial.read_text(errors='replace') if serial.exists() else ''


def domain_xml(name, disk, kernel, initrd, cmdline, nics, serial_file,
               memory_mib=1024, vcpus=1):
    """A guest booted from an outside kernel (the source master: the
    old machine's own firmware and boot loader are not the subject here)."""
    interfaces = ''.join(
        "<interface type='bridge'><source bridge='%s'/><mac address='%s'/>"
        "<model type='virtio'/></interface>" % (bridge, mac)
        for bridge, mac in nics)
    return """<domain type='%(type)s'>
  <name>%(name)s</name>
  <memory unit='MiB'>%(mem)d</memory>
  <vcpu>%(vcpus)d</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type>
    <kernel>%(kernel)s</kernel><initrd>%(initrd)s</initrd>
    <cmdline>%(cmdline)s</cmdline></os>
  <features><acpi/><apic/></features>
  <on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/>
      <source file='%(disk)s'/><target dev='vda' bus='virtio'/></disk>
    %(nics)s
    <serial type='file'><source path='%(serial)s'/><target port='0'/></serial>
    <console type='file'><source path='%(serial)s'/><target type='serial' port='0'/></console>
  </devices>
</domain>
""" % {'type': virt.guest_virt_type(), 'name': name, 'mem': memory_mib,
       'vcpus': vcpus, 'kernel': kernel, 'initrd': initrd, 'cmdline': cmdline,
       'disk': disk, 'nics': interfaces, 'serial': serial_file}


def remove_build_leftovers():
    virt.remove(cfg.BUILD_GUEST)
    if BUILD_DIR.exists():
        _detach_loops_under(BUILD_DIR)
        subprocess.call(['umount', '-R', '-l', str(BUILD_DIR / 'root')],
                        stderr=subprocess.DEVNULL)
        shutil.rmtree(str(BUILD_DIR), ignore_errors=True)


def _detach_loops_under(folder):
    out = _run(['losetup', '-J', '-l'])
    devices = json.loads(out).get('loopdevices', []) if out.strip() else []
    for dev in devices:
        if str(dev.get('back-file', '')).startswith(str(folder)):
            for part in pathlib.Path('/dev').glob(os.path.basename(dev['name']) + 'p*'):
                subprocess.call(['umount', '-l', str(part)], stderr=subprocess.DEVNULL)
            subprocess.call(['losetup', '-d', dev['name']])
