"""The migration test lab: the "old master" in netns rfm-master on bridge
rfm-adm (10.98.0.2), the destination = this host over real ssh
(10.98.0.1:2298, own sshd) with the real libvirtd."""
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import threading
import time

import yaml

from lab import hostlab, virt

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
NETNS, GUEST_NS = 'rfm-master', 'rfm-guest'
ADMIN_BR, PUB_BR = 'rfm-adm', 'rfm-pub'
HOST_IP, MASTER_IP, INTERIM_IP = '10.98.0.1', '10.98.0.2', '10.98.0.3'
ADMIN_MAC, PUB_MAC = '52:54:00:98:00:02', '52:54:00:98:01:02'
SSH_PORT = 2298
IMAGES = pathlib.Path('/var/lib/libvirt/images')


def sh(*argv, check=True, **kw):
    return subprocess.run([str(a) for a in argv], check=check,
                          capture_output=True, text=True, **kw)


def ns(*argv, check=True, netns=NETNS):
    return sh('ip', 'netns', 'exec', netns, *argv, check=check)


def virsh(*argv, check=False):
    return sh('virsh', '-c', virt.URI, *argv, check=check)


def remove_network():
    for name in (NETNS, GUEST_NS):
        hostlab.remove_netns(name)
    for link in ('rfm-m0', 'rfm-m1', 'rfm-g0', ADMIN_BR, PUB_BR):
        hostlab.remove_link(link)


def make_network():
    """The admin and public bridges, and the old master's netns on both."""
    remove_network()
    hostlab.make_bridge(ADMIN_BR, HOST_IP + '/24')
    hostlab.make_bridge(PUB_BR)
    hostlab.make_netns(NETNS, ADMIN_BR, 'rfm-m0', 'eth0', ADMIN_MAC,
                       MASTER_IP + '/24')
    hostlab.add_nic(NETNS, PUB_BR, 'rfm-m1', 'eth1', PUB_MAC)


class Sshd(hostlab.Sshd):
    """The destination's sshd: HOST_IP:SSH_PORT on the admin bridge."""

    def __init__(self, home):
        super(Sshd, self).__init__(home, HOST_IP, SSH_PORT)


def make_tree(root):
    """A master's data tree with every kind of file the copy must keep."""
    root = pathlib.Path(root)
    (root / 'etc/fuel').mkdir(parents=True)
    (root / 'etc/fuel/astute.yaml').write_text(yaml.safe_dump({
        'ADMIN_NETWORK': {'interface': 'eth0', 'ipaddress': MASTER_IP,
                          'netmask': '255.255.255.0', 'mac': ADMIN_MAC,
                          'cidr': '10.98.0.0/24'},
        'HOSTNAME': 'fuel'}))
    (root / 'etc/fstab').write_text(
        '/dev/mapper/os-root / ext4 defaults 0 1\n'
        '/dev/mapper/os-var /var ext4 defaults 0 2\n'
        'UUID=1111-2222 /boot ext2 defaults 0 2\n'
        '/dev/mapper/os-swap swap swap defaults 0 0\n'
        'proc /proc proc defaults 0 0\n')
    (root / 'etc/motd').write_text('Fuel master\n')
    for top in ('proc', 'sys', 'dev', 'run', 'tmp'):
        (root / top).mkdir()
    (root / 'proc/cpuinfo').write_text('not to be copied')
    (root / 'tmp/junk').write_text('not to be copied')
    (root / 'run/pidfile').write_text('1')
    data = root / 'var/lib/fuel'
    data.mkdir(parents=True)
    for i in range(1500):
        (data / ('f%04d' % i)).write_bytes(os.urandom(64 + i % 700))
    (data / 'big.bin').write_bytes(os.urandom(6 << 20))
    owned = data / 'owned'
    owned.write_text('owner 1234:2345 mode 0640')
    os.chown(owned, 1234, 2345)
    os.chmod(owned, 0o640)
    setuid = data / 'setuid'
    setuid.write_text('#!/bin/sh\n')
    os.chmod(setuid, 0o4755)
    sticky = data / 'sticky'
    sticky.mkdir()
    os.chmod(sticky, 0o1777)
    (data / 'hard-a').write_text('hard linked three times')
    os.link(data / 'hard-a', data / 'hard-b')
    os.link(data / 'hard-a', root / 'etc/hard-c')
    os.symlink('hard-a', data / 'link-rel')
    os.symlink('/etc/fuel/astute.yaml', data / 'link-abs')
    os.symlink('/nowhere', data / 'link-dangling')
    x = data / 'xattrs'
    x.write_text('with xattrs and an ACL')
    os.setxattr(x, 'user.rfm', b'value-1')
    os.setxattr(x, 'trusted.rfm', b'value-2')
    sh('setfacl', '-m', 'u:1234:rw,g:2345:r', x)
    sparse = data / 'sparse.img'
    with open(sparse, 'wb') as handle:
        handle.truncate(64 << 20)
        handle.seek(32 << 20)
        handle.write(b'data in the middle' * 100)
    os.mkfifo(data / 'fifo')
    os.mknod(data / 'null-dev', 0o20666, os.makedev(1, 3))
    (data / 'empty-dir').mkdir()
    (data / 'name with spaces é').write_text('odd name')
    os.utime(data / 'f0001', (1000000000, 1000000000))
    return root


