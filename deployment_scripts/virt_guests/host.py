"""Can this node take the guests? Checks over facts (pure), the readers of
those facts, and the one change apply makes to the node itself: fix_kvm
gives /dev/kvm to group kvm, mode 0660.

A refusal says what is short and by how much, so the operator can fix the
input or the node before anything is created.
"""
from __future__ import absolute_import, division, print_function

import collections
import grp
import os
import pwd
import re
import stat

from . import commands

KvmFacts = collections.namedtuple('KvmFacts', 'exists group mode')
HostFacts = collections.namedtuple('HostFacts', [
    'kvm', 'qemu_user', 'qemu_groups', 'bridges', 'mem_total_kib', 'cpu_count',
    'disk_free_bytes'])
LINUX, OVS = 'linux', 'ovs'
KVM_PATH = '/dev/kvm'
QEMU_CONF = '/etc/libvirt/qemu.conf'
DEFAULT_QEMU_USER = 'libvirt-qemu'  # Debian and Ubuntu builds of libvirt
GIB = 1024 ** 3
# A new qcow2 image holds its header, L1 and refcount tables: under 1 MiB
# up to a few TiB of virtual size (qemu-img measure says ~0.4 MiB for 70G).
QCOW2_NEW_IMAGE_BYTES = 1024 ** 2
QCOW2_GROWTH_MARGIN_BYTES = GIB  # room for the guests' first writes


def cpu_count():
    """The node's online CPUs (at least 1)."""
    # sysconf first: importing multiprocessing costs ~10 ms.
    try:
        return max(1, os.sysconf('SC_NPROCESSORS_ONLN'))
    except (AttributeError, ValueError, OSError):
        pass
    import multiprocessing
    try:
        return multiprocessing.cpu_count()
    except NotImplementedError:
        return 1


def parse_meminfo(text):
    """MemTotal in KiB from /proc/meminfo."""
    match = re.search(r'^MemTotal:\s+(\d+)\s*kB', text, re.MULTILINE)
    return int(match.group(1)) if match else None


def parse_qemu_user(text):
    """The user qemu runs as, from qemu.conf (commented out: the default)."""
    match = re.search(r'^\s*user\s*=\s*"([^"]+)"', text, re.MULTILINE)
    return match.group(1) if match else DEFAULT_QEMU_USER


def gib_text(nbytes):
    return '%.1f GiB' % (nbytes / float(GIB))


def check_kvm(kvm, qemu_user, qemu_groups):
    if not kvm.exists:
        return ['no %s: enable hardware virtualisation (VT-x/AMD-V) in the BIOS '
                'and load kvm_intel or kvm_amd' % KVM_PATH]
    if qemu_user == 'root' or kvm.mode & 0o006 == 0o006:
        return []
    if kvm.group in qemu_groups and kvm.mode & 0o060 == 0o060:
        return []
    return ['%s is group %s mode %04o, but qemu runs as %s (groups: %s): it needs '
            'group kvm mode 0660 and %s in group kvm'
            % (KVM_PATH, kvm.group, kvm.mode, qemu_user,
               ', '.join(sorted(qemu_groups)) or 'none', qemu_user)]


def check_bridges(settings, bridges, scheme_bridges):
    problems = []
    for name in settings.bridges:
        kind = bridges.get(name)
        hint = ('network_scheme has it: did netconfig run?' if name in scheme_bridges
                else 'not in network_scheme either: fix guest_bridges')
        if kind is None:
            problems.append('bridge %s is missing on this node (%s)' % (name, hint))
        elif name in settings.ovs_bridges and kind != OVS:
            problems.append('bridge %s is listed in guest_ovs_bridges but is a '
                            'Linux bridge: remove it from guest_ovs_bridges' % name)
        elif name not in settings.ovs_bridges and kind == OVS:
            problems.append('bridge %s is an Open vSwitch bridge: add it to '
                            'guest_ovs_bridges' % name)
    return problems


def check_memory(guests, settings, mem_total_kib):
    if settings.allow_mem_overcommit or mem_total_kib is None:
        return []
    guests_bytes = sum(guest.mem_mib for guest in guests) * 1024 ** 2
    reserve_bytes = settings.host_reserved_mem_gib * GIB
    have_bytes = mem_total_kib * 1024
    if guests_bytes + reserve_bytes <= have_bytes:
        return []
    return ['memory: guests need %s plus %s kept for the host, the node has %s: '
            'short by %s (lower mem, host_reserved_mem_gib, or allow over-commit)'
            % (gib_text(guests_bytes), gib_text(reserve_bytes), gib_text(have_bytes),
               gib_text(guests_bytes + reserve_bytes - have_bytes))]


def check_cpus(guests, cpu_count):
    # vCPUs are shared between guests; only a single guest larger than the
    # host cannot run well.
    return ['guest %s: %d vCPUs, the node has %d: short by %d'
            % (guest.name, guest.cpu, cpu_count, guest.cpu - cpu_count)
            for guest in guests if guest.cpu > cpu_count]


