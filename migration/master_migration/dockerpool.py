"""A Fuel 8.0 master's docker storage: what the master has, and what the
migration does with it.

Fuel 8.0 keeps docker's image and container layers in an LVM thin pool
(VG `docker` on a partition of its own; docker-storage-setup names the pool
in /etc/sysconfig/docker-storage as dm.thinpooldev), the matching metadata
in /var/lib/docker. Both halves must reach the guest taken at the same
moment: the PV block for block (blockcopy.py), /var/lib/docker with the
file copy. Fuel 9.0 keeps an unused `docker` VG: left behind unless asked.
The parsing and the decision are pure; probe() asks the master (lvm2 and
dmsetup through Commands)."""
from __future__ import absolute_import, division, print_function

import os
import re
import stat

from rf_common.text import to_text
from master_migration.units import human_bytes

STORAGE_FILE = 'etc/sysconfig/docker-storage'
SETUP_FILE = 'etc/sysconfig/docker-storage-setup'
THINPOOLDEV = re.compile(r'dm\.thinpooldev=(/dev/mapper/[^\s"\']+)')
SETUP_VG = re.compile(r'^\s*VG\s*=\s*["\']?([A-Za-z0-9_.+-]+)', re.M)
DEFAULT_VG = 'docker'
# The guest's second disk: the PV's bytes, the device name it gets there.
GUEST_DEVICE = 'vdb'
# What lvm reports about names: nothing here reaches a command line except
# through an argv list, but a name outside this set is not lvm's.
LVM_NAME = re.compile(r'^[A-Za-z0-9_.+-]{1,127}\Z')


def read_small(path, limit=65536):
    """The file's text (at most `limit` bytes), or None when it is not a
    regular file there."""
    try:
        flags = os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0) | getattr(
            os, 'O_NONBLOCK', 0)
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        parts, left = [], limit
        while left > 0:  # /proc files come a page at a time
            # a piece at a time: os.read allocates what it is asked for
            data = os.read(fd, min(left, 1 << 20))
            if not data:
                break
            parts.append(data)
            left -= len(data)
        return to_text(b''.join(parts))
    finally:
        os.close(fd)


def pool_device(storage_text):
    """/dev/mapper/<vg>-<pool> from docker-storage's options, or None."""
    match = THINPOOLDEV.search(storage_text or '')
    return match.group(1) if match else None


def split_dm_name(device):
    """(vg, lv) from /dev/mapper/vg-lv, where a '-' inside a name is
    doubled: docker-docker--pool -> ('docker', 'docker-pool')."""
    name = device.rsplit('/', 1)[-1]
    parts = re.split(r'(?<!-)-(?!-)', name)
    if len(parts) != 2 or not all(parts):
        return None
    return tuple(p.replace('--', '-') for p in parts)


def dm_name(vg, lv):
    return '%s-%s' % (vg.replace('-', '--'), lv.replace('-', '--'))


def parse_rows(text, fields):
    """lvm's --noheadings --separator '|' output as dicts."""
    rows = []
    for line in (text or '').splitlines():
        if not line.strip():
            continue
        values = [v.strip() for v in line.split('|')]
        if len(values) == len(fields):
            rows.append(dict(zip(fields, values)))
    return rows


def transaction_id(status_text):
    """The pool's transaction id from `dmsetup status` ('0 N thin-pool
    <id> ...'), or None."""
    match = re.search(r'\bthin-pool\s+(\d+)\s', status_text or '')
    return int(match.group(1)) if match else None


class Found(object):
    """What the master has: the VG named for docker, its PV(s), its pool,
    and whether docker's storage options point at that pool."""

    def __init__(self, vg=None, pvs=(), pool=None, thin_lvs=(),
                 in_use=False, configured_pool=None, lvm=True):
        self.vg, self.pvs, self.pool = vg, list(pvs), pool
        self.thin_lvs = list(thin_lvs)
        self.in_use, self.configured_pool = in_use, configured_pool
        self.lvm = lvm


