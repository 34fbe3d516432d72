"""Fuel 8.0's docker storage: found, decided, carried block for block
(the virt node's side, blockcopy.WRITER, runs here for real on files),
and the file copy kept to the master's own filesystems."""
from __future__ import absolute_import, division, print_function

import hashlib
import os

import pytest

from master_migration import blockcopy, dockerpool, dockersteps, steptable
from master_migration import services, template, thinmap
from master_migration.context import StepFailed
from recorder import Recorder
from test_migration_dryrun import carry_docker, dry_ctx
from test_runner_outcomes import handlers  # noqa: F401 (a fixture)

STORAGE_8 = ('DOCKER_STORAGE_OPTIONS=--storage-driver devicemapper '
             '--storage-opt dm.fs=ext4 --storage-opt '
             'dm.thinpooldev=/dev/mapper/docker-docker--pool '
             '--storage-opt dm.use_deferred_removal=true\n')
VGS = [{'vg_name': 'os', 'pv_count': '1'},
       {'vg_name': 'docker', 'pv_count': '1'}]
PVS = [{'pv_name': '/dev/sda4', 'vg_name': 'docker',
        'dev_size': str(20000 << 20)},
       {'pv_name': '/dev/sda5', 'vg_name': 'os', 'dev_size': str(80 << 30)}]
LVS = [{'lv_name': 'docker-pool', 'segtype': 'thin-pool', 'pool_lv': ''},
       {'lv_name': 'docker-253:2-1234-abc', 'segtype': 'thin',
        'pool_lv': 'docker-pool'}]


def test_dm_names_split_and_join_as_device_mapper_writes_them():
    assert dockerpool.split_dm_name('/dev/mapper/docker-docker--pool') == (
        'docker', 'docker-pool')
    assert dockerpool.dm_name('my-vg', 'docker-pool') == \
        'my--vg-docker--pool'
    assert dockerpool.split_dm_name('/dev/mapper/nodash') is None


def test_the_pool_transaction_id_is_read_from_dmsetup_status():
    status = ('0 40960000 thin-pool 17 129/524288 4096/327680 - rw '
              'discard_passdown queue_if_no_space - 1024\n')
    assert dockerpool.transaction_id(status) == 17
    assert dockerpool.transaction_id('0 100 linear 8:4 0\n') is None


def test_a_fuel_8_master_gets_its_pool_carried_by_default():
    found = dockerpool.examine(STORAGE_8, 'VG=docker\n', VGS, PVS, LVS)
    docker, problems = dockerpool.decide('auto', found)
    assert problems == []
    assert docker['action'] == 'carry'
    assert (docker['pv'], docker['pv_bytes']) == ('/dev/sda4', 20000 << 20)
    assert docker['pool'] == 'docker-pool' and docker['in_use']
    line = dockerpool.plan_line(docker)
    assert 'VG docker (PV /dev/sda4' in line and 'vdb' in line


def test_a_fuel_9_master_leaves_its_unused_vg_behind_unless_asked():
    found = dockerpool.examine('DOCKER_STORAGE_OPTIONS=\n', None, VGS, PVS,
                               LVS[:1])
    docker, problems = dockerpool.decide('auto', found)
    assert (docker['action'], problems) == ('leave', [])
    assert 'left behind' in dockerpool.plan_line(docker)
    docker, problems = dockerpool.decide('carry', found)
    assert (docker['action'], problems) == ('carry', [])


def test_leaving_a_pool_docker_uses_is_refused_with_the_fix():
    found = dockerpool.examine(STORAGE_8, None, VGS, PVS, LVS)
    docker, problems = dockerpool.decide('leave', found)
    assert len(problems) == 1
    assert 'docker_vg: leave' in problems[0] and 'docker_vg: auto' in \
        problems[0] and 'docker/docker-pool' in problems[0]


def test_a_pool_named_but_not_visible_is_refused():
    found = dockerpool.examine(STORAGE_8, None, [], [], [], lvm=False)
    docker, problems = dockerpool.decide('auto', found)
    assert docker['action'] == 'none'
    assert 'no lvm2 tools' in problems[0]
    assert '/dev/mapper/docker-docker--pool' in problems[0]