def manifest(root, skip=()):
    """Everything rsync -aAXHS must keep, per relative path."""
    root = pathlib.Path(root)
    entries, inodes = {}, {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = pathlib.Path(dirpath) / name
            rel = str(path.relative_to(root))
            if any(rel == s or rel.startswith(s + '/') for s in skip):
                continue
            entries[rel] = describe(path, inodes, rel)
    return entries


def describe(path, inodes, rel):
    st = os.lstat(path)
    entry = {'mode': oct(st.st_mode), 'uid': st.st_uid, 'gid': st.st_gid,
             'xattrs': sorted((k, os.getxattr(path, k, follow_symlinks=False))
                              for k in os.listxattr(path,
                                                    follow_symlinks=False))}
    if os.path.islink(path):
        entry['target'] = os.readlink(path)
    elif path.is_file():
        import hashlib
        entry['sha256'] = hashlib.sha256(path.read_bytes()).hexdigest()
        entry['size'] = st.st_size
        entry['mtime'] = int(st.st_mtime)
        if st.st_nlink > 1:
            entry['hardlink_group'] = inodes.setdefault(st.st_ino, rel)
    elif path.is_char_device() or path.is_block_device():
        entry['rdev'] = st.st_rdev
    return entry


def hardlink_groups(entries):
    groups = {}
    for rel, entry in entries.items():
        if 'hardlink_group' in entry:
            groups.setdefault(entry.pop('hardlink_group'), set()).add(rel)
    return sorted(sorted(g) for g in groups.values())


class Mounted:
    """The guest image's root partition, mounted read-only on the host."""

    def __init__(self, image, mnt):
        self.image, self.mnt = image, pathlib.Path(mnt)

    def __enter__(self):
        self.mnt.mkdir(parents=True, exist_ok=True)
        sh('mount', '-o', 'ro,loop,offset=%d' % (1 << 20), self.image,
           self.mnt)
        return self.mnt

    def __exit__(self, *exc):
        sh('umount', self.mnt, check=False)


def loops_of(image):
    out = sh('losetup', '-j', image, check=False).stdout
    return [line.split(':')[0] for line in out.splitlines() if line]


def mounts_under(path):
    return [line.split()[1] for line in open('/proc/mounts')
            if line.split()[1].startswith(str(path))]


def clean_disk_dir(disk_dir):
    for mnt in sorted(mounts_under(disk_dir), reverse=True):
        sh('umount', '-l', mnt, check=False)
    for image in pathlib.Path(disk_dir).glob('*.img'):
        for dev in loops_of(image):
            sh('losetup', '-d', dev, check=False)
    shutil.rmtree(disk_dir, ignore_errors=True)


def records(path):
    """(numbers of every 'rec' line, the number in the 'stop' line or None)
    in the order written."""
    recs, stops = [], []
    for line in pathlib.Path(path).read_text().splitlines():
        kind, number = line.split()[:2]
        (recs if kind == 'rec' else stops).append(int(number))
    return recs, stops


class Watcher:
    """A context that polls something in a background thread (`_watch`,
    which returns once `stop_flag` is set) while a migration runs."""

    def __init__(self):
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_flag.set()
        self.thread.join(5)


class StandIn(Watcher):
    """When the guest runs, put a responder at the admin address (netns
    rfm-guest): the tree is no OS; the boot-proof tests boot a real one."""

    def __init__(self, name, api_port):
        self.name, self.api_port = name, api_port
        self.proc = None
        super().__init__()

    def _watch(self):
        while not self.stop_flag.is_set():
            if virsh('domstate', self.name).stdout.strip() == 'running':
                self._start()
                return
            time.sleep(0.3)

    def _start(self):
        # The guest's answer at the admin address, with the admin MAC.
        hostlab.make_netns(GUEST_NS, ADMIN_BR, 'rfm-g0', 'eth0', None,
                           MASTER_IP + '/24')
        self.proc = subprocess.Popen(
            ['ip', 'netns', 'exec', GUEST_NS, sys.executable,
             str(HERE / 'responder.py'), str(self.api_port)])

    def __exit__(self, *exc):
        super().__exit__(*exc)
        if self.proc:
            self.proc.kill()
            self.proc.wait()
        sh('ip', 'netns', 'del', GUEST_NS, check=False)
        sh('ip', 'link', 'del', 'rfm-g0', check=False)


class AddressWatch(Watcher):
    """Polls the old master's eth0 during a run: did it ever give the admin
    address away (and hold the interim one instead)?"""

    def __init__(self):
        self.seen_released = False
        super().__init__()

    def _watch(self):
        while not self.stop_flag.is_set():
            out = ns('ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0',
                     check=False).stdout
            if INTERIM_IP + '/' in out and MASTER_IP + '/' not in out:
                self.seen_released = True
            time.sleep(0.2)


def master_addresses():
    return ns('ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0').stdout


def master_mac():
    return ns('cat', '/sys/class/net/eth0/address').stdout.strip()


def write_config(path, cfg):
    pathlib.Path(path).write_text(yaml.safe_dump(cfg))
    return path


def state_of(work_dir):
    path = pathlib.Path(work_dir) / 'state.json'
    return json.loads(path.read_text()) if path.exists() else None


def kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


# -- what the suites assert about a run ---------------------------------------

CHANGED_BY_POST_MIGRATE = ['etc/fstab', 'etc/fstab.rf-premigrate',
                           'etc/mtab', 'etc/motd', 'etc/rf-migrated-master',
                           'etc/udev']
EXCLUDED_CONTENT = ['proc/cpuinfo', 'tmp/junk', 'run/pidfile']


def assert_exact_copy(master, image, mnt, source_moved_on=False):
    # After a rollback the writer runs again: its folder moved on (records
    # are then checked as a prefix instead).
    moved = ['var/lib/writer'] if source_moved_on else []
    source = manifest(master['root'], skip=EXCLUDED_CONTENT +
                      CHANGED_BY_POST_MIGRATE + moved)
    with Mounted(image, mnt) as copy_root:
        copy = manifest(copy_root, skip=['lost+found'] +
                        CHANGED_BY_POST_MIGRATE + moved)
        sparse = (copy_root / 'var/lib/fuel/sparse.img').stat()
        copy_records = records(copy_root / 'var/lib/writer/records.log')
        fstab = (copy_root / 'etc/fstab').read_text()
        mtab_target = (copy_root / 'etc/mtab').readlink()
        marker = (copy_root / 'etc/rf-migrated-master').read_text()
    source_links = hardlink_groups(source)  # strips the group keys
    assert hardlink_groups(copy) == source_links == [
        ['etc/hard-c', 'var/lib/fuel/hard-a', 'var/lib/fuel/hard-b']]
    assert sorted(set(source) ^ set(copy)) == []
    differing = [k for k in source if source[k] != copy[k]]
    assert differing == []
    assert sparse.st_blocks * 512 < 1 << 20, 'sparse file was filled'
    assert 'UUID=' in fstab.splitlines()[2] and ' / ext4 ' in fstab
    assert str(mtab_target) == '../proc/self/mounts'
    assert 'source_address=%s' % MASTER_IP in marker
    return copy_records


def assert_records_complete(copy_records, source_log):
    recs, stops = copy_records
    assert stops, 'the writer was never stopped before the final sync'
    assert recs == list(range(1, stops[-1] + 1)), 'records lost or reordered'
    source_recs, _ = records(source_log)
    assert source_recs[:len(recs)] == recs


def writer_running(master):
    before = records(master['root'] / 'var/lib/writer/records.log')[0]
    time.sleep(0.5)
    after = records(master['root'] / 'var/lib/writer/records.log')[0]
    return len(after) > len(before)
