"""The steps after preflight and their undo actions. Each is safe to run
again after a kill (it checks before it acts); none writes to the old
master's data."""
from __future__ import absolute_import, division, print_function

import contextlib
import os
import shutil
import tempfile
import time

from master_migration import fixes, remote_sh, rsyncing, services, template
from master_migration.commands import CommandError, shell_words
from master_migration.compat import to_text
from master_migration.context import StepFailed, copy_excludes
from master_migration.units import human_bytes


# ---- guest definition -------------------------------------------------

def guest_is_ours(ctx):
    result = ctx.virsh('domuuid', ctx.params.name, ok_codes=None)
    return (result.returncode == 0 and
            result.stdout.strip() == ctx.facts.domain_uuid)


class GuestUnknown(StepFailed):
    """ssh or libvirt failed: the guest's state is not known (it may run)."""


NO_DOMAIN = ('failed to get domain', 'domain not found')
SSH_FAILED = 255


def _unknown(ctx, what, result):
    tail = (result.stderr.strip().splitlines() or ['exit %d'
                                                   % result.returncode])[-1]
    return GuestUnknown('cannot read the %s of guest %s on %s (ssh or libvirt '
                        'failed: %s)' % (what, ctx.params.name,
                                         ctx.params.destination, tail))


def guest_state(ctx):
    """'running', 'shut off', ...; None only when libvirt says there is no
    such domain. An ssh or libvirt failure raises GuestUnknown."""
    result = ctx.virsh('domstate', ctx.params.name, ok_codes=None)
    if result.returncode == 0:
        return result.stdout.strip()
    if result.returncode != SSH_FAILED and any(
            m in result.stderr.lower() for m in NO_DOMAIN):
        return None
    raise _unknown(ctx, 'state', result)


def guest_autostart(ctx):
    """True/False from libvirt's dominfo; GuestUnknown when it cannot say."""
    result = ctx.virsh('dominfo', ctx.params.name, ok_codes=None)
    if result.returncode == 0:
        for line in result.stdout.splitlines():
            if line.lower().startswith('autostart:'):
                return line.split(':', 1)[1].strip() != 'disable'
    raise _unknown(ctx, 'autostart setting', result)


def define_guest(ctx):
    if guest_is_ours(ctx):
        ctx.log.info('guest %s already defined', ctx.params.name)
        return
    if ctx.facts.replace_existing and guest_state(ctx) in (
            'shut off', 'crashed'):
        ctx.log.info('replacing the stopped guest %s (--replace)',
                     ctx.params.name)
        ctx.virsh('undefine', ctx.params.name)
    xml = template.render_domain(ctx.params, ctx.facts)
    ctx.remote.write_file(ctx.facts.xml_path, xml)
    ctx.virsh('define', ctx.facts.xml_path)
    ctx.log.info('guest %s defined (not started, no autostart yet) from %s',
                 ctx.params.name, ctx.facts.xml_path)


def undo_define(ctx):
    if guest_is_ours(ctx):
        if guest_state(ctx) not in ('shut off', None):
            ctx.virsh('destroy', ctx.params.name, ok_codes=None)
        ctx.virsh('undefine', ctx.params.name)
        ctx.log.info('rollback: guest %s undefined', ctx.params.name)
    ctx.remote.run(['rm', '-f', ctx.facts.xml_path])


# ---- disk ---------------------------------------------------------------

def attach(ctx):
    dev = ctx.remote.sh(remote_sh.ATTACH, [ctx.image]).stdout.strip()
    ctx.facts.loop_device = dev
    return dev


def ensure_mounted(ctx):
    dev = attach(ctx)
    ctx.remote.sh(remote_sh.MOUNT, [dev, ctx.facts.mount_point])
    return dev


def release_disk(ctx):
    """Unmount the copy and free its loop device (nothing attached: no-op)."""
    ctx.remote.sh(remote_sh.RELEASE_DISK, [ctx.image, ctx.facts.mount_point])