def test_a_vg_on_two_pvs_is_refused():
    pvs = PVS + [{'pv_name': '/dev/sdb1', 'vg_name': 'docker',
                  'dev_size': '1048576'}]
    docker, problems = dockerpool.decide('auto', dockerpool.examine(
        STORAGE_8, None, VGS, pvs, LVS))
    assert docker['action'] == 'none'
    assert '2 physical volumes (/dev/sda4, /dev/sdb1)' in problems[0]


def test_a_master_without_docker_storage_changes_nothing():
    found = dockerpool.examine(None, None, VGS[:1], PVS[1:], [])
    assert dockerpool.decide('auto', found) == (
        {'action': 'none', 'vg': None, 'pool': None, 'in_use': False,
         'thin_lvs': []}, [])


MOUNTINFO = '''\
22 1 253:0 / / rw,relatime - ext4 /dev/mapper/os-root rw
23 22 0:5 / /proc rw - proc proc rw
24 22 253:2 / /var rw - ext4 /dev/mapper/os-var rw
25 24 253:3 / /var/log rw - ext4 /dev/mapper/os-varlog rw
26 24 253:9 / /var/lib/docker/devicemapper/mnt/4f2a rw - xfs /dev/mapper/docker-253:2-1-4f2a rw
27 24 0:40 / /var/lib/docker/containers/4f2a/shm rw - tmpfs shm rw
28 22 0:41 /exports /mnt/nfs\\040share rw - nfs srv:/x rw
'''
FSTAB = '''\
/dev/mapper/os-root / ext4 defaults 1 1
/dev/mapper/os-var /var ext4 defaults 1 2
/dev/mapper/os-varlog /var/log ext4 defaults 1 2
/dev/mapper/os-swap swap swap defaults 0 0
'''


def test_container_roots_and_shm_mounts_are_never_copied_as_files():
    patterns, problems = dockerpool.foreign_mounts(MOUNTINFO, FSTAB, '/')
    assert patterns == ['/var/lib/docker/devicemapper/mnt/4f2a/*',
                        '/var/lib/docker/containers/4f2a/shm/*']
    assert len(problems) == 1 and '/mnt/nfs share' in problems[0]


def test_foreign_mounts_are_relative_to_the_source_root():
    info = ('30 1 0:50 / /srv/master rw - ext4 /dev/x rw\n'
            '31 30 0:51 / /srv/master/var/lib/docker/devicemapper/mnt/aa rw'
            ' - xfs /dev/y rw\n'
            '32 1 0:52 / /srv/other/mnt rw - tmpfs t rw\n')
    patterns, _ = dockerpool.foreign_mounts(info, FSTAB, '/srv/master')
    assert patterns == ['/var/lib/docker/devicemapper/mnt/aa/*']


def test_a_mount_seen_once_stays_excluded(tmp_path):
    root = str(tmp_path)
    os.makedirs(os.path.join(root, 'etc'))
    with open(os.path.join(root, 'etc', 'fstab'), 'w') as handle:
        handle.write(FSTAB)
    info = os.path.join(root, 'mountinfo')
    ctx = dry_ctx(tmp_path, Recorder())
    with open(info, 'w') as handle:
        handle.write('26 24 253:9 / %s/var/lib/docker/devicemapper/mnt/a rw '
                     '- xfs /dev/z rw\n' % root)
    dockerpool.note_foreign_mounts(ctx.facts, root, info)
    with open(info, 'w') as handle:
        handle.write('')  # the container stopped since
    dockerpool.note_foreign_mounts(ctx.facts, root, info)
    assert ctx.facts.foreign_mounts == [
        '/var/lib/docker/devicemapper/mnt/a/*']


def digest(path):
    with open(path, 'rb') as handle:
        return hashlib.sha1(handle.read()).hexdigest()


def writes(rec):
    return [c for c in rec.calls if 'write' in c[-1].split()[-2:]]


