"""Build the small bootable Debian root that plays the Fuel master.

Only Debian's packages, from the machine's configured Debian mirror. The
result is a tarball cached under CACHE_DIR, keyed by a hash of the recipe
(packages, files, builder version), so a re-run extracts it in seconds and a
changed recipe builds anew. The per-run parts (the root's authorized test
key) are written after extraction, never into the cache.
"""
import fcntl
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import time

from . import master_config

CACHE_DIR = pathlib.Path('/var/cache/reduced-footprint-tests')
SUITE = 'bookworm'
# Bump when the build procedure changes in a way the recipe does not show.
BUILDER_VERSION = 3

PACKAGES = [
    'linux-image-amd64', 'initramfs-tools', 'systemd', 'systemd-sysv', 'udev',
    'dbus', 'openssh-server', 'grub-pc', 'python3', 'iproute2', 'kmod',
    'e2fsprogs', 'procps',
]

# Parts of the packages a booting test master never reads: left out by dpkg
# so the root (and so every copy of it) stays small. Written before the
# kernel is installed; the guest's drivers (virtio, ext4) are kept.
DPKG_EXCLUDES = [
    '/usr/share/doc/*', '/usr/share/man/*', '/usr/share/locale/*',
    '/usr/share/info/*', '/usr/lib/firmware/*', '/lib/firmware/*',
    '/usr/lib/modules/*/kernel/drivers/gpu/*',
    '/usr/lib/modules/*/kernel/drivers/net/wireless/*',
    '/usr/lib/modules/*/kernel/drivers/media/*',
    '/usr/lib/modules/*/kernel/drivers/infiniband/*',
    '/usr/lib/modules/*/kernel/drivers/staging/*',
    '/usr/lib/modules/*/kernel/sound/*',
    '/lib/modules/*/kernel/drivers/gpu/*',
    '/lib/modules/*/kernel/drivers/net/wireless/*',
    '/lib/modules/*/kernel/drivers/media/*',
    '/lib/modules/*/kernel/drivers/infiniband/*',
    '/lib/modules/*/kernel/drivers/staging/*',
    '/lib/modules/*/kernel/sound/*',
]

HERE = pathlib.Path(__file__).resolve().parent
RECORDS_API = HERE / 'fixtures' / 'fuel-records-api'


def root_files():
    """Every file the recipe writes into the root: {path: (mode, text)}."""
    admin = master_config.ADMIN
    return {
        '/etc/hostname': (0o644, 'fuel\n'),
        '/etc/hosts': (0o644, '127.0.0.1 localhost\n%s fuel.test fuel\n'
                       % admin['ipaddress']),
        '/etc/fuel/astute.yaml': (0o600, master_config.astute_yaml()),
        '/etc/systemd/network/10-admin.network': (0o644, master_config.networkd_admin()),
        '/etc/ssh/sshd_config.d/10-rfb.conf': (0o644, (
            'PermitRootLogin prohibit-password\n'
            'PasswordAuthentication no\nUseDNS no\n')),
        '/etc/default/grub': (0o644, master_config.default_grub()),
        '/etc/fstab': (0o644, master_config.physical_fstab()),
        '/usr/local/sbin/fuel-records-api': (0o755, RECORDS_API.read_text()),
        '/etc/systemd/system/fuel-records-api.service': (
            0o644, master_config.records_api_unit()),
        '/etc/initramfs-tools/conf.d/rfb-modules': (0o644, 'MODULES=most\n'),
    }


ENABLED_UNITS = ['systemd-networkd.service', 'ssh.service',
                 'fuel-records-api.service', 'serial-getty@ttyS0.service']


def configured_mirror(sources_dir='/etc/apt/sources.list.d'):
    """The Debian mirror this machine's apt uses for SUITE (deb822 files)."""
    for path in sorted(pathlib.Path(sources_dir).glob('*.sources')):
        for stanza in path.read_text().split('\n\n'):
            fields = _deb822_fields(stanza)
            if SUITE in fields.get('Suites', '').split() and \
                    'main' in fields.get('Components', '').split():
                return fields['URIs'].split()[0]
    raise RuntimeError('no Debian %s mirror with main in %s: the root needs '
                       'one (see /etc/apt/sources.list.d)' % (SUITE, sources_dir))


def _deb822_fields(stanza):
    fields = {}
    for line in stanza.splitlines():
        if line and not line.startswith(('#', ' ')) and ':' in line:
            key, value = line.split(':', 1)
            fields[key.strip()] = value.strip()
    return fields


def recipe(mirror):
    return {'suite': SUITE, 'variant': 'minbase', 'mirror': mirror,
            'packages': PACKAGES, 'dpkg_excludes': DPKG_EXCLUDES,
            'units': ENABLED_UNITS, 'builder': BUILDER_VERSION,
            'files': {k: [v[0], v[1]] for k, v in sorted(root_files().items())}}


def recipe_key(rcp):
    return hashlib.sha256(json.dumps(rcp, sort_keys=True).encode()).hexdigest()[:16]