def examine(storage_text, setup_text, vgs_rows, pvs_rows, lvs_rows, lvm=True):
    """Found from the files' text and lvm's rows (pure)."""
    configured = pool_device(storage_text)
    names = split_dm_name(configured) if configured else None
    match = SETUP_VG.search(setup_text or '')
    vg = names[0] if names else (match.group(1) if match else DEFAULT_VG)
    if not any(r.get('vg_name') == vg for r in vgs_rows):
        return Found(vg=None, in_use=bool(configured),
                     configured_pool=configured, lvm=lvm)
    pvs = [{'device': r['pv_name'], 'bytes': int(r['dev_size'])}
           for r in pvs_rows if r.get('vg_name') == vg]
    pools = [r['lv_name'] for r in lvs_rows if r.get('segtype') == 'thin-pool']
    pool = names[1] if names and names[1] in pools else (
        pools[0] if len(pools) == 1 else None)
    thin = sorted(r['lv_name'] for r in lvs_rows if r.get('segtype') == 'thin')
    in_use = bool(names and names[0] == vg and pool == names[1])
    return Found(vg, pvs, pool, thin, in_use, configured, lvm)


VGS_FIELDS = ['vg_name', 'pv_count']
PVS_FIELDS = ['pv_name', 'vg_name', 'dev_size']
LVS_FIELDS = ['lv_name', 'segtype', 'pool_lv']
LVM_REPORT = ['--noheadings', '--nosuffix', '--units', 'b', '--separator',
              '|', '-o']


def lvm_argv(command, fields, *rest):
    return [command] + LVM_REPORT + [','.join(fields)] + list(rest)


def probe(commands, source_root):
    """Ask the master (its files under source_root, its lvm2)."""
    storage = read_small(os.path.join(source_root, STORAGE_FILE))
    setup = read_small(os.path.join(source_root, SETUP_FILE))
    has_lvm = commands.run(['sh', '-c', 'command -v vgs'],
                           ok_codes=None).returncode == 0
    if not has_lvm:
        return examine(storage, setup, [], [], [], lvm=False)
    vgs = commands.run(lvm_argv('vgs', VGS_FIELDS), ok_codes=None)
    found_vgs = parse_rows(vgs.stdout, VGS_FIELDS)
    found = examine(storage, setup, found_vgs, [], [])
    if not found.vg:
        return found
    pvs = commands.run(lvm_argv('pvs', PVS_FIELDS), ok_codes=None)
    lvs = commands.run(lvm_argv('lvs', LVS_FIELDS, '--', found.vg),
                       ok_codes=None)
    return examine(storage, setup, found_vgs, parse_rows(pvs.stdout,
                                                         PVS_FIELDS),
                   parse_rows(lvs.stdout, LVS_FIELDS))


def decide(mode, found):
    """(the docker_vg fact, problems). mode: auto, carry or leave."""
    problems = []
    base = {'action': 'none', 'vg': found.vg, 'pool': found.pool,
            'in_use': found.in_use, 'thin_lvs': found.thin_lvs}
    if found.vg is None:
        if found.in_use:
            problems.append(
                'docker_vg: docker\'s storage (%s) names the thin pool %s, '
                'but %s: a copy of /var/lib/docker without its pool is '
                'refused by docker; make the pool visible (vgs) or '
                'migrate with services stopped by hand and docker_vg: leave '
                'after moving docker to another storage' % (
                    STORAGE_FILE, found.configured_pool,
                    'this master has no lvm2 tools (vgs)' if not found.lvm
                    else 'lvm shows no such volume group'))
        elif mode == 'carry':
            problems.append('docker_vg: carry, but this master has no '
                            'volume group for docker; use docker_vg: auto')
        return base, problems
    carry = mode == 'carry' or (mode == 'auto' and found.in_use)
    if not carry:
        if found.in_use:
            problems.append(
                'docker_vg: leave, but docker uses the pool %s/%s (Fuel '
                '8.0): the copy\'s containers would not start without it; '
                'use docker_vg: auto' % (found.vg, found.pool))
        base['action'] = 'leave'
        return base, problems
    if len(found.pvs) != 1:
        problems.append(
            'docker_vg: volume group %s lies on %d physical volumes (%s); '
            'this tool carries a volume group of one PV as one disk' % (
                found.vg, len(found.pvs),
                ', '.join(pv['device'] for pv in found.pvs) or 'none found'))
        return base, problems
    if not all(LVM_NAME.match(n) for n in [found.vg] + (
            [found.pool] if found.pool else [])):
        problems.append('docker_vg: volume group %s has names this tool '
                        'does not take' % found.vg)
        return base, problems
    pv = found.pvs[0]
    base.update(action='carry', pv=pv['device'], pv_bytes=pv['bytes'])
    return base, problems