def prepare_disk(ctx):
    p, f = ctx.params, ctx.facts
    release_disk(ctx)  # a run killed here before leaves it half made: start over
    ctx.state.set('image_created', True)
    layout = f.layout
    ctx.remote.sh(remote_sh.CREATE_IMAGE, [
        ctx.image, p.disk_size,
        '%dMiB' % layout['root_end_mib'] if layout['swap_mib'] else '100%',
        layout['swap_mib']])
    dev = attach(ctx)
    ctx.remote.sh(remote_sh.MKFS, [dev, f.root_uuid,
                                   f.swap_uuid or ''] +
                  f.mkfs_options, timeout=1800)
    ctx.remote.sh(remote_sh.MOUNT, [dev, f.mount_point])
    ctx.log.info('disk %s: msdos label, p1 ext4 %s UUID %s%s, mounted at %s',
                 ctx.image, fixes.ROOT_LABEL, f.root_uuid,
                 ', p2 swap' if f.swap_uuid else '', f.mount_point)
    ctx.log.info('disk %s: a sparse raw file of %s; preflight found room '
                 'for all of it, not reserved: check_disk catches a write '
                 'lost if the folder fills meanwhile', ctx.image,
                 human_bytes(p.disk_size))


def check_disk(ctx):
    """Every write reached the image (flushed, no write error) and the
    copy's filesystem checks clean unmounted, before the switch-over."""
    dev = ensure_mounted(ctx)
    try:
        ctx.remote.sh(remote_sh.FLUSH, [ctx.facts.mount_point, dev + 'p1'],
                      timeout=1800)
    except CommandError as exc:
        raise StepFailed(disk_fault(ctx, 'a write to the image was lost',
                                    exc))
    release_disk(ctx)
    dev = attach(ctx)
    try:
        ctx.remote.sh(remote_sh.FSCK, [dev + 'p1'], timeout=3600)
    except CommandError as exc:
        raise StepFailed(disk_fault(ctx, 'e2fsck -n found errors in the '
                                    'copy', exc))
    finally:
        release_disk(ctx)
    ctx.log.info('disk %s: flushed with no write error, unmounted, e2fsck '
                 '-n found it clean', ctx.image)


def disk_fault(ctx, what, exc):
    p = ctx.params
    tail = (exc.stderr.strip().splitlines() or [exc.describe()])[-3:]
    return ('the copy on %s is not whole: %s (%s). Is %s full there? Free '
            'space (the image needs up to %s) and run again' % (
                p.destination, what, ' / '.join(tail), p.disk_dir,
                human_bytes(p.disk_size)))


def undo_disk(ctx):
    release_disk(ctx)
    if ctx.params.remove_disk and ctx.state.get('image_created'):
        ctx.remote.run(['rm', '-f', ctx.image])
        ctx.log.info('rollback: disk image %s removed (--remove-disk)',
                     ctx.image)
    elif ctx.state.get('image_created'):
        ctx.log.info('rollback: disk image %s kept; remove it with: rm %s '
                     '(on %s)', ctx.image, ctx.image, ctx.params.destination)


# ---- syncs ------------------------------------------------------------

def sync_excludes(ctx):
    """The copy's excludes, plus the files the post-migrate fixes wrote:
    kept as fixed (refresh_fixes re-applies them from the source)."""
    return copy_excludes(ctx.params) + fixed_excludes(
        ctx.params.source_root, ctx.state.get('fixed_paths', []))


def fixed_excludes(source_root, fixed):
    """Anchored patterns for the fixed files; where a folder of them is
    not on the source (grub's modules, a new rules.d), the folder itself:
    --delete would try to remove it and say so."""
    out = set()
    for name in fixed:
        parts = name.split('/')
        missing = [i for i in range(1, len(parts)) if not os.path.isdir(
            os.path.join(source_root, *parts[:i]))]
        out.add('/' + '/'.join(parts[:missing[0]] if missing else parts))
    return sorted(out)


