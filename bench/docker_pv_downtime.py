#!/usr/bin/env python3
"""Downtime that a Fuel 8.0 master's docker PV adds to a migration: the
script's two passes (the whole PV while serving, then while stopped the PV
read and hashed again and only the changed chunks sent) against the core
fuel-migrate's way, the whole PV copied while stopped (`dd | ssh dd`). In
the same run, on the same PV and disk, three runs by default.

The PV is a file of --gigabytes (the first --used part random data, the
rest written zeros, as a thin pool's unused space reads) behind a
read-only loop device; --changed of its 4 MiB chunks get a 4 KiB write
after the warm pass. The passes are the shipped steps themselves
(dockersteps.warm_blocks and final_blocks) over real ssh to this host's
own sshd on 127.0.0.1:2297. There is no device-mapper here: the steps'
`vgchange -an` and `dmsetup status` are answered without running, and so
are lvm's reports and thin_dump: with nothing (no map: the pass while
stopped reads the whole PV), then as lvm2 would for a pool that maps the
PV's used part (the pass reads only that); the only commands not run.
Page caches are dropped before each timed pass.

    python3 bench/docker_pv_downtime.py [--gigabytes 20] [--used 0.3]
                                        [--changed 0.01] [--runs 3]
"""
import argparse
import logging
import os
import pathlib
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / 'tests'))
from lab.paths import MIGRATION, put_on_sys_path  # noqa: E402
put_on_sys_path(MIGRATION)

from lab import hostlab  # noqa: E402
from master_migration import blockcopy, dockersteps  # noqa: E402
from master_migration.commands import Commands, Result  # noqa: E402
from master_migration.context import Context  # noqa: E402
from master_migration.params import build_params  # noqa: E402
from master_migration.state import State  # noqa: E402
import results  # noqa: E402  (bench/results.py: bench/RESULTS.md)

PORT = 2297
MIB = 1 << 20
EXTENT = 4 * MIB  # lvm2's default extent
BLOCK = 512 << 10  # docker-storage-setup's chunk size (-c 512K)


class NoDeviceMapper(Commands):
    """The script's commands, except those that need device-mapper or a
    real lvm PV: vgchange and dmsetup answered with nothing; lvm's reports
    and thin_dump with nothing (no map: the whole PV is read again) or,
    given `used` bytes, as lvm2 would for a pool whose data LV fills the
    PV's extents but the last (its metadata LV) and whose thin devices map
    the PV's first `used` bytes of data."""

    def __init__(self, log, size, used=None, pv=None):
        super().__init__(log)
        self.size, self.used, self.pv = size, used, pv

    def run(self, argv, timeout=120, input_bytes=None, ok_codes=(0,)):
        if argv[0] in ('vgchange', 'dmsetup'):
            return Result(argv, 0, '', '')
        if argv[0] in ('pvs', 'vgs', 'lvs', 'thin_dump'):
            return Result(argv, 0, self.report(argv), '')
        return super().run(argv, timeout, input_bytes, ok_codes)

    def report(self, argv):
        if self.used is None:
            return ''
        extents = (self.size - MIB) // EXTENT
        pv = self.pv
        if argv[0] == 'thin_dump':
            blocks = (self.used - MIB) // BLOCK
            return ('<superblock uuid="" time="0" transaction="1" flags="0" '
                    'version="2" data_block_size="%d" nr_data_blocks="%d">'
                    '<device dev_id="1" mapped_blocks="%d" transaction="0" '
                    'creation_time="0" snap_time="0"><range_mapping '
                    'origin_begin="0" data_begin="0" length="%d" time="0"/>'
                    '</device></superblock>\n' % (
                        BLOCK // 512, extents * EXTENT // BLOCK, blocks,
                        blocks))
        field = argv[argv.index('-o') + 1]
        return {
            'pe_start': '  %d\n' % MIB,
            'vg_extent_size': '  %d\n' % EXTENT,
            'pv_pe_count': '  %d\n' % extents,
            'lv_name,segtype,seg_start_pe,seg_pe_ranges':
                '  [docker-pool_tdata]|linear|0|%s:0-%d\n'
                '  [docker-pool_tmeta]|linear|0|%s:%d-%d\n'
                '  docker-pool|thin-pool|0|\n' % (
                    pv, extents - 2, pv, extents - 1, extents - 1)}[field]