def check_disk(new_disks, free_bytes, settings):
    """Raw images (or strict_disk_space): their full size must be free.
    qcow2: what they take now (metadata) plus room to grow; the over-commit
    is a warning (disk_warnings)."""
    full = sum(new_disks)
    if settings.disk_format == 'raw' or settings.strict_disk_space:
        if full <= free_bytes:
            return []
        why = '' if settings.disk_format == 'raw' else ', strict_disk_space is on'
        return ['disk space in %s: new %s images need %s (full size%s), %s free: short by %s'
                % (settings.disk_dir, settings.disk_format, gib_text(full), why,
                   gib_text(free_bytes), gib_text(full - free_bytes))]
    if not new_disks:
        return []
    metadata = len(new_disks) * QCOW2_NEW_IMAGE_BYTES
    if metadata + QCOW2_GROWTH_MARGIN_BYTES <= free_bytes:
        return []
    return ['disk space in %s: new qcow2 images need %s now (%d MiB of metadata) plus '
            '%s to grow, %s free: short by %s'
            % (settings.disk_dir, gib_text(metadata), metadata // 1024 ** 2,
               gib_text(QCOW2_GROWTH_MARGIN_BYTES), gib_text(free_bytes),
               gib_text(metadata + QCOW2_GROWTH_MARGIN_BYTES - free_bytes))]


def disk_warnings(spec, facts, new_disks):
    """The qcow2 over-commit, when the new images could outgrow the disk."""
    settings, full = spec.settings, sum(new_disks)
    if settings.disk_format == 'raw' or settings.strict_disk_space:
        return []
    if full <= facts.disk_free_bytes:
        return []
    return ['disk space in %s: qcow2 images may grow to %s, %s free: over-committed by '
            '%s (guests pause if the disk fills; strict_disk_space refuses this)'
            % (settings.disk_dir, gib_text(full), gib_text(facts.disk_free_bytes),
               gib_text(full - facts.disk_free_bytes))]


def disk_dir_warnings(directory):
    """The disk folder (or what will hold it) writable by another user than
    the one running apply: a warning, not a refusal, since /var/lib/nova is
    nova's on a virt node that is also a compute node. Links and non-files
    at disk paths are refused whatever the folder (plan.py)."""
    while not os.path.lexists(directory):
        directory = os.path.dirname(directory)
    info = os.stat(directory)
    if info.st_uid == os.getuid() and not info.st_mode & 0o022:
        return []
    try:
        owner = pwd.getpwuid(info.st_uid).pw_name
    except KeyError:
        owner = str(info.st_uid)
    return ['guest_disk_dir: %s is owned by %s, mode %04o: users other than %s can '
            'plant files there; links and non-files at disk paths are refused, but a '
            'folder only root can write is safer' % (
                directory, owner, stat.S_IMODE(info.st_mode),
                'root' if os.getuid() == 0 else 'this user')]


def check_host(spec, facts, new_disks):
    """Every reason this node cannot take the guests, as sentences.
    new_disks: the full sizes (bytes) of the images apply would create."""
    return (check_kvm(facts.kvm, facts.qemu_user, facts.qemu_groups)
            + check_bridges(spec.settings, facts.bridges, spec.node.scheme_bridges)
            + check_memory(spec.guests, spec.settings, facts.mem_total_kib)
            + check_cpus(spec.guests, facts.cpu_count)
            + check_disk(new_disks, facts.disk_free_bytes, spec.settings))


def read_kvm(path=KVM_PATH):
    try:
        info = os.stat(path)
    except OSError:
        return KvmFacts(False, None, 0)
    try:
        group = grp.getgrgid(info.st_gid).gr_name
    except KeyError:
        group = str(info.st_gid)
    return KvmFacts(True, group, stat.S_IMODE(info.st_mode))


def user_groups(user):
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return frozenset()
    names = set(g.gr_name for g in grp.getgrall() if user in g.gr_mem)
    try:
        names.add(grp.getgrgid(entry.pw_gid).gr_name)
    except KeyError:
        pass
    return frozenset(names)


def bridge_kind(name):
    if os.path.isdir('/sys/class/net/%s/bridge' % name):
        return LINUX
    try:
        status, _, _ = commands.run(['ovs-vsctl', 'br-exists', name], timeout=20)
    except commands.CommandError:
        return None  # no Open vSwitch on this node
    return OVS if status == 0 else None


def free_bytes(directory):
    """Free space where directory is (or will be created)."""
    while not os.path.exists(directory):
        directory = os.path.dirname(directory)
    info = os.statvfs(directory)
    return info.f_bavail * info.f_frsize


def _read(path):
    try:
        with open(path) as stream:
            return stream.read()
    except (IOError, OSError):
        return ''


def read_facts(spec):
    qemu_user = parse_qemu_user(_read(QEMU_CONF))
    return HostFacts(
        kvm=read_kvm(), qemu_user=qemu_user, qemu_groups=user_groups(qemu_user),
        bridges=dict((name, bridge_kind(name)) for name in spec.settings.bridges),
        mem_total_kib=parse_meminfo(_read('/proc/meminfo')),
        cpu_count=cpu_count(),
        disk_free_bytes=free_bytes(spec.settings.disk_dir))


def fix_kvm(path=KVM_PATH):
    """Give /dev/kvm to group kvm, mode 0660, as the core task had to.
    Returns what was changed, or None."""
    kvm = read_kvm(path)
    if not kvm.exists or (kvm.group == 'kvm' and kvm.mode & 0o660 == 0o660):
        return None
    try:
        gid = grp.getgrnam('kvm').gr_gid
    except KeyError:
        return None  # no kvm group: check_kvm explains what is missing
    os.chown(path, -1, gid)
    os.chmod(path, kvm.mode | 0o660)
    return '%s was group %s mode %04o: now group kvm mode %04o' % (
        path, kvm.group, kvm.mode, kvm.mode | 0o660)
