#!/usr/bin/env python3
"""Downtime of rf-migrate-master's stopped phase, timed on the shipped
steps themselves (the rows of master_migration.steptable.STEPS, run with a
real
Context: real rsync, real ssh to the bench's own sshd on 127.0.0.1, the
copy in a loop-mounted image made by the prepare_disk step), against
baselines measured in the same run: a plain whole rsync --delete while
stopped, and the old tool's one pass (stop, then copy everything).

A generated tree (tens of thousands of files, a few GiB; a Fuel master's
/ scaled to this machine) is copied by warm_sync and checksum_pass while a
writer rewrites 1% of its files every 3 s (and rotates a few). Then, per
round, the writer rewrites each of those once more, stop_services lists
both sides and stops it, and final_sync (final sync + verification) is
timed. Each round runs the stopped phase as shipped or with one of its
optional pieces replaced by its simple alternative (VARIANTS: patched
here, for the round only), so each piece's saving is measured beside the
shipped code in the same run. The stop_services row holds its functions
from when the table was built, so a variant runs that row rebuilt from
what finalsync holds then; each replacement counts its calls, and a
variant whose replacement never ran stops the bench.

    python3 bench/migration_downtime.py [--files 40000] [--megabytes 2048]
                                        [--runs 3] [--verbose]
"""
import argparse
import collections
import contextlib
import inspect
import logging
import os
import pathlib
import random
import shutil
import sys
import tempfile
import threading
import time
import uuid

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / 'tests'))
from lab.paths import MIGRATION, put_on_sys_path  # noqa: E402
put_on_sys_path(MIGRATION)

from lab import hostlab  # noqa: E402
from master_migration import commands, copydisk, copysync  # noqa: E402
from master_migration import finalsync, manifest, manifest_walk  # noqa: E402
from master_migration import rsyncing, services, steptable  # noqa: E402
from master_migration.context import Context, destination_paths  # noqa: E402
from master_migration.params import build_params  # noqa: E402
from master_migration.state import State  # noqa: E402
import results  # noqa: E402  (bench/results.py: bench/RESULTS.md)

PORT = 2298
STEPS = dict((s.id, s) for s in steptable.STEPS)
FALLBACK = 'the full final sync follows'


# ---- the variants: a piece of the stopped phase replaced by the simple
# alternative the shipped code already falls back to ----------------------

def no_snapshot(original):
    """list_before_stop, its source Snapshot dropped: the stopped listing
    reads the whole source again."""
    def listed(ctx):
        original(ctx)
        ctx.source_snapshot = None
    return listed


NOTHING_AHEAD = ('start_ahead', lambda original: lambda ctx: {})
NOT_BEFORE_STOP = ('list_before_stop', lambda original: lambda ctx: None)
NO_DELTA = ('final_delta', lambda original: lambda ctx: (None, None, None))
NOT_USABLE = ('usable', lambda original: lambda patterns: False)

Piece = collections.namedtuple(
    'Piece', 'name base what finalsync_patches manifest_patches code '
             'includes')

# Each variant: the piece it removes, the variant it is weighed against
# (base), the patches of finalsync and of manifest that replace it, the
# shipped code only it uses, and the pieces it removes with it (they need
# it). The rsync started ahead is also a branch of copysync.sync, not
# counted here.
NO_SNAPSHOT = ('list_before_stop', no_snapshot)
NOT_TOUCHED = ('after_delta', lambda original: lambda ours, found: None)
REFINEMENTS = ['no start_ahead', 'no source snapshot', 'no touched check']
VARIANTS = [
    Piece('shipped', None, 'as shipped', [], [], [], []),
    Piece('no start_ahead', 'shipped', 'the delta\'s rsync, the walker and '
          'the checksums\' rsync started when due, not ahead',
          [NOTHING_AHEAD], [],
          [finalsync.start_ahead, commands.Started.stream], []),
    Piece('no source snapshot', 'shipped', 'the source listed whole while '
          'stopped, not only what changed since its listing before the stop',
          [NO_SNAPSHOT], [], [manifest_walk.Snapshot], []),
    Piece('no touched check', 'shipped', 'after the delta both sides '
          'listed whole (the copy by digest), not only the names it touched',
          [], [NOT_TOUCHED],
          [finalsync.expected_copy, manifest.named_listing, manifest.touched,
           manifest.after_delta, manifest.listed_name,
           manifest.expected_source, manifest.expected,
           manifest.stdin_names_argv, manifest_walk.named_lines,
           manifest_walk.stdin_names], []),
    Piece('bare delta', 'shipped', 'the delta from both listings made '
          'before the stop, without the three pieces above',
          [NOTHING_AHEAD, NO_SNAPSHOT], [NOT_TOUCHED], [], REFINEMENTS),
    Piece('no final_delta', 'bare delta', 'no listing before the stop, the '
          'full final rsync, then both trees listed (the copy by digest) '
          'beside the checksums', [NOTHING_AHEAD, NOT_BEFORE_STOP, NO_DELTA],
          [], [finalsync.final_delta, finalsync.delta_sync_and_verify,
               finalsync.list_copy, finalsync.list_before_stop,
               manifest.delta, manifest.parse_both, manifest.parsed_delta,
               manifest.unescape, manifest.is_folder],
          ['bare delta']),
    Piece('no manifest', 'no final_delta', 'the full final rsync, then '
          'rsync\'s quick check (a dry run of every file) beside the '
          'checksums', [], [NOT_USABLE],
          [manifest, manifest_walk, finalsync.manifest_check,
           finalsync.whole_check, finalsync.listing_patterns],
          ['no final_delta']),
]
BY_NAME = dict((v.name, v) for v in VARIANTS)