def check_device(path):
    """None, or why the PV cannot be read block for block from here."""
    try:
        info = os.stat(path)
    except OSError as exc:
        return 'cannot stat %s: %s' % (path, exc.strerror)
    if not stat.S_ISBLK(info.st_mode):
        return '%s is not a block device' % path
    try:
        os.close(os.open(path, os.O_RDONLY))
    except OSError as exc:
        return 'cannot open %s for reading: %s' % (path, exc.strerror)
    return None


def plan_line(docker):
    """The plan's words for the docker_vg fact."""
    action = (docker or {}).get('action', 'none')
    if action == 'none':
        return None
    if action == 'leave':
        return ('docker storage: VG %s is not used by docker (Fuel 9.0 keeps '
                'it empty): left behind (docker_vg: carry takes it as a '
                'second disk)' % docker['vg'])
    return ('docker storage: VG %s (PV %s, %s, thin pool %s%s) carried block '
            'for block as the guest\'s %s: copied while the master serves, '
            'while stopped (docker and the VG too) only the chunks that '
            'changed' % (docker['vg'], docker['pv'],
                         human_bytes(docker['pv_bytes']),
                         docker['pool'] or 'none',
                         ', used by docker' if docker['in_use'] else '',
                         GUEST_DEVICE))


# ---- the master's own filesystems -------------------------------------

PSEUDO_TREES = ('/proc', '/sys', '/dev', '/run')
DISK_TYPES = ('ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'vfat', 'jfs',
              'reiserfs')
SAFE_PATH = re.compile(r'^/[A-Za-z0-9_.:@+/-]*\Z')


def unescape_mount(field):
    """mountinfo's octal escapes (\\040 for a blank)."""
    return re.sub(r'\\([0-7]{3})', lambda m: chr(int(m.group(1), 8)), field)


def mount_points(mountinfo_text):
    """Every mount point in /proc/self/mountinfo, in order."""
    points = []
    for line in (mountinfo_text or '').splitlines():
        fields = line.split()
        if len(fields) > 4:
            points.append(unescape_mount(fields[4]))
    return points


def own_mount_points(fstab_text):
    """The master's own filesystems: fstab's disk filesystems (not swap,
    not tmpfs, nfs or bind mounts)."""
    own = set(['/'])
    for line in (fstab_text or '').splitlines():
        fields = line.split()
        if len(fields) >= 3 and not fields[0].startswith('#') and \
                fields[2] in DISK_TYPES:
            own.add(unescape_mount(fields[1]).rstrip('/') or '/')
    return own


def foreign_mounts(mountinfo_text, fstab_text, source_root):
    """(rsync exclude patterns, problems) for what is mounted under the
    copied tree but is not one of the master's own filesystems: a running
    container's root under /var/lib/docker/devicemapper/mnt, its shm, a
    bind or network mount. Their contents are never copied as files."""
    root = source_root.rstrip('/')
    own = own_mount_points(fstab_text)
    patterns, problems = [], []
    for point in mount_points(mountinfo_text):
        if point != root and not point.startswith(root + '/'):
            continue
        inside = point[len(root):] or '/'
        if inside in own or any(inside == t or inside.startswith(t + '/')
                                for t in PSEUDO_TREES):
            continue
        if not SAFE_PATH.match(inside):
            problems.append('exclude: %s is mounted (not one of the '
                            'master\'s own filesystems) and its name has '
                            'characters an rsync pattern cannot hold '
                            'literally; unmount it first' % point)
            continue
        pattern = inside.rstrip('/') + '/*'
        if pattern not in patterns:
            patterns.append(pattern)
    return patterns, problems


MOUNTINFO = '/proc/self/mountinfo'


def note_foreign_mounts(facts, source_root, mountinfo=MOUNTINFO):
    """Adds to facts.foreign_mounts what is mounted now; a mount seen once
    stays excluded (its folder holds nothing of the master's own when it
    is gone). Returns the problems (names rsync cannot hold)."""
    patterns, problems = foreign_mounts(
        read_small(mountinfo, 1 << 22),
        read_small(os.path.join(source_root, 'etc/fstab')), source_root)
    known = list(facts.foreign_mounts)
    new = [p for p in patterns if p not in known]
    if new:
        facts.foreign_mounts = known + new
    return problems