def write_pv(path, gigabytes, used):
    size = gigabytes << 30
    data_end = int(size * used) // MIB * MIB
    block = os.urandom(16 * MIB)
    zeros = bytes(16 * MIB)
    with open(path, 'wb') as handle:
        while handle.tell() < size:
            left = size - handle.tell()
            piece = block if handle.tell() < data_end else zeros
            handle.write(piece[:min(left, len(piece))])
        handle.flush()
        os.fsync(handle.fileno())
    return size


def change_chunks(path, size, used, fraction, seed):
    """A 4 KiB write into `fraction` of the PV's chunks, all in its used
    part (a thin pool writes where its devices map)."""
    rng = random.Random(seed)
    count = blockcopy.chunk_count(size)
    chosen = rng.sample(range(1, used // blockcopy.CHUNK),
                        max(1, int(count * fraction)))
    with open(path, 'r+b') as handle:
        for index in chosen:
            handle.seek(index * blockcopy.CHUNK + rng.randrange(
                0, blockcopy.CHUNK - 4096))
            handle.write(os.urandom(4096))
        handle.flush()
        os.fsync(handle.fileno())
    return len(chosen)


def drop_caches():
    subprocess.run(['sync'], check=True)
    pathlib.Path('/proc/sys/vm/drop_caches').write_text('3\n')


def context(work, sshd, loop, size, image):
    params = build_params({
        'destination': '127.0.0.1', 'ssh_port': PORT,
        'ssh_identity': str(sshd.client_key),
        'ssh_known_hosts': str(sshd.known_hosts),
        'work_dir': str(work / 'state'), 'disk_dir': str(work),
        'admin_interface': 'eth0', 'admin_address': '10.20.0.2',
        'admin_netmask': '24', 'admin_mac': '52:54:00:00:00:02',
        'interim_address': '10.20.0.250'})
    os.makedirs(params.work_dir, mode=0o700, exist_ok=True)
    state = State(os.path.join(params.work_dir, 'state.json'))
    state.facts.docker_image = str(image)
    state.facts.docker_vg = {'action': 'carry', 'vg': 'docker',
                             'pool': 'docker-pool', 'in_use': True,
                             'thin_lvs': [], 'pv': loop, 'pv_bytes': size}
    log = logging.getLogger('bench')
    return Context(params, state.facts, state, NoDeviceMapper(log, size),
                   log)


def sha1_file(path):
    return blockcopy.hash_device(str(path), os.path.getsize(path),
                                 require_block=False)


def one_run(work, sshd, pv, size, args, seed):
    image = work / 'pv.img'
    figures = {}
    loop = subprocess.run(['losetup', '--find', '--show', '--read-only',
                           str(pv)], check=True, capture_output=True,
                          text=True).stdout.strip()
    try:
        for stale in (image, work / 'state'):
            if stale.is_dir():
                shutil.rmtree(stale)
            elif stale.exists():
                stale.unlink()
        ctx = context(work, sshd, loop, size, image)
        dockersteps.create_image(ctx)
        drop_caches()
        started = time.monotonic()
        dockersteps.warm_blocks(ctx)
        figures['warm_s'] = time.monotonic() - started
        used = int(size * args.used) // MIB * MIB
        for key, commands in (('whole', ctx.commands),
                              ('map', NoDeviceMapper(ctx.log, size, used,
                                                     loop))):
            ctx.commands = commands
            figures['changed'] = change_chunks(pv, size, used, args.changed,
                                               seed)
            drop_caches()
            started = time.monotonic()
            dockersteps.final_blocks(ctx)
            figures[key + '_s'] = time.monotonic() - started
            final = ctx.state.docker_final
            figures[key + '_read_s'] = final['read_seconds']
            figures[key + '_read_gib'] = (final['read_chunks'] *
                                          blockcopy.CHUNK / (1 << 30))
            figures[key + '_sent_mib'] = final['sent_bytes'] / MIB
            assert final['changed_chunks'] == figures['changed']
        assert sha1_file(image) == sha1_file(pv), 'the copy differs'
    finally:
        subprocess.run(['losetup', '-d', loop])
    baseline = work / 'baseline.img'
    drop_caches()
    started = time.monotonic()
    ssh = ('ssh -p %d -o BatchMode=yes -o StrictHostKeyChecking=yes -o '
           'UserKnownHostsFile=%s -i %s -l root 127.0.0.1' % (
               PORT, sshd.known_hosts, sshd.client_key))
    subprocess.run(['sh', '-c', 'dd if="$1" bs=4M status=none | %s '
                    '"dd of=$2 bs=4M conv=sparse status=none"' % ssh, 'sh',
                    str(pv), str(baseline)], check=True)
    figures['baseline_s'] = time.monotonic() - started
    baseline.unlink()
    return figures


def spread(values):
    return '%.1f / %.1f / %.1f' % (min(values), statistics.median(values),
                                   max(values))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--gigabytes', type=int, default=20)
    parser.add_argument('--used', type=float, default=0.3)
    parser.add_argument('--changed', type=float, default=0.01)
    parser.add_argument('--runs', type=int, default=3)
    args = parser.parse_args()
    # a kill (timeout, ^C) still detaches the loop device and removes the PV
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    work = pathlib.Path(tempfile.mkdtemp(prefix='rfm-bench-pv-',
                                         dir='/var/tmp'))
    sshd = hostlab.Sshd(work / 'sshd', '127.0.0.1', PORT)
    try:
        sshd.start()
        pv = work / 'pv'
        started = time.monotonic()
        size = write_pv(pv, args.gigabytes, args.used)
        print('PV: %d GiB (%.0f%% data, the rest zeros) written in %.0f s'
              % (args.gigabytes, args.used * 100, time.monotonic() - started),
              flush=True)
        runs = []
        for number in range(args.runs):
            figures = one_run(work, sshd, pv, size, args, seed=number)
            runs.append(figures)
            print('run %d: warm pass %.1f s (serving); while stopped, %d '
                  'chunks changed each time: ours with the pool\'s map %.1f '
                  's (%.1f GiB read+hashed in %.1f s, %.0f MiB sent), ours '
                  'without a map %.1f s (%.1f GiB in %.1f s), whole PV '
                  'dd|ssh %.1f s' % (
                      number + 1, figures['warm_s'], figures['changed'],
                      figures['map_s'], figures['map_read_gib'],
                      figures['map_read_s'], figures['map_sent_mib'],
                      figures['whole_s'], figures['whole_read_gib'],
                      figures['whole_read_s'], figures['baseline_s']),
                  flush=True)
        print('downtime added by the docker PV, min / median / max of %d '
              'runs:' % len(runs))
        for key, what in (('map', "ours, with the pool's map"),
                          ('whole', 'ours, no map (whole PV read)'),
                          ('baseline', 'whole PV copied while stopped')):
            line = '  %-32s %s s' % (what + ':', spread(
                [r[key + '_s'] for r in runs]))
            if key != 'baseline':
                ratios = sorted(r[key + '_s'] / r['baseline_s'] for r in runs)
                line += ', ratio to the baseline %.3f / %.3f / %.3f' % (
                    ratios[0], statistics.median(ratios), ratios[-1])
            print(line)
        print('  warm pass while serving (not downtime): %s s' % spread(
            [r['warm_s'] for r in runs]))
    finally:
        sshd.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(results.run_and_record('docker_pv_downtime', main))
