"""--dry-run prints each step's commands, from parameters and facts only.
Checked against what each step really runs (recorded, not run)."""
from __future__ import absolute_import, division, print_function

import logging
import os
import re

from rf_common.text import to_text

from master_migration import blockcopy, dockersteps, manifest, manifest_walk
from master_migration import copysync, dryrun, finalsync, steptable, switchover
from master_migration.commands import shell_words
from master_migration.context import Context
from master_migration.params import build_params
from master_migration.state import State
from recorder import Recorder
from samples import preflight_facts

VIRSH = ['virsh', '-c', 'qemu:///system']


def dry_ctx(tmp_path, commands):
    source = os.path.join(str(tmp_path), 'source')
    os.makedirs(os.path.join(source, 'etc'))
    with open(os.path.join(source, 'etc', 'fstab'), 'w') as handle:
        handle.write('/dev/mapper/os-root / ext4 defaults 0 1\n')
    params = build_params({
        'destination': 'virt-1', 'source_root': source,
        'work_dir': os.path.join(str(tmp_path), 'work'),
        'admin_interface': 'eth0', 'admin_address': '10.20.0.2',
        'admin_netmask': '24', 'admin_mac': '52:54:00:00:00:02',
        'interim_address': '10.20.0.250', 'swap_size': '4G',
        'services': 'commands', 'stop_commands': [['svc', 'stop', 'a b']],
        'start_commands': [['svc', 'start', 'a b']]})
    os.makedirs(params.work_dir)
    state = State(os.path.join(params.work_dir, 'state.json'))
    state.facts.update(**preflight_facts())
    ctx = Context(params, state.facts, state, commands,
                  logging.getLogger('dry-run-test'))
    ctx.log_path = os.path.join(params.work_dir, 'log')
    return ctx


def printed(tmp_path):
    rec = Recorder()
    ctx = dry_ctx(tmp_path, rec)
    services = (ctx.params.stop_commands, ctx.params.start_commands)
    text = steptable.format_plan(ctx.params, ctx.facts, services,
                                 steptable.step_commands(ctx, services))
    return text, rec


def test_the_dry_run_prints_each_steps_commands_and_runs_none(tmp_path):
    text, rec = printed(tmp_path)
    assert rec.calls == []  # computed from params and facts only
    assert ('virt$ virsh -c qemu:///system define '
            '/var/lib/nova/fuel_master.xml') in text
    assert ("virt$ sh -s -- /var/lib/nova/fuel_master.img 107374182400 "
            "98304MiB 4096  < remote_sh.CREATE_IMAGE") in text
    assert "$ svc stop 'a b'" in text  # quoted as a shell would
    assert '$ ip addr del 10.20.0.2/24 dev eth0' in text
    assert 'ssh -p 22 -o BatchMode=yes' in text  # the ssh prefix, once
    assert '(decided at run time: ' in text
    assert 'at the end, the old master powers off: poweroff' in text
    for step in steptable.STEPS:  # every row says what it runs
        section = text.split(' %s ' % step.id, 1)[1].split('\n')[1]
        assert section.startswith('         '), step.id


def shown(argv):
    """A recorded argv as the dry run prints it."""
    if argv[0] == 'ssh' and argv[-2] == '--':  # Remote.run
        line = 'virt$ ' + dryrun.named_scripts(
            to_text(argv[-1])[len('env LC_ALL=C LANG=C '):])
    else:
        line = '$ ' + shell_words(argv)
    line = line.replace('/dev/loop3', '/dev/loopN')
    return re.sub(r'ControlPath=\S*/c\b', 'ControlPath=/tmp/rfm-ssh-XXXXXX/c',
                  line)


def answer_listings(rec, ctx):
    """The copy's listing as an exact copy of the source gives it."""
    lines = manifest.source_listing(ctx.params.source_root,
                                    copysync.sync_excludes(ctx))
    rec.rules[:0] = [
        (['rfm-manifest', ctx.facts.mount_point, 'digest'], 0,
         manifest_walk.digest(lines), ''),
        (['rfm-manifest', ctx.facts.mount_point, 'lines'], 0,
         to_text(lines), '')]


