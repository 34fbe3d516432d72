#!/usr/bin/env python3
"""Downtime of rf-migrate-master's two-phase sync against the old tool's
one-pass stop-then-copy, and full-sync throughput against `cp -a`, on a
generated data set (~1 GB, tens of thousands of files; 1% of them rewritten
every 3 s while the "services" run: warm sync and checksum pass). Three
runs by default; everything measured in this run, on this disk.

The copies use the script's own rsync command lines (master_migration.
rsyncing) over real ssh (own sshd on 127.0.0.1:2298) into loop-mounted
ext4 images, as on a virt node.

    python3 bench/migration_downtime.py [--files 30000] [--megabytes 1024]
                                        [--runs 3] [--final-option=--whole-file]
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
sys.path.insert(0, str(REPO / 'tests'))
from lab.paths import MIGRATION, put_on_sys_path  # noqa: E402
put_on_sys_path(MIGRATION)

from lab import hostlab  # noqa: E402
from master_migration import manifest, manifest_walk  # noqa: E402
from master_migration import remote_sh, rsyncing  # noqa: E402
from master_migration.commands import Commands, shell_words  # noqa: E402

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


def change_some(paths, fraction, seed, period_s, stop):
    """The 'services' writing until they are stopped: rewrite a fraction of
    the files every period_s seconds (same size, new bytes)."""
    rng = random.Random(seed)
    chosen = rng.sample(paths, int(len(paths) * fraction))
    pause = period_s / max(1, len(chosen))
    changes = changed_bytes = 0
    while not stop.is_set():
        path = chosen[changes % len(chosen)]
        data = os.urandom(path.stat().st_size)
        path.write_bytes(data)
        changes += 1
        changed_bytes += len(data)
        time.sleep(pause)
    return changes, changed_bytes


class Image:
    def __init__(self, folder, name, size_gb):
        self.path = folder / (name + '.img')
        self.mnt = folder / (name + '.mnt')
        sh('truncate', '-s', '%dG' % size_gb, self.path)
        sh('mkfs.ext4', '-q', '-F', self.path)
        self.mnt.mkdir()
        sh('mount', '-o', 'loop', self.path, self.mnt)

    def close(self):
        if self.mnt.is_mount():
            subprocess.run(['umount', str(self.mnt)])


class Sshd(hostlab.Sshd):
    """The tests' own sshd (tests/lab) on 127.0.0.1, and the rsync shell
    that reaches it with its key checked."""

    def __init__(self, home):
        super().__init__(home, '127.0.0.1', PORT)
        self.start()
        self.rsh = ('ssh -p %d -o BatchMode=yes -o StrictHostKeyChecking=yes '
                    '-o UserKnownHostsFile=%s -i %s -l root' % (
                        PORT, self.known_hosts, self.client_key))


def timed(argv, input_bytes=None, ok_codes=(0, rsyncing.VANISHED)):
    """(seconds, stdout, exit status)."""
    started = time.time()
    result = subprocess.run(argv, capture_output=True, input=input_bytes)
    if result.returncode not in ok_codes:
        raise RuntimeError('%s: %s' % (argv[:3], result.stderr))
    return (time.time() - started, result.stdout.decode('utf-8', 'replace'),
            result.returncode)


# While the services run, a file rewritten as rsync reads it gives exit 23;
# the script's warm sync and checksum rounds go on (and send it again).
WHILE_RUNNING = (0, rsyncing.VANISHED, rsyncing.PARTIAL)


def rsync_sync(source, rsh, mnt, extra=(), input_bytes=None,
               ok_codes=WHILE_RUNNING):
    """(seconds, files sent, exit status)."""
    seconds, out, status = timed(rsyncing.sync_argv(
        str(source), [], rsh, '127.0.0.1:%s' % mnt, extra), input_bytes, ok_codes)
    return seconds, rsyncing.sent_files(rsyncing.itemized(out.split('\n'))), status


def checksum_pass(source, rsh, mnt, rounds=3):
    """As the checksum_pass step: all files, then what the round before
    sent, until a round sends nothing (a listed round may end in exit 23:
    a file rewritten while read, as the step allows)."""
    started = time.time()
    extra, listed = ['--checksum', '--itemize-changes'], None
    for number in range(1, rounds + 1):
        _, sent, status = rsync_sync(source, rsh, mnt, extra, listed)
        if listed is None and status == rsyncing.PARTIAL:
            continue  # as the step: a first round that was not whole again
        if not sent:
            break
        extra = ['--checksum', '--itemize-changes', '--from0',
                 '--files-from=-']
        listed = rsyncing.files_from_input(sent)
    return time.time() - started, number, sent


def listed_checksums(started, source, names):
    present = [n for n in names if os.path.lexists(source / n)]
    if not present:
        return ''
    return started.finish(rsyncing.files_from_input(present), 600,
                          (0, rsyncing.VANISHED)).stdout


def start_ahead(source, rsh, mnt, extra=()):
    """As steps.start_ahead: the delta's rsync, the copy's walker of the
    touched names and the checksums' rsync, started before the source's
    listing, their names on stdin later."""
    target = '127.0.0.1:%s' % mnt
    commands = Commands()
    return {'sync': commands.start(rsyncing.listed_sync_argv(
        str(source), [], rsh, target, '-',
        ['--itemize-changes'] + list(extra))),
        'names': commands.start(rsh.split() + ['127.0.0.1', shell_words(
            manifest.stdin_names_argv(str(mnt)))]),
        'sums': commands.start(rsyncing.listed_verify_argv(
            str(source), rsh, target))}


def on_copy(rsh, words, input_bytes):
    argv = rsh.split() + ['127.0.0.1', shell_words(words)]
    return subprocess.run(argv, check=True, capture_output=True,
                          input=input_bytes).stdout.decode()


def copy_listing(rsh, mnt, mode):
    return on_copy(rsh, manifest.remote_argv(str(mnt), mode, EXCLUDES),
                   manifest.walker_source())


def final_by_delta(source, rsh, mnt, copy, snapshot, extra=()):
    """As steps.final_sync_and_verify's first part: the commands started
    ahead; the source's listing (what changed since `snapshot`, made
    before the stop, read again) against the copy's (made before the
    stop), the deletions, then the names that differ given to the rsync
    started ahead. Returns the seconds, the start's and the listing's
    shares, the names listed, the files sent, the delta, both listings
    parsed and the commands started ahead."""
    started = time.time()
    ahead = start_ahead(source, rsh, mnt, extra)
    start_s = time.time() - started
    listing = manifest.source_listing(str(source), EXCLUDES, snapshot)
    listings_s = time.time() - started - start_s
    ours, theirs = manifest.parse_both(listing.decode('utf-8', 'replace'),
                                       copy)
    found = send, files, folders = manifest.parsed_delta(ours, theirs)
    for names, command in ((files, ['rm', '-f']), (folders, ['rmdir'])):
        if names:
            on_copy(rsh, ['sh', '-c', remote_sh.REMOVE_NAMES, 'sh', str(mnt)]
                    + command, rsyncing.files_from_input(names))
    out = []
    ahead['sync'].stream(rsyncing.files_from_input(send), out.append, 600,
                         (0, rsyncing.VANISHED))
    sent = rsyncing.sent_files(rsyncing.itemized(''.join(out).split('\n')))
    return (time.time() - started, start_s, listings_s, len(send), sent,
            found, ours, theirs, ahead)


EXCLUDES = ['/lost+found']  # of the script's defaults, the one here


def expected_copy(walker, known):
    """As steps.expected_copy: the touched names listed again on the copy
    by the walker started ahead (None: one is hard-linked; steps lists
    the whole copy then)."""
    lines = manifest.named_listing(walker, known[1], 600)
    return None if lines is None else manifest.expected(known, lines)


def verify(source, rsh, mnt, names, ahead, known=None, first=None):
    """As steps.verify: the source's listing, the copy's digest (or, with
    `known`, the touched names listed again on both sides, the rest of
    the source's from `first`) and the checksums of the names, at once;
    the total and each part's time."""
    took = {}

    def part(name, call):
        started = time.time()
        took[name] = call()
        return time.time() - started
    started = time.time()
    parts = manifest.in_parallel(
        lambda: part('source', lambda: manifest.expected_source(
            str(source), EXCLUDES, first, known[1]) if known
            else manifest.source_listing(str(source), EXCLUDES)),
        lambda: part('copy', lambda: expected_copy(ahead['names'], known)
                     if known else copy_listing(rsh, mnt, 'digest')),
        lambda: part('listed', lambda: listed_checksums(
            ahead['sums'], source, names)))
    total = time.time() - started
    if known:
        diffs = manifest.parsed_differences(took['source'], took['copy'])
    else:
        diffs = manifest.compare(took['source'], took['copy'], lambda: '')
    assert not diffs + rsyncing.differences(took['listed']), 'copy differs'
    return total, parts


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--files', type=int, default=30000)
    parser.add_argument('--megabytes', type=int, default=1024)
    parser.add_argument('--changing', type=float, default=0.01)
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--final-option', action='append', default=[],
                        help='added to the final sync by the delta (e.g. '
                        '--whole-file), to measure it')
    args = parser.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix='rfm-bench-', dir='/var/tmp'))
    cleanup = []
    try:
        run(args, work, cleanup)
    finally:
        for close in reversed(cleanup):
            close()
        shutil.rmtree(work, ignore_errors=True)


