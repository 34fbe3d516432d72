"""What the steps do to the operator's data and guest, with recorded
commands: the services stopped and started again, the checksum rounds,
the deletions of the final sync, the guest defined and undone, the image
removed only when this run made it, the fixed files kept out of the
sync."""
from __future__ import absolute_import, division, print_function

import os

import pytest

from rf_common.text import to_text

from master_migration import copysync, filesync, finalsync, guest, manifest, services
from recorder import Recorder
from test_migration_dryrun import VIRSH, answer_listings, dry_ctx

CHECKSUM = ['--checksum', '--itemize-changes']


def shown(calls):
    """Each call as one line; a remote one as the command it runs."""
    return [to_text(c[-1]) if c[0] == 'ssh' else ' '.join(c) for c in calls]


# ---- services -----------------------------------------------------------

def test_the_services_are_stopped_and_started_again_by_the_rollback(tmp_path):
    rec = Recorder()
    ctx = dry_ctx(tmp_path, rec)
    services.stop_services(ctx)
    assert ['svc', 'stop', 'a b'] in rec.calls
    assert ctx.state.services_stopped
    del rec.calls[:]
    assert services.undo_services(ctx) == []
    assert rec.calls == [['svc', 'start', 'a b']]
    assert not ctx.state.services_stopped


def test_a_service_that_does_not_start_again_is_named_and_the_rest_start(tmp_path):
    rec = Recorder()
    rec.answer(['svc', 'start', 'a b'], 1, '', 'no such service\n')
    ctx = dry_ctx(tmp_path, rec)
    ctx.state.services = {'stop': [], 'start': [['svc', 'start', 'a b'],
                          ['svc', 'start', 'c']]}
    ctx.state.services_stopped = True
    assert services.undo_services(ctx) == ['svc start a b']
    assert rec.calls[-1] == ['svc', 'start', 'c']
    assert not ctx.state.services_stopped


def test_nothing_to_stop_is_warned(tmp_path, caplog):
    ctx = dry_ctx(tmp_path, Recorder())
    ctx.state.services = {'stop': [], 'start': []}
    services.stop_services(ctx)
    assert 'no running service found to stop' in caplog.text


# ---- checksum rounds ------------------------------------------------------

def test_files_that_keep_changing_are_compared_three_times_then_kept(tmp_path):
    """docs/migration.md: at most 3 rounds; each after the first compares
    only what the round before sent; what the last sent is checked again
    after the stop."""
    rec = Recorder()
    rec.answer(CHECKSUM, 0, '>fc.t...... var/log/busy.log\n')
    ctx = dry_ctx(tmp_path, rec)
    filesync.checksum_pass(ctx)
    rounds = [c for c in rec.calls if '--checksum' in c]
    assert len(rounds) == 3
    assert not [a for a in rounds[0] if a.startswith('--files-from')]
    for argv in rounds[1:]:
        (listed,) = [a for a in argv if a.startswith('--files-from=')]
        with open(listed.split('=', 1)[1], 'rb') as handle:
            assert handle.read() == b'var/log/busy.log\0'
    assert ctx.state.unsettled == ['var/log/busy.log']


def test_the_warm_sync_keeps_its_figures_for_the_summary(tmp_path):
    rec = Recorder()
    rec.answer(['--delete'], 0, 'Number of regular files transferred: 7\n'
               'Total transferred file size: 4,096 bytes\n')
    ctx = dry_ctx(tmp_path, rec)
    filesync.warm_sync(ctx)
    stats = ctx.state.warm_stats
    assert (stats['files_transferred'], stats['transferred_bytes']) == (7, 4096)


# ---- the final sync's deletions -------------------------------------------

def write(ctx, name, text=''):
    with open(os.path.join(ctx.params.source_root, name), 'w') as handle:
        handle.write(text)


def listing(ctx):
    return to_text(manifest.source_listing(ctx.params.source_root,
                                           copysync.sync_excludes(ctx)))


def test_a_file_gone_from_the_source_is_deleted_from_the_copy(tmp_path):
    """The copy is listed at the stop (no listing from before it): the
    delta deletes the file the source lost, sends the new one, and the
    copy is then checked whole."""
    rec = Recorder()
    ctx = dry_ctx(tmp_path, rec)
    write(ctx, 'etc/old', 'old\n')
    before = listing(ctx)
    os.remove(os.path.join(ctx.params.source_root, 'etc', 'old'))
    write(ctx, 'etc/new', 'new\n')
    rec.answer(['rfm-manifest', ctx.facts.mount_point, 'lines'], 0, before)
    rec.answer(['rfm-manifest', ctx.facts.mount_point, 'digest'], 0,
               manifest.manifest_walk.digest(listing(ctx).encode('utf-8')))
    rec.answer(['--files-from=' + os.path.join(ctx.params.work_dir,
                                               'final-delta.list')],
               0, '>f+++++++++ etc/new\n')
    finalsync.final_sync_and_verify(ctx)
    calls = shown(rec.calls)
    removed = [c for c in calls if c.endswith(' rm -f')]
    assert len(removed) == 1 and ctx.facts.mount_point in removed[0]
    assert not [c for c in calls if c.endswith(' rmdir')]  # no folder went
    with open(os.path.join(ctx.params.work_dir, 'final-delta.list'), 'rb') as handle:
        assert handle.read() == b'etc/new\0'
    assert ctx.state.final_sent == ['etc/new']
    # no listing from before the stop (a resumed run): nothing started ahead
    assert [c for c in rec.started if '--dry-run' not in c.argv] == []