def carry_docker(ctx, tmp_path, monkeypatch, size=3 * blockcopy.CHUNK + 512):
    """A Fuel 8.0 master's docker PV (a regular file here), carried; the
    virt node's image a file here too (Recorder(run_writer=True))."""
    pv = os.path.join(str(tmp_path), 'docker-pv')
    with open(pv, 'wb') as handle:  # a zero chunk, then data
        handle.write(b'\0' * blockcopy.CHUNK)
        handle.write(b'meta' * ((size - blockcopy.CHUNK) // 4))
        handle.write(b'x' * (size - handle.tell()))
    image = os.path.join(str(tmp_path), 'docker-pv.img')
    with open(image, 'wb') as handle:
        handle.truncate(size)
    monkeypatch.setattr(dockersteps, 'REQUIRE_BLOCK', False)
    ctx.facts.docker_image = image
    ctx.facts.docker_vg = {'action': 'carry', 'vg': 'docker',
                           'pool': 'docker-pool', 'in_use': True,
                           'thin_lvs': ['thin-1'], 'pv': pv, 'pv_bytes': size}
    return pv, image


def test_every_command_a_step_runs_is_in_its_dry_run_lines(tmp_path,
                                                           monkeypatch):
    """Each step run for real against recorded commands (a fresh virt
    node: no guest, the address still here; a Fuel 8.0 docker PV
    carried): each command it ran is among the lines --dry-run printed
    for it."""
    rec = Recorder(run_writer=True)
    rec.answer(VIRSH + ['domuuid'], 1, '', 'error: failed to get domain')
    rec.answer(VIRSH + ['domstate'], 0, 'shut off\n')
    rec.answer(['sh', '-s', '--', '/var/lib/nova/fuel_master.img'], 0,
               '/dev/loop3\n')
    rec.answer(['ip', '-o', '-4', 'addr'], 0,
               '2: eth0 inet 10.20.0.2/24 scope global eth0\n')
    rec.answer(['ip', '-o', 'link'], 0, 'link/ether 52:54:00:00:00:02 b\n')
    monkeypatch.setattr(switchover, 'wait_for_guest', lambda ctx: None)
    ctx = dry_ctx(tmp_path, rec)
    carry_docker(ctx, tmp_path, monkeypatch)
    services = (ctx.params.stop_commands, ctx.params.start_commands)
    header, lines = steptable.step_commands(ctx, services)
    for step in steptable.STEPS[1:]:
        del rec.calls[:]
        answer_listings(rec, ctx)
        step.run(ctx)
        expected = [line.split('  < ')[0] for line in lines[step.id]]
        ran = [shown(argv) for argv in rec.calls]
        assert ran and [r for r in ran if r not in expected] == [], step.id


def test_after_the_listed_changes_only_the_touched_names_are_listed(
        tmp_path):
    """A new folder on the source since the copy was listed before the
    stop: the verification lists on the copy only it, its file and the
    folders above them (not the whole copy), as its dry-run line says."""
    rec = Recorder()
    ctx = dry_ctx(tmp_path, rec)
    os.makedirs(os.path.join(ctx.params.source_root, 'etc', 'new'))
    with open(os.path.join(ctx.params.source_root, 'etc', 'new', 'f'),
              'w') as handle:
        handle.write('new\n')
    source = manifest.parse(to_text(manifest.source_listing(
        ctx.params.source_root, copysync.sync_excludes(ctx))))
    touched = ['.', 'etc', 'etc/new', 'etc/new/f']

    def lines(names):
        return ''.join('%s\t%s\n' % (n, source[n]) for n in names)
    ctx.copy_listing = lines(n for n in source if n not in touched[2:])
    rec.answer(['rfm-manifest', ctx.facts.mount_point, 'stdin-names'], 0,
               lines(touched))
    finalsync.final_sync_and_verify(ctx)
    listed = [call for call in rec.started if any(
        'rfm-manifest' in to_text(w) for w in call.argv)]
    step = [s for s in steptable.STEPS if s.id == 'final_sync'][0]
    printed = set(line.split('  < ')[0] for line in dryrun.step_lines(
        ctx, step) if 'rfm-manifest' in line and ' stdin-names' in line)
    assert len(listed) == 1 and len(printed) == 1
    assert listed[0].input == b''.join(n.encode('utf-8') + b'\0'
                                       for n in touched)
    assert shown(listed[0].argv) in printed


def test_while_stopped_the_source_is_walked_once_from_its_listing_before(
        tmp_path, monkeypatch):
    """The source listed beside the copy before the stop; after the
    stop, one walk of it (the delta's, reading again only what changed)
    and of the names the delta touched only a new look at those."""
    rec = Recorder()
    ctx = dry_ctx(tmp_path, rec)
    patterns = copysync.sync_excludes(ctx)
    kept = manifest_walk.Snapshot()
    ctx.copy_listing = to_text(manifest_walk.manifest(
        ctx.params.source_root, patterns, keep=kept))
    ctx.source_snapshot = kept
    with open(os.path.join(ctx.params.source_root, 'etc', 'late'),
              'w') as handle:
        handle.write('late\n')
    rec.answer(['rfm-manifest', ctx.facts.mount_point, 'stdin-names'], 0,
               ''.join(line for line in to_text(manifest.source_listing(
                   ctx.params.source_root, patterns)).splitlines(True)
                   if line.split('\t')[0] in ('.', 'etc', 'etc/late')))
    walks = []
    real = manifest_walk.walk

    def counted(root, excludes, before=None, keep=None):
        walks.append(before)
        return real(root, excludes, before, keep)
    monkeypatch.setattr(manifest_walk, 'walk', counted)
    finalsync.final_sync_and_verify(ctx)
    assert walks == [kept]


def test_a_failed_command_started_ahead_means_the_full_final_sync(
        tmp_path, caplog):
    """The delta's rsync, started before the stop's listing, fails (its
    ssh refused): the warning says so in ssh's words, the full final sync
    runs and is verified, and every command started ahead was ended."""
    rec = Recorder()
    ctx = dry_ctx(tmp_path, rec)
    patterns = copysync.sync_excludes(ctx)
    ctx.copy_listing = to_text(manifest_walk.manifest(
        ctx.params.source_root, patterns))
    with open(os.path.join(ctx.params.source_root, 'etc', 'late'),
              'w') as handle:
        handle.write('late\n')
    rec.answer(['--files-from=-', '--itemize-changes'], 255, '',
               'ssh: connect to host virt-1 port 22: Connection refused\n')
    answer_listings(rec, ctx)
    finalsync.final_sync_and_verify(ctx)
    assert 'Connection refused' in caplog.text
    assert 'the full final sync follows' in caplog.text
    assert [c for c in rec.calls if '--delete' in c and '--dry-run' not in c]
    assert len(rec.started) == 3 and all(
        c.input is not None or c.stopped for c in rec.started)