def code_lines(name):
    """(file, line) of the shipped code the variant leaves unused, with
    that of the pieces it removes with it."""
    piece = BY_NAME[name]
    out = set()
    for thing in piece.code:
        lines, first = inspect.getsourcelines(thing)
        path = inspect.getsourcefile(thing)
        out.update((path, first + i) for i in range(len(lines)))
    for other in piece.includes:
        out |= code_lines(other)
    return out


def counted(function, calls, name):
    """function, each call counted in calls[name]."""
    def call(*args):
        calls[name] += 1
        return function(*args)
    return call


@contextlib.contextmanager
def variant(finalsync_patches, manifest_patches):
    """The piece's replacements in finalsync and manifest for the round;
    yields the rows to run (the shipped ones when nothing is replaced)
    and {name: calls of its replacement}."""
    saved, calls = [], collections.Counter()
    for module, patches in ((finalsync, finalsync_patches),
                            (manifest, manifest_patches)):
        for name, make in patches:
            original = getattr(module, name)
            saved.append((module, name, original))
            setattr(module, name, counted(make(original), calls, name))
    try:
        yield (rebuilt_rows() if saved else STEPS), calls
    finally:
        for module, name, original in reversed(saved):
            setattr(module, name, original)


def stop_parts():
    """The functions the stop_services row runs in turn, as finalsync and
    services hold them now."""
    return finalsync.list_before_stop, services.stop_services


def check_stop_row():
    """The shipped stop_services row runs stop_parts() by
    steptable.in_turn (its one closure cell): else a rebuilt row would
    not time what ships."""
    cells = [c.cell_contents for c in
             STEPS['stop_services'].run.__closure__ or ()]
    if cells != [stop_parts()]:
        raise AssertionError('the shipped stop_services row is not '
                             'in_turn(%s): rebuild it here as it ships' % (
                                 ', '.join(f.__name__ for f in stop_parts())))


def rebuilt_rows():
    """A copy of the table whose stop_services row runs what finalsync
    and services hold now: the shipped row keeps the functions it was
    built with, so a replacement would not reach it."""
    rows = dict(STEPS)
    rows['stop_services'] = rows['stop_services']._replace(
        run=steptable.in_turn(*stop_parts()))
    return rows


def check_replaced(name, patches, calls):
    """Each of the variant's replacements ran in its round."""
    missed = [n for n, make in patches if not calls[n]]
    if missed:
        raise AssertionError('variant %r: its %s never ran; the round ran '
                             'as shipped' % (name, ', '.join(missed)))


# ---- the tree and its writer ----------------------------------------------

FSTAB = '/dev/mapper/os-root / ext4 defaults 0 1\n'


def generate(root, files, megabytes, seed=42):
    """A master's tree: folders of files of exponentially spread sizes
    (mean megabytes/files, at most 8 MiB) under var/ and etc/."""
    rng = random.Random(seed)
    pool = os.urandom(16 << 20)
    mean = (megabytes << 20) // files
    (root / 'etc').mkdir(parents=True)
    (root / 'etc/fstab').write_text(FSTAB)
    paths = []
    for i in range(files):
        top = ('var/lib/d%03d' if i % 4 else 'var/www/d%03d') % (i % 300)
        folder = root / top / ('s%02d' % (i % 17))
        folder.mkdir(parents=True, exist_ok=True)
        size = min(max(1, int(rng.expovariate(1.0 / mean))), 8 << 20)
        start = rng.randrange(0, len(pool) - size)
        path = folder / ('f%06d' % i)
        path.write_bytes(pool[start:start + size])
        paths.append(path)
    return paths