def test_commands_started_ahead_are_stopped_when_one_cannot_start(tmp_path, monkeypatch):
    rec = Recorder()
    ctx = dry_ctx(tmp_path, rec)
    ctx.copy_listing = listing(ctx)

    def refused(argv):
        raise finalsync.CommandError(argv, 255, 'ssh: connect: Connection refused')
    monkeypatch.setattr(ctx.remote, 'start', refused)
    with pytest.raises(finalsync.CommandError):
        finalsync.start_ahead(ctx)
    assert len(rec.started) == 1 and rec.started[0].stopped


def test_a_copy_that_cannot_be_listed_before_the_stop_is_listed_later(tmp_path, caplog):
    rec = Recorder()
    rec.answer(['rfm-manifest'], 255, '', 'ssh: connect: Connection refused\n')
    ctx = dry_ctx(tmp_path, rec)
    finalsync.list_before_stop(ctx)
    assert ctx.copy_listing is None
    assert 'listing the copy: ' in caplog.text and 'Connection refused' in caplog.text


# ---- guest and image ------------------------------------------------------

def test_a_guest_defined_by_an_earlier_run_is_not_defined_again(tmp_path):
    rec = Recorder()
    rec.answer(VIRSH + ['domuuid'], 0, 'd-1\n')
    ctx = dry_ctx(tmp_path, rec)
    guest.define_guest(ctx)
    assert not [c for c in shown(rec.calls) if ' define ' in c]


def test_a_new_guest_is_defined_from_its_xml(tmp_path):
    rec = Recorder()
    rec.answer(VIRSH + ['domuuid'], 1, '', 'error: failed to get domain\n')
    ctx = dry_ctx(tmp_path, rec)
    guest.define_guest(ctx)
    assert shown(rec.calls)[-1].endswith(
        'virsh -c qemu:///system define /var/lib/nova/fuel_master.xml')


def virsh_of_undo_define(tmp_path, uuid):
    """The virsh commands undo_define runs for a running guest of our
    name whose UUID is `uuid` (this run's: d-1)."""
    rec = Recorder()
    rec.answer(VIRSH + ['domuuid'], 0, uuid + '\n')
    rec.answer(VIRSH + ['domstate'], 0, 'running\n')
    guest.undo_define(dry_ctx(tmp_path, rec))
    return [c.split('qemu:///system ')[1] for c in shown(rec.calls) if 'virsh' in c]


def test_a_guest_of_that_name_with_another_uuid_is_not_undone(tmp_path):
    """Not the one this run defined: the rollback leaves it alone."""
    assert virsh_of_undo_define(tmp_path, 'someone-elses-uuid') == ['domuuid fuel_master']


def test_undoing_the_definition_powers_off_a_running_guest_first(tmp_path):
    assert virsh_of_undo_define(tmp_path, 'd-1') == [
        'domuuid fuel_master', 'domstate fuel_master', 'destroy fuel_master',
        'undefine fuel_master']


def test_remove_disk_removes_only_an_image_this_run_made(tmp_path):
    rec = Recorder()
    rec.answer(['sh', '-s', '--', '/var/lib/nova/fuel_master.img'], 0, '/dev/loop3\n')
    ctx = dry_ctx(tmp_path, rec)
    ctx.params.remove_disk = True
    guest.undo_disk(ctx)
    assert 'rm -f /var/lib/nova/fuel_master.img' not in ' '.join(shown(rec.calls))
    guest.prepare_disk(ctx)
    guest.undo_disk(ctx)
    assert shown(rec.calls)[-1].endswith('rm -f /var/lib/nova/fuel_master.img')


# ---- fixed files ------------------------------------------------------------

def test_a_fixed_file_under_a_folder_the_source_lacks_excludes_that_folder(tmp_path):
    source = str(tmp_path)
    os.makedirs(os.path.join(source, 'etc', 'udev'))
    assert copysync.fixed_excludes(source, [
        'etc/udev/rules.d/70-persistent-net.rules', 'newtop/file',
        'etc/udev/x']) == ['/etc/udev/rules.d', '/etc/udev/x', '/newtop']


def test_the_final_sync_goes_on_when_ssh_cannot_share_its_connection(tmp_path):
    """Sharing one ssh connection is a speed-up: when ssh refuses it, each
    command connects on its own and the step still ends well."""
    rec = Recorder()
    rec.answer(['-o', 'ControlMaster=yes'], 255, '', 'muxserver_listen: Operation not permitted\n')
    ctx = dry_ctx(tmp_path, rec)
    answer_listings(rec, ctx)
    finalsync.final_sync(ctx)
    assert ctx.remote.control is None
    assert [c for c in rec.calls if 'ControlMaster=yes' in c]