@contextlib.contextmanager
def shared_ssh(ctx):
    """The rsync -e command for a few rsync runs over one ssh connection
    (a master kept while they run): the final sync and its verification
    run while the services are stopped and each new connection costs a
    handshake. Falls back to one connection each if ssh cannot share."""
    folder = tempfile.mkdtemp(prefix='rfm-ssh-')  # short: socket path limit
    opts = ctx.remote.ssh_options() + ['-o', 'ControlPath=' + os.path.join(
        folder, 'c')]
    shared = ctx.commands.run(opts + [
        '-o', 'ControlMaster=yes', '-o', 'ControlPersist=600',
        ctx.remote.host, 'true'], timeout=60, ok_codes=None).returncode == 0
    try:
        yield shell_words(opts + ['-o', 'ControlMaster=no']) if shared \
            else ctx.remote.rsync_shell()
    finally:
        if shared:
            ctx.commands.run(opts + ['-O', 'exit', ctx.remote.host],
                             ok_codes=None)
        shutil.rmtree(folder, ignore_errors=True)


def sync(ctx, label, extra=(), rsh=None, ok_codes=(0, rsyncing.VANISHED)):
    """One rsync into the copy; returns its stats and its itemized lines
    (when extra asks for --itemize-changes)."""
    p = ctx.params
    argv = rsyncing.sync_argv(
        p.source_root, sync_excludes(ctx), rsh or ctx.remote.rsync_shell(),
        ctx.remote.rsync_target(ctx.facts.mount_point),
        list(p.rsync_options) + list(extra),
        ctx.facts.rsync_progress)
    reporter = rsyncing.ProgressReporter(ctx.log, label)
    started = time.time()
    ctx.commands.stream(argv, reporter.feed, p.sync_timeout,
                        ok_codes=ok_codes)
    stats = reporter.finish()
    stats['seconds'] = time.time() - started
    ctx.log.info('%s: %d of %d files sent, %s of %s, %.1f s', label,
                 stats.get('files_transferred', 0), stats.get('files', 0),
                 human_bytes(stats.get('transferred_bytes', 0)),
                 human_bytes(stats.get('total_bytes', 0)), stats['seconds'])
    return stats, rsyncing.itemized(reporter.text)


def warm_sync(ctx):
    ensure_mounted(ctx)
    ctx.state.set('warm_stats', sync(ctx, 'warm sync (services running)')[0])


CHECKSUM_ROUNDS = 3
ITEMIZE = ['--itemize-changes']


def checksum_pass(ctx):
    """Before the stop: every byte of the warm copy compared with the
    source (rsync --checksum) and what differs sent again; then what a
    round sent is compared again, until a round sends nothing. What the
    last round sent is checksummed again while the services are stopped."""
    if ctx.params.verify != 'checksum':
        ctx.log.info('checksum pass skipped (--verify none)')
        return
    ensure_mounted(ctx)
    sent = None
    for number in range(1, CHECKSUM_ROUNDS + 1):
        sent = checksum_round(ctx, number, sent)
        if not sent:
            break
    ctx.state.set('unsettled', sent)
    ctx.log.info('checksum pass: %s', 'copy equals source' if not sent else
                 '%d file(s) still changing, checked again after the stop'
                 % len(sent))


def checksum_round(ctx, number, names):
    """Round 1 compares every file; a later one only what the round before
    sent (the rest was equal then; changed since, it has a new mtime or
    size for the final sync's quick check). Names the master deleted
    meanwhile are no error (exit 23) here: the final sync deletes them."""
    extra, codes = ['--checksum'] + ITEMIZE, (0, rsyncing.VANISHED)
    if names is not None:
        path = os.path.join(ctx.params.work_dir, 'checksum-round.list')
        with open(path, 'wb') as handle:
            handle.write(rsyncing.files_from_input(names))
        extra += ['--from0', '--files-from=' + path]
        codes += (rsyncing.PARTIAL,)
    return rsyncing.sent_files(sync(
        ctx, 'checksum pass %d (services running)' % number, extra,
        ok_codes=codes)[1])