def test_the_pv_is_copied_warm_and_only_changed_chunks_while_stopped(
        tmp_path, monkeypatch):
    rec = Recorder(run_writer=True)
    ctx = dry_ctx(tmp_path, rec)
    pv, image = carry_docker(ctx, tmp_path, monkeypatch)
    dockersteps.warm_blocks(ctx)
    assert digest(image) == digest(pv)
    # the zero first chunk was never sent: the sparse image holds zeros
    assert os.stat(image).st_blocks * 512 < os.path.getsize(image)
    with open(pv, 'r+b') as handle:  # the master wrote on, while serving
        handle.seek(2 * blockcopy.CHUNK + 10)
        handle.write(b'late write')
    ctx.state.services_stopped = True
    dockersteps.final_blocks(ctx)
    assert digest(image) == digest(pv)
    assert ['vgchange', '-an', '--', 'docker'] in rec.calls
    final = ctx.state.docker_final
    assert (final['changed_chunks'], final['sent_bytes']) == (
        1, blockcopy.CHUNK)
    assert dockersteps.undo_final(ctx) == []
    assert rec.calls[-1] == ['vgchange', '-ay', '--', 'docker']


def test_a_killed_warm_copy_resumes_from_its_record(tmp_path, monkeypatch):
    rec = Recorder(run_writer=True)
    ctx = dry_ctx(tmp_path, rec)
    pv, image = carry_docker(ctx, tmp_path, monkeypatch)
    dockersteps.warm_blocks(ctx)
    del rec.calls[:]
    dockersteps.warm_blocks(ctx)  # run again: nothing to send
    assert rec.fed == blockcopy.FRAME.pack(0, 0)
    assert digest(image) == digest(pv)


def test_a_chunk_the_virt_node_lost_is_sent_again(tmp_path, monkeypatch):
    rec = Recorder(run_writer=True)
    ctx = dry_ctx(tmp_path, rec)
    pv, image = carry_docker(ctx, tmp_path, monkeypatch)
    dockersteps.warm_blocks(ctx)
    with open(image, 'r+b') as handle:  # a lost write there
        handle.seek(blockcopy.CHUNK * 3)
        handle.write(b'\0' * 16)
    dockersteps.warm_blocks(ctx)
    assert digest(image) == digest(pv)


def test_a_virt_node_that_keeps_losing_writes_fails_the_step(
        tmp_path, monkeypatch):
    rec = Recorder(run_writer=True)
    ctx = dry_ctx(tmp_path, rec)
    carry_docker(ctx, tmp_path, monkeypatch)
    real = blockcopy.Copier.hash_there
    monkeypatch.setattr(blockcopy.Copier, 'hash_there', lambda self, i=None,
                        t=0: dict((k, 'bad') for k in real(self, i, t)))
    with pytest.raises(StepFailed) as err:
        dockersteps.warm_blocks(ctx)
    assert 'still differ' in str(err.value)


def test_a_full_virt_node_disk_fails_the_copy_with_the_fix(tmp_path,
                                                           monkeypatch):
    rec = Recorder(run_writer=True)
    ctx = dry_ctx(tmp_path, rec)
    _, image = carry_docker(ctx, tmp_path, monkeypatch)
    os.remove(image)
    with pytest.raises(StepFailed) as err:
        dockersteps.warm_blocks(ctx)
    text = str(err.value)
    assert 'docker PV: copying' in text and 'cannot open ' + image in text
    assert 'run again (--resume)' in text


def test_the_writer_never_follows_a_link(tmp_path, monkeypatch):
    rec = Recorder(run_writer=True)
    ctx = dry_ctx(tmp_path, rec)
    _, image = carry_docker(ctx, tmp_path, monkeypatch)
    victim = os.path.join(str(tmp_path), 'victim')
    with open(victim, 'wb') as handle:
        handle.write(b'keep')
    os.remove(image)
    os.symlink(victim, image)
    with pytest.raises(StepFailed):
        dockersteps.warm_blocks(ctx)
    with open(victim, 'rb') as handle:
        assert handle.read() == b'keep'


