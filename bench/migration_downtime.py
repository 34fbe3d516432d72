#!/usr/bin/env python3
"""Downtime of rf-migrate-master's two-phase sync against the old tool's
one-pass stop-then-copy, and full-sync throughput against `cp -a`, on a
generated data set (~1 GB, tens of thousands of files, ~1% changing while
the warm sync runs). Everything measured in this run, on this disk.

The copies use the script's own rsync command lines (master_migration.
rsyncing) over real ssh (own sshd on 127.0.0.1:2298) into loop-mounted
ext4 images, as on a virt node.

    python3 bench/migration_downtime.py [--files 30000] [--megabytes 1024]
"""
import argparse
import os
import pathlib
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / 'migration'))

from master_migration import rsyncing  # noqa: E402

PORT = 2298


def sh(*argv, **kw):
    return subprocess.run([str(a) for a in argv], check=True,
                          capture_output=True, text=True, **kw)


def generate(root, files, megabytes, seed=42):
    rng = random.Random(seed)
    pool = os.urandom(16 << 20)
    mean = (megabytes << 20) // files
    paths = []
    for i in range(files):
        folder = root / ('d%03d' % (i % 300)) / ('s%02d' % (i % 17))
        folder.mkdir(parents=True, exist_ok=True)
        size = max(1, int(rng.expovariate(1.0 / mean)))
        size = min(size, 8 << 20)
        start = rng.randrange(0, len(pool) - size)
        path = folder / ('f%06d' % i)
        path.write_bytes(pool[start:start + size])
        paths.append(path)
    return paths


def change_some(paths, fraction, seed, stop_after_s):
    """The 'services' writing while the warm sync runs: rewrite a fraction of
    the files, spread over the sync."""
    rng = random.Random(seed)
    chosen = rng.sample(paths, int(len(paths) * fraction))
    pause = stop_after_s / max(1, len(chosen))
    changed_bytes = 0
    for path in chosen:
        data = os.urandom(path.stat().st_size)
        path.write_bytes(data)
        changed_bytes += len(data)
        time.sleep(pause)
    return len(chosen), changed_bytes


class Image:
    def __init__(self, folder, name, size_gb):
        self.path = folder / (name + '.img')
        self.mnt = folder / (name + '.mnt')
        sh('truncate', '-s', '%dG' % size_gb, self.path)
        sh('mkfs.ext4', '-q', '-F', self.path)
        self.mnt.mkdir()
        sh('mount', '-o', 'loop', self.path, self.mnt)

    def close(self):
        subprocess.run(['umount', str(self.mnt)])


class Sshd:
    def __init__(self, home):
        self.home = home
        key, client = home / 'host', home / 'client'
        for k in (key, client):
            sh('ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', k)
        shutil.copy(str(client) + '.pub', home / 'auth')
        pub = (home / 'host.pub').read_text().split()
        (home / 'known').write_text('[127.0.0.1]:%d %s %s\n' % (
            PORT, pub[0], pub[1]))
        (home / 'cfg').write_text(
            'Port %d\nListenAddress 127.0.0.1\nHostKey %s\n'
            'AuthorizedKeysFile %s\nPermitRootLogin prohibit-password\n'
            'UsePAM no\nStrictModes no\nPidFile %s\n' % (
                PORT, key, home / 'auth', home / 'pid'))
        os.makedirs('/run/sshd', exist_ok=True)
        self.proc = subprocess.Popen(['/usr/sbin/sshd', '-D', '-f',
                                      str(home / 'cfg')])
        time.sleep(0.5)
        self.rsh = ('ssh -p %d -o BatchMode=yes -o StrictHostKeyChecking=yes '
                    '-o UserKnownHostsFile=%s -i %s -l root' % (
                        PORT, home / 'known', client))

    def close(self):
        self.proc.terminate()
        self.proc.wait()


def timed(argv):
    started = time.time()
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode not in (0, rsyncing.VANISHED):
        raise RuntimeError('%s: %s' % (argv[:3], result.stderr))
    return time.time() - started, result.stdout


def rsync_sync(source, rsh, mnt):
    return timed(rsyncing.sync_argv(str(source), [], rsh,
                                    '127.0.0.1:%s' % mnt))


def rsync_verify(source, rsh, mnt):
    seconds, out = timed(rsyncing.verify_argv(str(source), [], rsh,
                                              '127.0.0.1:%s' % mnt))
    assert not rsyncing.differences(out), 'copy differs after final sync'
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--files', type=int, default=30000)
    parser.add_argument('--megabytes', type=int, default=1024)
    parser.add_argument('--changing', type=float, default=0.01)
    args = parser.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix='rfm-bench-', dir='/var/tmp'))
    cleanup = []
    try:
        run(args, work, cleanup)
    finally:
        for close in reversed(cleanup):
            close()
        shutil.rmtree(work, ignore_errors=True)


def run(args, work, cleanup):
    source = work / 'source'
    started = time.time()
    paths = generate(source, args.files, args.megabytes)
    total = sum(p.stat().st_size for p in paths)
    print('data set: %d files, %.0f MiB (generated in %.1f s)' % (
        len(paths), total / 2 ** 20, time.time() - started))
    (work / 'ssh-home').mkdir()
    sshd = Sshd(work / 'ssh-home')
    cleanup.append(sshd.close)
    images = {}
    for name in ('twophase', 'onepass', 'cp'):
        images[name] = Image(work, name, 3)
        cleanup.append(images[name].close)
    sh('sync')

    # Two-phase: warm sync while ~1% changes, then stop, final + verify.
    warm_box = {}
    warm = threading.Thread(target=lambda: warm_box.update(
        zip(('seconds', 'out'), rsync_sync(source, sshd.rsh,
                                           images['twophase'].mnt))))
    warm.start()
    changed, changed_bytes = change_some(paths, args.changing, 7, 3.0)
    warm.join()
    final_s, _ = rsync_sync(source, sshd.rsh, images['twophase'].mnt)
    verify_s = rsync_verify(source, sshd.rsh, images['twophase'].mnt)
    two_phase = final_s + verify_s
    # One pass, the old tool's way: everything stopped for the whole copy.
    one_pass, _ = rsync_sync(source, sshd.rsh, images['onepass'].mnt)
    sh('sync')
    cp_started = time.time()
    sh('cp', '-a', str(source) + '/.', images['cp'].mnt)
    sh('sync')
    cp_s = time.time() - cp_started
    mib = total / 2 ** 20
    print('changed during the warm sync: %d files, %.1f MiB' % (
        changed, changed_bytes / 2 ** 20))
    print('warm sync (services running): %.1f s, %.0f MiB/s' % (
        warm_box['seconds'], mib / warm_box['seconds']))
    print('two-phase downtime: final sync %.1f s + checksum verification '
          '%.1f s = %.1f s' % (final_s, verify_s, two_phase))
    print('one-pass downtime (stop, then copy everything): %.1f s' % one_pass)
    print('downtime ratio one-pass / two-phase: %.1fx (%.1fx without the '
          'verification pass)' % (one_pass / two_phase, one_pass / final_s))
    print('full sync over ssh: %.0f MiB/s; cp -a on the same disk: %.1f s, '
          '%.0f MiB/s; throughput rsync/cp: %.2f' % (
              mib / one_pass, cp_s, mib / cp_s, cp_s / one_pass))


if __name__ == '__main__':
    main()