def cached_root_tarball(log=print):
    """Path of the root tarball for the current recipe, built if missing.

    Returns (path, build_seconds); build_seconds is 0.0 on a cache hit."""
    rcp = recipe(configured_mirror())
    return cached(CACHE_DIR / ('rfb-master-root-%s.tar' % recipe_key(rcp)),
                  'rfb', lambda path: _build_tarball(rcp, path, log))


def cached(path, prefix, build):
    """(path, build seconds: 0.0 on a hit): build(path) runs only when path
    is missing, under CACHE_DIR/.<prefix>-build.lock, so two runs never
    build at once; the other builds beside it (older recipes: named like
    it but for the key after the last '-') are removed."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with open(str(CACHE_DIR / ('.%s-build.lock' % prefix)), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return path, 0.0
        started = time.monotonic()
        build(path)
        for stale in CACHE_DIR.glob(path.name.rsplit('-', 1)[0] + '-*'):
            if stale != path:  # built from an older recipe
                if stale.is_dir():
                    shutil.rmtree(str(stale), ignore_errors=True)
                else:
                    stale.unlink()
        return path, time.monotonic() - started


def _build_tarball(rcp, tarball, log):
    work = CACHE_DIR / ('build-' + tarball.stem)
    shutil.rmtree(str(work), ignore_errors=True)
    try:
        root = work / 'root'
        _debootstrap(rcp, root, log)
        _install_packages(rcp, root, log)
        _write_files(root)
        _finish(root)
        partial = tarball.with_suffix('.partial')
        _run(['tar', '--numeric-owner', '--xattrs', '--acls', '-C', str(root),
              '-cf', str(partial), '.'])
        os.rename(str(partial), str(tarball))
    finally:
        shutil.rmtree(str(work), ignore_errors=True)


def _debootstrap(rcp, root, log):
    log('master root: debootstrap %s (%s) from %s' % (
        rcp['suite'], rcp['variant'], rcp['mirror']))
    _run(['debootstrap', '--variant=' + rcp['variant'],
          '--include=ca-certificates', rcp['suite'], str(root), rcp['mirror']])


def _install_packages(rcp, root, log):
    excludes = ''.join('path-exclude=%s\n' % p for p in rcp['dpkg_excludes'])
    (root / 'etc/dpkg/dpkg.cfg.d/rfb-small').write_text(excludes)
    _write(root, '/etc/initramfs-tools/conf.d/rfb-modules', 0o644,
           'MODULES=most\n')
    log('master root: apt-get install %s' % ' '.join(rcp['packages']))
    apt_install(root, rcp['packages'])


def apt_install(root, packages):
    """apt-get install (no recommends) inside root, then clean."""
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive',
               LC_ALL='C.UTF-8')
    with _mounted_pseudo_fs(root):
        _run(['chroot', str(root), 'apt-get', 'install', '-y', '-q',
              '--no-install-recommends'] + list(packages), env=env)
        _run(['chroot', str(root), 'apt-get', 'clean'], env=env)


def _write_files(root):
    for path, (mode, text) in root_files().items():
        _write(root, path, mode, text)


def _finish(root):
    _run(['chroot', str(root), 'systemctl', 'enable'] + ENABLED_UNITS)
    (root / master_config.DATA_DIR.lstrip('/')).mkdir(parents=True, exist_ok=True)
    # A fresh machine-id on each boot of each copy, as on a real image.
    (root / 'etc/machine-id').write_text('')
    for stale in ('var/lib/apt/lists', 'var/cache/apt'):
        for child in (root / stale).glob('*'):
            if child.is_file():
                child.unlink()


def _write(root, path, mode, text):
    target = root / path.lstrip('/')
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    target.chmod(mode)


class _mounted_pseudo_fs(object):
    """/proc, /sys and /dev inside the root while packages install."""
    MOUNTS = [('proc', ['-t', 'proc', 'proc']), ('sys', ['-t', 'sysfs', 'sys']),
              ('dev', ['--bind', '/dev']), ('dev/pts', ['--bind', '/dev/pts'])]

    def __init__(self, root):
        self.root = root

    def __enter__(self):
        for sub, args in self.MOUNTS:
            _run(['mount'] + args + [str(self.root / sub)])

    def __exit__(self, *exc):
        for sub, _ in reversed(self.MOUNTS):
            subprocess.call(['umount', '-l', str(self.root / sub)])


def extract_root(tarball, dest):
    """Unpack a cached root into dest (owners, modes, xattrs kept)."""
    dest = pathlib.Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    _run(['tar', '--numeric-owner', '--xattrs', '--xattrs-include=*', '--acls',
          '-C', str(dest), '-xpf', str(tarball)])
    return dest


def authorize_key(root, public_key_text):
    """The test's key for root's ssh login on the master and on its copy."""
    ssh_dir = pathlib.Path(root) / 'root/.ssh'
    ssh_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    (ssh_dir / 'authorized_keys').write_text(public_key_text)
    (ssh_dir / 'authorized_keys').chmod(0o600)


def _run(argv, env=None):
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env)
    out, _ = proc.communicate(timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError('%s failed (%d):\n%s' % (
            ' '.join(argv), proc.returncode, out.decode(errors='replace')[-4000:]))
    return out.decode(errors='replace')