def two_phase(paths, source, rsh, mnt, args, seed):
    """Warm sync, checksum pass, ssh connection and the copy's listing
    while the 'services' write, then the downtime: final sync +
    verification."""
    stop = threading.Event()
    box = {}
    writer = threading.Thread(target=lambda: box.update(changes=change_some(
        paths, args.changing, seed, 3.0, stop)))
    writer.start()
    warm_s = rsync_sync(source, rsh, mnt)[0]
    check_s, rounds, unsettled = checksum_pass(source, rsh, mnt)
    # as steps.stop_services: one ssh connection, and the copy's listing,
    # before the stop
    started = time.time()
    control = ['-o', 'ControlPath=%s' % (pathlib.Path(mnt).parent / 'ctl')]
    sh(*(rsh.split() + control + ['-o', 'ControlMaster=yes', '-o',
                                  'ControlPersist=600', '127.0.0.1', 'true']))
    shared = ' '.join([rsh] + control + ['-o', 'ControlMaster=no'])
    connect_s = time.time() - started
    started = time.time()
    snapshot = manifest_walk.Snapshot()
    copy = manifest.in_parallel(
        lambda: copy_listing(shared, mnt, 'lines'),
        lambda: manifest.source_listing(str(source), EXCLUDES,
                                        keep=snapshot))[0]
    before_stop_s = time.time() - started
    stop.set()
    writer.join()
    (final_s, start_s, listings_s, listed, sent, found, first, before,
     ahead) = final_by_delta(source, shared, mnt, copy, snapshot,
                             args.final_option)
    known = manifest.after_delta(before, found)
    try:
        verify_s, parts = verify(source, shared, mnt, sorted(set(
            unsettled + sent)), ahead, known, first)
    finally:
        for command in ahead.values():
            command.stop()
    sh(*(rsh.split() + control + ['-O', 'exit', '127.0.0.1']))
    return {'warm': warm_s, 'check': check_s, 'rounds': rounds,
            'connect': connect_s, 'before_stop': before_stop_s,
            'final': final_s, 'verify': verify_s,
            'listings': listings_s, 'listed': listed, 'start': start_s,
            'parts': parts,
            'listed_files': len(set(unsettled + sent)),
            'touched': len(known[1]) if known else None,
            'downtime': final_s + verify_s, 'changes': box['changes']}