class Writer(object):
    """The services: rewrite a fraction of the files every period
    (same size, new bytes), and every 20th write start a new log and
    delete the oldest, until the stop command touches the flag file."""

    def __init__(self, root, paths, fraction, seed, period=3.0):
        self.rng = random.Random(seed)
        self.chosen = self.rng.sample(paths, int(len(paths) * fraction))
        self.pause = period / max(1, len(self.chosen))
        self.logs = root / 'var/log/rotated'
        self.logs.mkdir(parents=True, exist_ok=True)
        self.flag = root.parent / 'services-stopped'
        self.stop_command = ['touch', str(self.flag)]
        self.writes, self.thread = 0, None

    def start(self):
        if self.flag.exists():
            self.flag.unlink()
        self.thread = threading.Thread(target=self._write)
        self.thread.start()

    def join(self):
        self.thread.join()

    def wait_round(self):
        """Until each chosen file was rewritten once since start(): every
        round stops with as many changed files (under load a round of
        writes takes longer than its period)."""
        until = self.writes + len(self.chosen)
        while self.writes < until:
            time.sleep(0.05)

    def _write(self):
        while not self.flag.exists():
            path = self.chosen[self.writes % len(self.chosen)]
            path.write_bytes(os.urandom(path.stat().st_size))
            self.writes += 1
            if self.writes % 20 == 0:
                (self.logs / ('%08d.log' % self.writes)).write_bytes(
                    os.urandom(4096))
                logs = sorted(self.logs.iterdir())
                if len(logs) > 10:
                    logs[0].unlink()
            time.sleep(self.pause)


# ---- the migration's context against this host ------------------------------

