"""The lab's bootstrap image: what Fuel's master serves to a node that
PXE-boots before it is known, made here from Debian's packages only.

A Debian bookworm root with Debian's ruby, ohai, ruby-httpclient,
ruby-rethtool and the real nailgun-agent of Fuel 9.0 (from
../shared/upstream/fuel-nailgun-agent-9.0.tar.gz, with the lab's patch
bootstrap/nailgun-agent.patch when there is one), packed whole as the
initramfs of Debian's kernel. Its /init brings the NICs up, takes a DHCP
lease and runs the agent every 30 s, as the bootstrap's cron does; the agent
reads `url=` from the kernel command line.

Cached like the boot proof's root (tests/master_boot/master_root.py): a
folder rfd-bootstrap-<recipe hash> in CACHE_DIR holding vmlinuz and
initrd.img; a changed recipe builds anew (about 2 min), a hit costs
nothing.
"""
import hashlib
import os
import pathlib
import shutil
import subprocess
import tarfile

from master_boot.master_root import (CACHE_DIR, SUITE, _run, apt_install, cached,
                                     configured_mirror, recipe_key)

from .paths import REPO

HERE = pathlib.Path(__file__).resolve().parent / 'bootstrap'
UPSTREAM = pathlib.Path(os.environ.get('RF_UPSTREAM') or
                        pathlib.Path(REPO).parent / 'shared' / 'upstream')
AGENT_ARCHIVE = UPSTREAM / 'fuel-nailgun-agent-9.0.tar.gz'
PATCH = HERE / 'nailgun-agent.patch'
# Bump when the build procedure changes in a way the recipe does not show.
BUILDER_VERSION = 1

# The agent's Depends (its debian/control) as Debian 12 names them, but ohai
# 16 for ohai << 7; hwloc-nox for lstopo (the NUMA topology nailgun 9.0
# requires), udev for udevadm, busybox for udhcpc, the kernel.
PACKAGES = ['linux-image-amd64', 'kmod', 'udev', 'iproute2', 'busybox',
            'ruby', 'ohai', 'ruby-httpclient', 'ruby-rethtool', 'ruby-cstruct',
            'ruby-ipaddress', 'ruby-json', 'dmidecode', 'ethtool', 'hwloc-nox']
# The only kernel modules the guest needs (Debian builds them as modules).
MODULES = ['virtio_pci', 'virtio_net', 'virtio_blk']
# Never read by the bootstrap: left out of the initramfs.
PRUNE = ['usr/share/doc', 'usr/share/man', 'usr/share/locale', 'usr/share/info',
         'usr/share/zoneinfo', 'usr/lib/udev/hwdb.bin', 'var/cache/apt',
         'var/lib/apt/lists', 'usr/lib/x86_64-linux-gnu/gconv', 'boot']


def files():
    """{path in the root: (mode, text)} the recipe writes."""
    return {
        '/init': (0o755, (HERE / 'init').read_text()),
        '/etc/rfd-udhcpc': (0o755, (HERE / 'udhcpc').read_text()),
        '/etc/hostname': (0o644, 'bootstrap\n'),
        '/etc/hosts': (0o644, '127.0.0.1 localhost\n'),
        # As on Fuel's bootstrap: the agent reports status "discover".
        '/etc/nailgun_systemtype': (0o644, 'bootstrap\n'),
        # The agent writes the node's id into mcollective's identity.
        '/etc/mcollective/server.cfg': (0o644, 'identity = bootstrap\n'),
    }


def agent_digest():
    return hashlib.sha256(AGENT_ARCHIVE.read_bytes()).hexdigest()


def recipe(mirror):
    return {'suite': SUITE, 'variant': 'minbase', 'mirror': mirror,
            'packages': PACKAGES, 'modules': MODULES, 'prune': PRUNE,
            'builder': BUILDER_VERSION, 'agent': agent_digest(),
            'patch': PATCH.read_text() if PATCH.exists() else None,
            'files': {k: list(v) for k, v in sorted(files().items())}}


def unavailable():
    if not AGENT_ARCHIVE.is_file():
        return ('the bootstrap needs the nailgun-agent sources: %s is missing '
                '(git archive of fuel-nailgun-agent at 9.0)' % AGENT_ARCHIVE)
    return None


def cached_bootstrap(log=print):
    """(folder with vmlinuz and initrd.img, build seconds: 0.0 on a hit)."""
    rcp = recipe(configured_mirror())
    return cached(CACHE_DIR / ('rfd-bootstrap-%s' % recipe_key(rcp)), 'rfd',
                  lambda folder: _build(rcp, folder, log))


def _build(rcp, folder, log):
    work = CACHE_DIR / ('build-' + folder.name)
    shutil.rmtree(str(work), ignore_errors=True)
    try:
        root = work / 'root'
        log('bootstrap: debootstrap %s from %s' % (rcp['suite'], rcp['mirror']))
        _run(['debootstrap', '--variant=minbase', rcp['suite'], str(root), rcp['mirror']])
        log('bootstrap: apt-get install %s' % ' '.join(rcp['packages']))
        apt_install(root, rcp['packages'])
        _install_agent(root)
        for path, (mode, text) in files().items():
            target = root / path.lstrip('/')
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            target.chmod(mode)
        out = work / 'out'
        out.mkdir()
        [kernel] = sorted((root / 'boot').glob('vmlinuz-*'))
        shutil.copy(str(kernel), str(out / 'vmlinuz'))
        _keep_modules(root, kernel.name[len('vmlinuz-'):])
        for sub in rcp['prune']:
            target = root / sub
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(str(target))
            elif target.exists():
                target.unlink()
        log('bootstrap: packing the initramfs')
        subprocess.run('find . -xdev | cpio -o -H newc --quiet | gzip -1 > %s'
                       % (out / 'initrd.img'), shell=True, cwd=str(root), check=True)
        os.rename(str(out), str(folder))
    finally:
        shutil.rmtree(str(work), ignore_errors=True)


def _install_agent(root):
    with tarfile.open(str(AGENT_ARCHIVE)) as tar:
        [member] = [m for m in tar.getmembers() if m.name.endswith('/agent')]
        text = tar.extractfile(member).read()
    agent = root / 'usr/bin/nailgun-agent'
    agent.write_bytes(text)
    agent.chmod(0o755)
    if PATCH.exists():
        _run(['patch', '--no-backup-if-mismatch', str(agent), str(PATCH)])


def _keep_modules(root, version):
    """Only MODULES (and what they depend on) stay in /usr/lib/modules."""
    moddir = root / 'usr/lib/modules' / version
    keep = set()
    for name in MODULES:
        out = _run(['chroot', str(root), 'modprobe', '-S', version,
                    '--show-depends', name])
        keep.update(line.split()[1] for line in out.splitlines()
                    if line.startswith('insmod '))
    saved = root / 'rfd-modules'
    saved.mkdir()
    for path in keep:
        top = '/usr/lib/modules/' if path.startswith('/usr/') else '/lib/modules/'
        rel = pathlib.Path(path).relative_to(top + version)
        (saved / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(str(moddir / rel), str(saved / rel))
    for name in ('modules.order', 'modules.builtin', 'modules.builtin.modinfo'):
        shutil.copy(str(moddir / name), str(saved / name))
    shutil.rmtree(str(moddir))
    os.rename(str(saved), str(moddir))
    _run(['chroot', str(root), 'depmod', version])