def final_sync(ctx):
    ensure_mounted(ctx)
    with shared_ssh(ctx) as rsh:
        final_sync_over(ctx, rsh)


def final_sync_over(ctx, rsh):
    stats, items = sync(ctx, 'final sync (services stopped)', ITEMIZE, rsh)
    ctx.state.set('final_stats', stats)
    # a union: a re-run after a kill must still check what the first sent
    ctx.state.set('final_sent', sorted(set(
        ctx.state.get('final_sent', []) + rsyncing.sent_files(items))))
    ctx.state.set('final_boot_inputs', sorted(set(
        ctx.state.get('final_boot_inputs', []) +
        fixes.boot_inputs_touched(items))))
    if ctx.params.verify == 'checksum':
        verify(ctx, rsh)


def verify(ctx, rsh):
    """Quick check of every file (size, mtime, mode, owner, links) plus
    checksums of the files sent since the checksum pass."""
    p = ctx.params
    started = time.time()
    target = ctx.remote.rsync_target(ctx.facts.mount_point)
    names = sorted(set(ctx.state.get('unsettled', []) +
                       ctx.state.get('final_sent', [])) -
                   set(ctx.state.get('fixed_paths', [])))
    # a name that is not UTF-8 cannot be listed: checksum everything then
    everything = any(rsyncing.UNREADABLE in n for n in names)
    out = ctx.commands.run(rsyncing.verify_argv(
        p.source_root, sync_excludes(ctx), rsh, target,
        checksum=everything), timeout=p.sync_timeout,
        ok_codes=(0, rsyncing.VANISHED)).stdout
    present = [] if everything else [n for n in names if os.path.lexists(
        os.path.join(p.source_root, n))]
    if present:
        out += ctx.commands.run(
            rsyncing.listed_verify_argv(p.source_root, rsh, target),
            timeout=p.sync_timeout, ok_codes=(0, rsyncing.VANISHED),
            input_bytes=rsyncing.files_from_input(present)).stdout
    diffs = rsyncing.differences(out)
    if diffs:
        raise StepFailed('verification: the copy differs from the source in '
                         '%d place(s), e.g. %s; something still writes on '
                         'the master: add it to the services to stop' % (
                             len(diffs), '; '.join(diffs[:5])))
    ctx.state.set('verify_seconds', time.time() - started)
    ctx.log.info('verification: copy equals source (every file by size, '
                 'mtime, owner, mode, ACLs, xattrs, hard links; the %d sent '
                 'since the checksum pass by checksum), %.1f s', len(present),
                 time.time() - started)


# ---- services -----------------------------------------------------------

def stop_services(ctx):
    svc = ctx.state.get('services')
    if not svc:
        stop, start = services.plan_services(ctx.facts.services_kind,
                                             ctx.params, ctx.commands)
        svc = {'stop': stop, 'start': start}
        ctx.state.set('services', svc)
    if not svc['stop']:
        ctx.log.warning('no running service found to stop: the final sync '
                        'runs with whatever still writes (see services / '
                        'systemd_units / docker_containers)')
    ctx.state.set('services_stopped', True)
    if not ctx.state.get('downtime_started'):
        ctx.state.set('downtime_started', time.time())
    for argv in svc['stop']:
        ctx.log.info('stopping: %s', ' '.join(argv))
        ctx.commands.run(argv, timeout=300)
    ctx.log.info('services stopped: downtime starts')


def undo_services(ctx):
    if not ctx.state.get('services_stopped'):
        return []
    failed = []
    for argv in ctx.state.get('services', {}).get('start', []):
        ctx.log.info('rollback: starting %s', ' '.join(argv))
        try:
            ctx.commands.run(argv, timeout=300)
        except CommandError as exc:
            ctx.log.error('rollback: %s', to_text(exc))
            failed.append(' '.join(argv))
    ctx.state.set('services_stopped', False)
    return failed