def test_a_busy_pool_fails_the_stop_with_what_to_look_at(tmp_path,
                                                         monkeypatch):
    rec = Recorder(run_writer=True)
    rec.answer(['vgchange', '-an'], 5, '', '  Logical volume docker/thin-1 '
               'in use.\n')
    ctx = dry_ctx(tmp_path, rec)
    carry_docker(ctx, tmp_path, monkeypatch)
    dockersteps.warm_blocks(ctx)
    with pytest.raises(StepFailed) as err:
        dockersteps.final_blocks(ctx)
    assert 'in use' in str(err.value) and '--resume' in str(err.value)
    assert ctx.state.docker_vg_deactivated  # the undo tries -ay


def test_docker_itself_stops_after_its_containers_and_starts_first(
        tmp_path):
    rec = Recorder()
    rec.answer(['docker', 'ps'], 0, 'fuel-core-8.0-nailgun\n'
               'fuel-core-8.0-postgres\n')
    rec.answer(['systemctl', 'is-active', 'docker.service'], 0, 'active\n')
    rec.answer(['systemctl', 'is-active', 'docker.socket'], 3, 'inactive\n')
    ctx = dry_ctx(tmp_path, rec)
    stop, start = services.plan_services('docker', ctx.params, rec)
    assert stop[-1] == ['systemctl', 'stop', 'docker.service']
    assert start[0] == ['systemctl', 'start', 'docker.service']
    rec.rules[:0] = [(['systemctl', 'is-active', 'docker.socket'], 0,
                      'active\n', '')]
    stop, start = services.plan_services('docker', ctx.params, rec)
    assert stop[-2:] == [['systemctl', 'stop', 'docker.socket'],
                         ['systemctl', 'stop', 'docker.service']]
    assert start[:2] == [['systemctl', 'start', 'docker.service'],
                         ['systemctl', 'start', 'docker.socket']]
    assert stop[0] == ['dockerctl', 'stop', 'fuel-core-8.0-nailgun']


def test_the_guest_gets_the_pv_as_its_second_disk(tmp_path, monkeypatch):
    ctx = dry_ctx(tmp_path, Recorder())
    _, image = carry_docker(ctx, tmp_path, monkeypatch)
    back = template.read_domain(template.render_domain(ctx.params,
                                                       ctx.facts))
    assert back['extra_disks'] == [(image, 'vdb')]
    ctx.facts.docker_vg = {'action': 'leave', 'vg': 'docker'}
    back = template.read_domain(template.render_domain(ctx.params,
                                                       ctx.facts))
    assert back['extra_disks'] == []


def test_the_plan_says_what_happens_to_the_pool_and_its_cost(tmp_path,
                                                             monkeypatch):
    ctx = dry_ctx(tmp_path, Recorder())
    carry_docker(ctx, tmp_path, monkeypatch)
    ctx.facts.foreign_mounts = ['/var/lib/docker/devicemapper/mnt/a/*']
    text = steptable.format_plan(ctx.params, ctx.facts)
    assert "carried block for block as the guest's vdb" in text
    assert 'not copied as files (mounted, not the master\'s own ' \
           'filesystems): /var/lib/docker/devicemapper/mnt/a' in text
    assert 'docker PV read again, changed chunks sent' in text


def test_an_input_bigger_than_a_pipe_reaches_the_command_whole(tmp_path):
    """Commands.feed, for real: what the block copy streams over ssh."""
    from master_migration.commands import Commands
    out = os.path.join(str(tmp_path), 'out')
    chunks = [os.urandom(1 << 20) for _ in range(9)]
    result = Commands().feed(['sh', '-c', 'cat > "$1"; echo done', 'sh', out],
                             iter(chunks), 30)
    assert result.stdout == 'done\n'
    with open(out, 'rb') as handle:
        assert handle.read() == b''.join(chunks)


def test_a_command_that_leaves_early_fails_by_its_exit_status():
    from master_migration.commands import CommandError, Commands
    with pytest.raises(CommandError) as err:
        Commands().feed(['sh', '-c', 'echo gone >&2; exit 3'],
                        (b'x' * (1 << 20) for _ in range(8)), 30)
    assert err.value.returncode == 3 and 'gone' in err.value.stderr