def spread(values):
    values = sorted(values)
    return 'min %.2f / median %.2f / max %.2f' % (
        values[0], values[len(values) // 2], values[-1])


def run(args, work, cleanup):
    source = work / 'source'
    started = time.time()
    paths = generate(source, args.files, args.megabytes)
    total = sum(p.stat().st_size for p in paths)
    mib = total / 2 ** 20
    print('data set: %d files, %.0f MiB (generated in %.1f s)' % (
        len(paths), mib, time.time() - started))
    (work / 'ssh-home').mkdir()
    sshd = Sshd(work / 'ssh-home')
    cleanup.append(sshd.stop)
    results = []
    for number in range(1, args.runs + 1):
        two = Image(work, 'twophase%d' % number, 3)
        one = Image(work, 'onepass%d' % number, 3)
        cleanup += [two.close, one.close]
        sh('sync')
        r = two_phase(paths, source, sshd.rsh, two.mnt, args, number)
        # One pass, the old tool's way: everything stopped for the whole copy.
        r['onepass'] = rsync_sync(source, sshd.rsh, one.mnt, ok_codes=(0, rsyncing.VANISHED))[0]
        r['ratio'] = r['downtime'] / r['onepass']
        results.append(r)
        for image in (two, one):
            image.close()
            image.path.unlink()
        print('run %d: warm sync %.1f s (%.0f MiB/s); checksum pass %.1f s '
              '(%d round(s)); %d rewrites while serving' % (
                  number, r['warm'], mib / r['warm'], r['check'],
                  r['rounds'], r['changes'][0]))
        print('  before the stop: ssh connection opened %.2f s, the copy '
              'and the source listed at once %.2f s' % (
                  r['connect'], r['before_stop']))
        print('  downtime two-phase: final sync %.2f s + verification '
              '%.2f s = %.2f s' % (r['final'], r['verify'], r['downtime']))
        print('  final sync: 3 commands started ahead %.2f s; the source '
              'listed (what changed since before the stop) %.2f s; '
              'deletions and rsync of the %d names that differ %.2f s' % (
                  r['start'], r['listings'], r['listed'],
                  r['final'] - r['listings'] - r['start']))
        print('  verification, at once: source (%s) %.2f s, copy over '
              'ssh (%s) %.2f s, checksums of %d sent files %.2f s'
              % ('whole listing' if r['touched'] is None
                 else 'touched names listed', r['parts'][0],
                 'whole listing' if r['touched'] is None
                 else '%d touched names listed' % r['touched'],
                 r['parts'][1], r['listed_files'], r['parts'][2]))
        print('  one-pass (stop, then copy everything): %.2f s; ratio '
              'two-phase / one-pass %.3f' % (r['onepass'], r['ratio']))
    print('over %d runs: two-phase downtime %s s; one-pass %s s; ratio %s'
          % (len(results), spread([r['downtime'] for r in results]),
             spread([r['onepass'] for r in results]),
             spread([r['ratio'] for r in results])))
    cp = Image(work, 'cp', 3)
    cleanup.append(cp.close)
    sh('sync')
    cp_started = time.time()
    sh('cp', '-a', str(source) + '/.', cp.mnt)
    sh('sync')
    cp_s = time.time() - cp_started
    print('cp -a on the same disk: %.1f s, %.0f MiB/s (rsync one-pass: '
          '%.0f MiB/s)' % (cp_s, mib / cp_s,
                           mib / results[-1]['onepass']))


if __name__ == '__main__':
    main()
