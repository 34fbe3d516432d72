"""Pure functions behind the destination layout and the post-migrate fixes.
No I/O here: each takes text/values and returns text/values."""
from __future__ import absolute_import, division, print_function

import re

from master_migration import units

ROOT_LABEL = 'fuel-root'
SWAP_LABEL = 'fuel-swap'
PART_START_MIB = 1
# Enough for ext4 metadata (inodes, journal) over the data it holds.
FS_OVERHEAD_FACTOR = 1.10
FS_OVERHEAD_FIXED = 128 * units.MIB
# Source file systems that are not on the old master's disks: kept as they are.
NON_DISK_FS = ('proc', 'sysfs', 'tmpfs', 'devpts', 'devtmpfs', 'nfs', 'nfs4',
               'cifs', 'smbfs', 'cgroup', 'cgroup2', 'securityfs', 'debugfs',
               'hugetlbfs', 'mqueue', 'fuse', 'fusectl', 'binfmt_misc',
               'configfs', 'pstore', 'autofs', 'rpc_pipefs', 'none', 'bind')


def disk_layout(disk_bytes, swap_bytes):
    """MiB boundaries of the msdos partitions in the guest disk image."""
    disk_mib = disk_bytes // units.MIB
    swap_mib = swap_bytes // units.MIB
    root_end = disk_mib - swap_mib if swap_mib else disk_mib
    layout = {'disk_mib': disk_mib, 'root_start_mib': PART_START_MIB,
              'root_end_mib': root_end, 'swap_mib': swap_mib}
    layout['root_bytes'] = (root_end - PART_START_MIB) * units.MIB
    return layout


def bytes_needed_in_root(data_bytes):
    return int(data_bytes * FS_OVERHEAD_FACTOR) + FS_OVERHEAD_FIXED


def ext4_feature_options(mke2fs_version_text):
    """mkfs.ext4 -O options so the copy's own kernel and GRUB can read the
    file system (CentOS 7: kernel 3.10, GRUB 2.02), whatever e2fsprogs the
    virt node has."""
    match = re.search(r'mke2fs (\d+)\.(\d+)', mke2fs_version_text or '')
    if not match:
        return []
    version = (int(match.group(1)), int(match.group(2)))
    features = []
    if version >= (1, 43):
        features += ['^metadata_csum', '^metadata_csum_seed']
    if version >= (1, 47):
        features += ['^orphan_file']
    return ['-O', ','.join(features)] if features else []


def rewrite_fstab(text, root_uuid, swap_uuid=None):
    """Root (and swap) by UUID of the new partitions; other local disk file
    systems are commented out (their data is merged into the root)."""
    out = ['# fstab rewritten by rf-migrate-master for the guest disk; the',
           '# original is /etc/fstab.rf-premigrate',
           'UUID=%s / ext4 defaults 0 1' % root_uuid]
    if swap_uuid:
        out.append('UUID=%s none swap sw 0 0' % swap_uuid)
    for line in text.splitlines():
        fields = line.split()
        if not fields or fields[0].startswith('#') or len(fields) < 3:
            out.append(line)
        elif fields[2] in NON_DISK_FS or fields[0].startswith('//') or (
                ':' in fields[0] and not fields[0].startswith('UUID')):
            out.append(line)
        else:
            out.append('# merged into / by rf-migrate-master: ' + line)
    return '\n'.join(out) + '\n'


# Kernel arguments that name the old disk's LVM: dracut waits for each
# rd.lvm.lv (CentOS 7's anaconda writes rd.lvm.lv=os/root rd.lvm.lv=os/swap)
# until it times out into its emergency shell; the copy's root is a plain
# partition. resume= names the old swap LV.
OLD_DISK_ARGS = re.compile(r'^(rd\.lvm\.lv|rd\.lvm\.vg|rd_LVM_LV|rd_LVM_VG|'
                           r'resume)=')
GRUB_CMDLINE = re.compile(r'^(GRUB_CMDLINE_LINUX(?:_DEFAULT)?=)(["\']?)'
                          r'([^"\'$`\\]*)\2\s*\Z')


def rewrite_default_grub(text, swap_uuid=None):
    """/etc/default/grub with GRUB_CMDLINE_LINUX(_DEFAULT) rid of what
    names the old disk's LVM; resume= names the new swap partition, if
    any. A line with shell expansions or quotes inside is left alone.
    Unchanged text when there is nothing to change."""
    out, changed = [], False
    for line in text.splitlines():
        match = GRUB_CMDLINE.match(line.strip())
        words = match.group(3).split() if match else []
        kept = [w for w in words if not OLD_DISK_ARGS.match(w)]
        if kept == words:
            out.append(line)
            continue
        if swap_uuid and any(w.startswith('resume=') for w in words):
            kept.append('resume=UUID=%s' % swap_uuid)
        out.append('# rf-migrate-master: the old disk\'s LVM dropped from: '
                   + line.strip())
        out.append('%s"%s"' % (match.group(1), ' '.join(kept)))
        changed = True
    return '\n'.join(out) + '\n' if changed else text


# Written by the cheap fixes; kept out of the final sync and re-applied
# from the source after it.
CHEAP_FIXED = ['etc/default/grub', 'etc/default/grub.rf-premigrate',
               'etc/fstab', 'etc/fstab.rf-premigrate', 'etc/mtab',
               'etc/motd', 'etc/rf-migrated-master',
               'etc/udev/rules.d/70-rf-migrated-net.rules']


# A final-sync change under these makes the boot loader step run again.
BOOT_INPUTS = ('boot/', 'lib/modules/', 'usr/lib/modules/',
               'etc/default/grub', 'etc/dracut.conf', 'etc/initramfs-tools/',
               'etc/kernel/')


def boot_inputs_touched(items):
    """Names among rsync's itemized (code, name) pairs that the boot
    loader, initramfs or GRUB config depend on. A folder whose only change
    is its time (the fixes wrote into it) does not count."""
    return [name for code, name in items
            if name.startswith(BOOT_INPUTS) and
            (code[1:2] != 'd' or code.startswith('*'))]


def udev_net_rules(nics):
    """Pin each carried NIC's old name to its (unchanged) MAC address."""
    lines = ['# Written by rf-migrate-master: the guest NICs carry the old '
             'master\'s MACs;', '# keep their old names so the network '
             'configuration still applies.']
    for nic in nics:
        lines.append('SUBSYSTEM=="net", ACTION=="add", ATTR{address}=="%s", '
                     'NAME="%s"' % (nic['mac'], nic['interface']))
    return '\n'.join(lines) + '\n'


def marker_text(values):
    return ''.join('%s=%s\n' % (k, values[k]) for k in sorted(values))


def motd_text(original, guest, destination, date):
    banner = ('This Fuel master was migrated by rf-migrate-master into guest '
              '%s on %s (%s).\n' % (guest, destination, date))
    if original and not original.endswith('\n'):
        original += '\n'
    return (original or '') + banner


def interim_mac(mac):
    """A locally administered unicast MAC for the old master's admin NIC
    while the guest uses the real one (no duplicate MAC on the bridge)."""
    octets = [int(o, 16) for o in mac.split(':')]
    first = (octets[0] | 0x02) & 0xFE
    if first == octets[0]:
        first ^= 0x04
    return ':'.join('%02x' % o for o in [first] + octets[1:])