def test_a_fault_after_the_block_pass_rolls_back_vg_then_services(
        tmp_path, monkeypatch, handlers):  # noqa: F811
    """The runner's rollback: the VG is active again before docker and its
    containers start, and the old master's PV was only ever read."""
    from master_migration import runner
    rec = Recorder(run_writer=True)
    ctx = dry_ctx(tmp_path, rec)
    pv, _ = carry_docker(ctx, tmp_path, monkeypatch)
    before = digest(pv)
    rows = dict((s.id, s) for s in steptable.STEPS)

    def stop(ctx):
        ctx.state.services = {'stop': [['dockerctl', 'stop', 'x']],
                              'start': [['systemctl', 'start', 'docker'],
                                        ['dockerctl', 'start', 'x']]}
        ctx.state.services_stopped = True

    def fails(ctx):
        raise StepFailed('the copy did not check clean')

    monkeypatch.setattr(runner, 'STEPS', [
        rows['docker_warm']._replace(needs=()),
        rows['stop_services']._replace(run=stop, needs=('docker_warm',)),
        rows['docker_final']._replace(needs=('stop_services',)),
        rows['check_disk']._replace(run=fails, needs=('docker_final',))])

    assert runner.run(ctx) == 1
    calls = [c for c in rec.calls if c[0] in ('vgchange', 'systemctl',
                                              'dockerctl')]
    assert calls == [['vgchange', '-an', '--', 'docker'],
                     ['vgchange', '-ay', '--', 'docker'],
                     ['systemctl', 'start', 'docker'],
                     ['dockerctl', 'start', 'x']]
    assert digest(pv) == before


# A 257 MiB PV as lvm2 lays it out: 1 MiB of label and metadata, then 64
# extents of 4 MiB: the spare at 0, the pool's data at 1-40, its metadata
# at 42. One thin device maps data blocks 0-7 and 40 (blocks of 512 KiB).
EXTENT, PE_START, PE_COUNT = 4 << 20, 1 << 20, 64
PV_BYTES = PE_START + PE_COUNT * EXTENT
# (the pool's own row names its data LV, as lvm2 prints it)
SEGMENTS = '''\
  docker-pool|thin-pool|0|docker-pool_tdata:0-39
  [docker-pool_tdata]|linear|0|/dev/vdb:1-40
  [docker-pool_tmeta]|linear|0|/dev/vdb:42-42
  [lvol0_pmspare]|linear|0|/dev/vdb:0-0
'''
DUMP = '''<superblock uuid="" time="1" transaction="5" flags="0" version="2" \
data_block_size="1024" nr_data_blocks="320">
  <device dev_id="1" mapped_blocks="9" transaction="0" creation_time="0" \
snap_time="0">
    <range_mapping origin_begin="0" data_begin="0" length="8" time="0"/>
    <single_mapping origin_block="100" data_block="40" time="0"/>
  </device>
</superblock>
'''


def test_only_what_lvm_and_the_pool_can_read_is_read_again():
    segments = thinmap.parse_segments(SEGMENTS, '/dev/vdb')
    block, mapped = thinmap.mapped_ranges(DUMP)
    assert (block, mapped) == (512 << 10, [(0, 8), (40, 1)])
    ranges = thinmap.readable_ranges(PV_BYTES, PE_START, EXTENT, PE_COUNT,
                                     segments, 'docker-pool', block, mapped)
    # label + metadata (chunk 0); data blocks 0-7 at PV 5-9 MiB (chunks 1,
    # 2); block 40 at PV 25 MiB (chunk 6); the metadata LV at 169-173 MiB
    # (chunks 42, 43); nothing after the last extent; not the spare
    assert thinmap.chunks_of(ranges, PV_BYTES) == [0, 1, 2, 6, 42, 43]


def test_a_pool_on_two_pvs_has_no_map_here():
    with pytest.raises(thinmap.MapUnknown):
        thinmap.parse_segments('  [docker-pool_tdata]|linear|0|/dev/sdc:0-9\n',
                               '/dev/vdb')