class Noted(logging.Handler):
    """Counts the warnings that say the final sync fell back."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.fallbacks = 0

    def emit(self, record):
        self.fallbacks += FALLBACK in record.getMessage()


def make_ctx(work, source, sshd, disk_size, verbose):
    params = build_params({
        'destination': '127.0.0.1', 'ssh_port': PORT, 'ssh_user': 'root',
        'ssh_identity': str(sshd.client_key),
        'ssh_known_hosts': str(sshd.known_hosts),
        'source_root': str(source), 'work_dir': str(work / 'work'),
        'disk_dir': str(work / 'disk'), 'name': 'rfm-bench',
        'disk_size': disk_size, 'swap_size': '0',
        'admin_interface': 'eth0', 'admin_address': '10.20.0.2',
        'admin_netmask': '24', 'admin_mac': '52:54:00:00:00:02',
        'interim_address': '10.20.0.250', 'boot_loader': 'none',
        'services': 'commands', 'stop_commands': [['true']],
        'start_commands': [['true']]})
    for folder in (params.work_dir, params.disk_dir):
        os.makedirs(folder, mode=0o700)
    state = State(os.path.join(params.work_dir, 'state.json'))
    state.facts.update(
        destination_address='127.0.0.1', admin_live_mac=params.admin_mac,
        nics=[], services_kind='commands', data_bytes=0, data_files=0,
        scan_seconds=0, root_uuid=str(uuid.uuid4()),
        domain_uuid=str(uuid.uuid4()), mkfs_options=[],
        layout={'root_end_mib': 0, 'swap_mib': 0, 'root_bytes': 0},
        **destination_paths(params))
    log = logging.getLogger('rfm-bench')
    log.setLevel(logging.DEBUG)
    shown = logging.StreamHandler()
    shown.setLevel(logging.INFO if verbose else logging.WARNING)
    noted = Noted()
    log.addHandler(shown)
    log.addHandler(noted)
    ctx = Context(params, state.facts, state, commands.Commands(), log)
    return ctx, noted


def run_step(ctx, step_id, rows=STEPS):
    started = time.time()
    rows[step_id].run(ctx)
    return time.time() - started


def stopped_round(ctx, writer, name, rows=STEPS):
    """The services rewrite each of their files once, stop_services lists
    both sides and stops them; then the final_sync step (or, for the
    naive baseline, one whole rsync --delete); the steps' rows from
    `rows`. Returns (seconds before the stop, seconds stopped, files
    sent)."""
    state = ctx.state
    state.final_sent, state.final_stats = [], None
    state.final_boot_inputs, state.verify_seconds = [], None
    state.downtime_started = None
    state.services = {'stop': [writer.stop_command], 'start': [['true']]}
    writer.start()
    writer.wait_round()
    if name == 'naive':
        before = 0.0
        ctx.commands.run(writer.stop_command)
        writer.join()
        started = time.time()
        ctx.commands.run(copysync.sync_argv(ctx, copysync.ITEMIZE), 3600)
        return before, time.time() - started, None
    before = run_step(ctx, 'stop_services', rows)
    writer.join()
    stopped = run_step(ctx, 'final_sync', rows)
    return before, stopped, (state.final_stats or {}).get(
        'files_transferred', 0)


def one_pass(ctx):
    """The old tool: services stopped, then everything copied (into an
    empty folder on the same disk, removed afterwards)."""
    folder = ctx.facts.mount_point + '/rfm-one-pass'
    argv = rsyncing.sync_argv(ctx.params.source_root,
                              copysync.sync_excludes(ctx),
                              ctx.remote.rsync_shell(),
                              ctx.remote.rsync_target(folder))
    started = time.time()
    ctx.commands.run(argv, 3600)
    took = time.time() - started
    ctx.remote.run(['rm', '-rf', folder], 600)
    return took


# ---- the run ------------------------------------------------------------------

def spread(values, fmt='%.2f'):
    values = sorted(values)
    return ' / '.join(fmt % v for v in (values[0], values[len(values) // 2],
                                        values[-1]))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--files', type=int, default=40000)
    parser.add_argument('--megabytes', type=int, default=2048)
    parser.add_argument('--changing', type=float, default=0.01)
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--no-one-pass', action='store_true',
                        help='skip the old tool\'s one-pass copy')
    parser.add_argument('--verbose', action='store_true')
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
    check_stop_row()
    source = work / 'source'
    started = time.time()
    paths = generate(source, args.files, args.megabytes)
    mib = sum(p.stat().st_size for p in paths) / 2 ** 20
    print('tree: %d files, %.0f MiB (generated in %.0f s); load %.1f' % (
        len(paths), mib, time.time() - started, os.getloadavg()[0]),
        flush=True)
    sshd = hostlab.Sshd(work / 'ssh-home', '127.0.0.1', PORT)
    sshd.start()
    cleanup.append(sshd.stop)
    disk = '%dG' % (3 * args.megabytes // 1024 + 2)
    ctx, noted = make_ctx(work, source, sshd, disk, args.verbose)
    cleanup.append(lambda: copydisk.release_disk(ctx))
    run_step(ctx, 'prepare_disk')
    writer = Writer(source, paths, args.changing, 7)
    writer.start()
    warm = run_step(ctx, 'warm_sync')
    check = run_step(ctx, 'checksum_pass')
    ctx.commands.run(writer.stop_command)
    writer.join()
    print('warm_sync %.1f s (%.0f MiB/s), checksum_pass %.1f s, %d still '
          'changing; %d writes while serving' % (
              warm, mib / warm, check, len(ctx.state.unsettled),
              writer.writes), flush=True)
    names = [v.name for v in VARIANTS] + ['naive']
    times = dict((n, []) for n in names)
    befores, passes = [], []
    for number in range(args.runs):
        order = names[number % len(names):] + names[:number % len(names)]
        for name in order:
            piece = BY_NAME.get(name)
            patches = piece[3:5] if piece else ([], [])
            with variant(*patches) as (rows, calls):
                fell = noted.fallbacks
                before, stopped, sent = stopped_round(ctx, writer, name,
                                                      rows)
            check_replaced(name, patches[0] + patches[1], calls)
            times[name].append(stopped)
            if name == 'shipped':
                befores.append(before)
            print('run %d %-24s stopped %.2f s%s%s' % (
                number + 1, name, stopped, '' if sent is None else
                ', %d file(s) sent, before the stop %.2f s' % (sent, before),
                '' if noted.fallbacks == fell else ', FELL BACK to the '
                'full final sync'), flush=True)
        if not args.no_one_pass:
            passes.append(one_pass(ctx))
            print('run %d one pass (stop, copy all) %.1f s' % (
                number + 1, passes[-1]), flush=True)
    report(times, befores, passes, args.runs)


def report(times, befores, passes, runs):
    shipped = times['shipped']
    print('\nover %d runs, min / median / max (load %.1f):' % (
        runs, os.getloadavg()[0]))
    print('  before the stop (stop_services: ssh shared, both sides '
          'listed): %s s' % spread(befores))
    print('  stopped phase as shipped (final_sync step): %s s' % spread(
        shipped))
    baselines = [('naive whole rsync --delete while stopped', times['naive'])]
    if passes:
        baselines.append(('one pass (stop, copy all)', passes))
    for label, base in baselines:
        print('  %s: %s s; shipped / it: %s' % (
            label, spread(base), spread([s / b for s, b in zip(shipped, base)],
                                        '%.3f')))
    for piece in VARIANTS[1:]:
        base = times[piece.base]
        own = code_lines(piece.name) - set().union(*(
            code_lines(i) for i in piece.includes))
        print('\n  %s (%s):' % (piece.name, piece.what))
        print('    stopped %s s; saves against %s %s s%s; lines: %d of its '
              'own, %d with what it takes along' % (
                  spread(times[piece.name]), piece.base, spread(
                      [w - b for w, b in zip(times[piece.name], base)]),
                  '' if piece.base == 'shipped' else ', against shipped %s '
                  's' % spread([w - b for w, b in zip(times[piece.name],
                                                      shipped)]),
                  len(own), len(code_lines(piece.name))))


if __name__ == '__main__':
    sys.exit(results.run_and_record('migration_downtime', main))