def pool_answers(rec, dump=DUMP):
    rec.answer(['pvs', '--noheadings', '--nosuffix', '--units', 'b', '-o',
                'pe_start'], 0, '  %d\n' % PE_START)
    rec.answer(['vg_extent_size'], 0, '  %d\n' % EXTENT)
    rec.answer(['pv_pe_count'], 0, '  %d\n' % PE_COUNT)
    rec.answer(['lvs', '-a', '--segments'], 0, SEGMENTS)
    rec.answer(['thin_dump'], 0, dump)


def test_while_stopped_a_write_to_a_mapped_block_is_sent_an_unmapped_not(
        tmp_path, monkeypatch):
    rec = Recorder(run_writer=True)
    pool_answers(rec)
    ctx = dry_ctx(tmp_path, rec)
    pv, image = carry_docker(ctx, tmp_path, monkeypatch, size=PV_BYTES)
    ctx.facts.docker_vg = dict(ctx.facts.docker_vg, pv='/dev/vdb')
    monkeypatch.setattr(dockersteps, 'copier', lambda ctx, docker:
                        blockcopy.Copier(ctx.remote, pv, image, PV_BYTES,
                                         require_block=False))
    dockersteps.warm_blocks(ctx)
    with open(pv, 'r+b') as handle:
        handle.seek(PE_START + EXTENT + 40 * (512 << 10))  # block 40
        handle.write(b'container write')
        handle.seek(PE_START + EXTENT + 300 * (512 << 10))  # unmapped
        handle.write(b'stale, nobody reads it')
    dockersteps.final_blocks(ctx)
    final = ctx.state.docker_final
    assert (final['read_chunks'], final['changed_chunks']) == (6, 1)
    with open(pv, 'rb') as a, open(image, 'rb') as b:
        offset = PE_START + EXTENT + 40 * (512 << 10)
        a.seek(offset)
        b.seek(offset)
        assert a.read(512 << 10) == b.read(512 << 10)
    assert not os.path.exists(thinmap.metadata_copy(ctx.params.work_dir))


def test_a_map_that_cannot_be_read_reads_the_whole_pv(tmp_path, monkeypatch):
    rec = Recorder(run_writer=True)
    pool_answers(rec, dump='thin_dump: bad checksum in superblock')
    ctx = dry_ctx(tmp_path, rec)
    carry_docker(ctx, tmp_path, monkeypatch, size=PV_BYTES)
    monkeypatch.setattr(dockersteps, 'copier', lambda ctx, docker:
                        blockcopy.Copier(ctx.remote, docker['pv'],
                                         ctx.facts.docker_image, PV_BYTES,
                                         require_block=False))
    ctx.facts.docker_vg = dict(ctx.facts.docker_vg)
    dockersteps.warm_blocks(ctx)
    dockersteps.final_blocks(ctx)
    assert ctx.state.docker_final['read_chunks'] == \
        blockcopy.chunk_count(PV_BYTES)


def test_an_existing_docker_image_on_the_virt_node_is_never_overwritten(
        tmp_path, monkeypatch):
    """Without --replace, a file where the PV's image would go stops the
    run at preflight (qemu-img create would have overwritten it)."""
    from master_migration import preflight
    rec = Recorder()
    ctx = dry_ctx(tmp_path, rec)
    _, image = carry_docker(ctx, tmp_path, monkeypatch)
    rec.answer(['sh', '-s', '--', ctx.facts.image], stdout='exists %s\n'
               % image)
    problems = []
    preflight.check_leftovers(ctx, problems)
    assert problems == ['%s already exists on virt-1 (an earlier run?); '
                        'remove it or use --replace' % image]
    assert rec.calls[-1][-1].endswith(image)  # asked about it


def test_the_record_is_read_without_allocating_its_limit(tmp_path,
                                                         monkeypatch):
    """The pass while stopped reads the warm pass's record on a master
    with little memory: never one read of the whole limit (1 GiB)."""
    path = os.path.join(str(tmp_path), 'sent.json')
    blockcopy.save_sent(path, blockcopy.CHUNK, ['a' * 40])
    asked = []
    real = os.read
    monkeypatch.setattr(os, 'read', lambda fd, n: asked.append(n) or
                        real(fd, n))
    assert blockcopy.load_sent(path, blockcopy.CHUNK) == ['a' * 40]
    assert asked and max(asked) <= 1 << 20, asked
