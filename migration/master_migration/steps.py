"""The steps after preflight and their undo actions. Each is safe to run
again after a kill (it checks before it acts); none writes to the old
master's data."""
from __future__ import absolute_import, division, print_function

import atexit
import os
import shutil
import tempfile
import time

from rf_common.text import to_text

from master_migration import fixes, manifest, manifest_walk, remote_sh
from master_migration import dockerpool, dockersteps, rsyncing, services
from master_migration import template
from master_migration.commands import CommandError
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
    dockersteps.create_image(ctx)
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
    dockersteps.remove_image(ctx)
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
    kept as fixed (refresh_fixes re-applies them from the source). What
    is mounted now but is not the master's own joins the excludes (a
    container started since the last sync)."""
    dockerpool.note_foreign_mounts(ctx.facts, ctx.params.source_root)
    return copy_excludes(ctx.params, ctx.facts) + fixed_excludes(
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


def share_ssh(ctx):
    """One ssh connection for the commands while the services are stopped
    (each new one costs a handshake), opened before they stop. Commands
    connect on their own if ssh cannot share or the connection is gone."""
    if ctx.remote.control:
        return
    folder = tempfile.mkdtemp(prefix='rfm-ssh-')  # short: socket path limit
    if ctx.remote.share(os.path.join(folder, 'c')):
        atexit.register(unshare_ssh, ctx)
    else:
        shutil.rmtree(folder, ignore_errors=True)


def unshare_ssh(ctx):
    control = ctx.remote.control
    if control:
        ctx.remote.unshare()
        shutil.rmtree(os.path.dirname(control), ignore_errors=True)


def sync(ctx, label, extra=(), ok_codes=(0, rsyncing.VANISHED), listed=None):
    """One rsync into the copy (of everything, or only the names in the
    file `listed`); returns its stats and its itemized lines (when extra
    asks for --itemize-changes)."""
    reporter = rsyncing.ProgressReporter(ctx.log, label)
    started = time.time()
    result = ctx.commands.stream(sync_argv(ctx, extra, listed),
                                 reporter.feed, ctx.params.sync_timeout,
                                 ok_codes=ok_codes)
    return sync_result(ctx, label, reporter, result, started)


def sync_argv(ctx, extra=(), listed=None):
    """rsync into the copy: everything, or the names in the file `listed`
    ('-': on stdin)."""
    p = ctx.params
    head = (p.source_root, sync_excludes(ctx), ctx.remote.rsync_shell(),
            ctx.remote.rsync_target(ctx.facts.mount_point))
    tail = (list(p.rsync_options) + list(extra),
            ctx.facts.rsync_progress)
    return rsyncing.listed_sync_argv(*(head + (listed,) + tail)) if listed \
        else rsyncing.sync_argv(*(head + tail))


def started_sync(ctx, label, command, names):
    """sync() by an rsync started ahead (sync_argv(ctx, ITEMIZE, '-')),
    given the names now."""
    reporter = rsyncing.ProgressReporter(ctx.log, label)
    started = time.time()
    result = command.stream(rsyncing.files_from_input(names), reporter.feed,
                            ctx.params.sync_timeout,
                            ok_codes=(0, rsyncing.VANISHED))
    return sync_result(ctx, label, reporter, result, started)


def sync_result(ctx, label, reporter, result, started):
    stats = reporter.finish()
    stats['seconds'] = time.time() - started
    if result.returncode == rsyncing.PARTIAL:
        stats['partial'] = True
        ctx.log.warning('%s: rsync could not send every file whole (exit '
                        '23), most likely files rewritten while it read '
                        'them; they are sent again later. rsync said: %s',
                        label, ' | '.join(result.stderr.splitlines()[-3:]))
    ctx.log.info('%s: %d of %d files sent, %s of %s, %.1f s', label,
                 stats.get('files_transferred', 0), stats.get('files', 0),
                 human_bytes(stats.get('transferred_bytes', 0)),
                 human_bytes(stats.get('total_bytes', 0)), stats['seconds'])
    return stats, rsyncing.itemized(reporter.text)


# While the services run, a file truncated and rewritten under rsync (a
# log rotated with copytruncate) ends the run with exit 23. That is no
# failure there: what it missed differs from the source afterwards, and
# the checksum pass or the final sync (strict, services stopped) sends it.
WHILE_RUNNING = (0, rsyncing.VANISHED, rsyncing.PARTIAL)


def warm_sync(ctx):
    ensure_mounted(ctx)
    ctx.state.set('warm_stats', sync(ctx, 'warm sync (services running)',
                                     ok_codes=WHILE_RUNNING)[0])


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
        sent, whole = checksum_round(ctx, number, sent)
        if not whole:
            # A file rsync could not read whole in the first round was not
            # compared: that round runs again; only the last may not.
            if number == CHECKSUM_ROUNDS:
                raise StepFailed(
                    'checksum pass: rsync could not read every file whole '
                    'in %d rounds (exit 23, see the warnings above); find '
                    'what keeps rewriting them, stop it, and run again '
                    'with --resume' % number)
            sent = None
            continue
        if not sent:
            break
    ctx.state.set('unsettled', sent)
    ctx.log.info('checksum pass: %s', 'copy equals source' if not sent else
                 '%d file(s) still changing, checked again after the stop'
                 % len(sent))


def checksum_round(ctx, number, names):
    """Round 1 compares every file; a later one only what the round before
    sent (the rest was equal then; changed since, it has a new mtime or
    size for the final sync's quick check). Returns (the names sent,
    whether the round was whole). Exit 23 in a later round is whole
    enough: a listed name the master deleted or a file rewritten meanwhile
    is for the final sync. In round 1 it means files not compared."""
    extra = ['--checksum'] + ITEMIZE
    if names is not None:
        path = os.path.join(ctx.params.work_dir, 'checksum-round.list')
        with open(path, 'wb') as handle:
            handle.write(rsyncing.files_from_input(names))
        extra += ['--from0', '--files-from=' + path]
    stats, itemized = sync(ctx, 'checksum pass %d (services running)'
                           % number, extra, ok_codes=WHILE_RUNNING)
    whole = names is not None or not stats.get('partial')
    return rsyncing.sent_files(itemized), whole


def final_sync(ctx):
    share_ssh(ctx)  # a resume after the stop opens it here
    try:
        ensure_mounted(ctx)
        final_sync_and_verify(ctx)
    finally:
        unshare_ssh(ctx)


def final_sync_and_verify(ctx):
    """By the listings' delta when it can; the full final sync when that
    cannot be made, fails, or its result does not verify."""
    ahead = start_ahead(ctx)
    try:
        delta, before, source = final_delta(ctx)
        if delta is not None and delta_sync_and_verify(
                ctx, delta, before, source, ahead):
            return
    finally:
        for command in ahead.values():
            command.stop()
    record_final(ctx, *final_sync_run(ctx, None))
    if ctx.params.verify == 'checksum':
        verify(ctx)


def delta_sync_and_verify(ctx, delta, before, source, ahead):
    """False when it fails or does not verify (said in a warning)."""
    try:
        record_final(ctx, *final_sync_run(ctx, delta, ahead))
        verify(ctx, before and manifest.after_delta(before, delta), source,
               ahead)
        return True
    except (CommandError, CopyDiffers) as exc:
        ctx.log.warning('final sync of the listed changes: %s; the full '
                        'final sync follows', to_text(exc))
        return False


def start_ahead(ctx):
    """With the copy's listing from before the stop: the delta's rsync,
    the walker that lists the touched names on the copy and the rsync
    that checksums the sent files, started now, each reading its names
    on stdin when they are known; their ssh and program start (0.3-0.9 s
    each on this machine's test sshd) overlap the source's listing. {}
    otherwise (the commands run when due)."""
    if ctx.copy_listing is None or listing_patterns(ctx) is None:
        return {}
    ahead = {}
    try:
        ahead['sync'] = ctx.commands.start(sync_argv(ctx, ITEMIZE, '-'))
        ahead['names'] = ctx.remote.start(manifest.stdin_names_argv(
            ctx.facts.mount_point))
        ahead['sums'] = ctx.commands.start(listed_verify_argv(ctx))
    except BaseException:
        for command in ahead.values():
            command.stop()
        raise
    return ahead


class CopyDiffers(StepFailed):
    """The verification found a difference."""


def record_final(ctx, stats, items):
    ctx.state.set('final_stats', stats)
    # a union: a re-run after a kill must still check what the first sent
    ctx.state.set('final_sent', sorted(set(
        ctx.state.get('final_sent', []) + rsyncing.sent_files(items))))
    ctx.state.set('final_boot_inputs', sorted(set(
        ctx.state.get('final_boot_inputs', []) +
        fixes.boot_inputs_touched(items))))


def final_delta(ctx):
    """(delta, the copy's listing from before the stop or None, the
    source's listing; both parsed, {name: rest}): what the final sync must do, from both sides'
    listings, when the verification checks the result; (None, None,
    None): rsync compares every file. The copy's listing from before the
    stop serves (only this run's syncs write to the copy; a wrong one
    fails the verification), and the source's from then spares reading
    again what did not change since. A resumed run lists the copy here; a
    writer of the killed run may outlive that, so its verification lists
    the whole copy again."""
    patterns = listing_patterns(ctx)
    if patterns is None:
        return None, None, None
    kept, ctx.copy_listing = ctx.copy_listing, None
    snapshot, ctx.source_snapshot = ctx.source_snapshot, None
    source, copy = manifest.in_parallel(
        lambda: manifest.source_listing(ctx.params.source_root, patterns,
                                        snapshot),
        lambda: kept or list_copy(ctx, patterns))
    if copy is None:
        return None, None, None
    # each listing parsed once: the delta and the verification share them
    parsed = manifest.parse_both(to_text(source), copy)
    if parsed is None:
        return None, None, None
    ours, theirs = parsed
    return manifest.parsed_delta(ours, theirs), kept and theirs, ours


def listing_patterns(ctx):
    """The copy's excludes when the listings drive the final sync (the
    verification checks its result and the walker follows every pattern);
    None: the full rsync."""
    if ctx.params.verify != 'checksum':
        return None
    patterns = sync_excludes(ctx)
    return patterns if manifest.usable(patterns) else None


def list_copy(ctx, patterns):
    return manifest.copy_listing(ctx.remote, ctx.facts.mount_point,
                                 patterns, 'lines', ctx.params.sync_timeout)


def list_before_stop(ctx):
    """The copy's listing for final_delta and a Snapshot of the source's,
    while the services still run (kept in memory: a resumed run lists
    both sides again)."""
    # the copy stays mounted from post_migrate; a wrong listing costs time
    patterns = listing_patterns(ctx)
    if patterns is not None:
        snapshot = manifest_walk.Snapshot()
        ctx.copy_listing = manifest.in_parallel(
            lambda: list_copy_or_none(ctx, patterns),
            lambda: manifest.source_listing(ctx.params.source_root,
                                            patterns, keep=snapshot))[0]
        ctx.source_snapshot = snapshot


def list_copy_or_none(ctx, patterns):
    try:
        return list_copy(ctx, patterns)
    except CommandError as exc:  # the final sync will list it again
        ctx.log.warning('listing the copy: %s', to_text(exc))
        return None


def final_sync_run(ctx, delta, ahead=None):
    """(stats, itemized changes): the full final sync, or the delta's
    deletions (children first) and then its names alone (by the rsync
    started ahead, if one was)."""
    label = 'final sync (services stopped)'
    if delta is None:
        return sync(ctx, label, ITEMIZE)
    send, files, folders = delta
    for names, command in ((files, ['rm', '-f']), (folders, ['rmdir'])):
        if names:
            ctx.remote.run(['sh', '-c', remote_sh.REMOVE_NAMES, 'sh',
                            ctx.facts.mount_point] + command,
                           ctx.params.sync_timeout,
                           rsyncing.files_from_input(names))
    deleted = [('*deleting', n) for n in files + folders]
    ctx.log.info('%s: %d name(s) deleted, %d to compare', label,
                 len(deleted), len(send))
    if not send:
        return {}, deleted
    if ahead:
        stats, items = started_sync(ctx, label, ahead['sync'], send)
        return stats, items + deleted
    path = os.path.join(ctx.params.work_dir, 'final-delta.list')
    with open(path, 'wb') as handle:
        handle.write(rsyncing.files_from_input(send))
    stats, items = sync(ctx, label, ITEMIZE, listed=path)
    return stats, items + deleted


def verify(ctx, known=None, source=None, ahead=None):
    """Quick check of every file (manifests: type, size, mtime, mode,
    owner, links, ACLs, xattrs) and, at the same time, checksums of the
    files sent since the checksum pass. `known` (manifest.after_delta):
    the copy's listing is known but for the names the delta touched;
    `source`: the source's listing the delta was made from; `ahead`:
    start_ahead's commands."""
    started = time.time()
    names = sorted(set(ctx.state.get('unsettled', []) +
                       ctx.state.get('final_sent', [])) -
                   set(ctx.state.get('fixed_paths', [])))
    # a name that is not UTF-8 cannot be listed: checksum everything then
    everything = any(rsyncing.UNREADABLE in n for n in names)
    present = [] if everything else [n for n in names if os.path.lexists(
        os.path.join(ctx.params.source_root, n))]
    patterns = sync_excludes(ctx)
    if everything or not manifest.usable(patterns):
        diffs = rsync_check(ctx, patterns, everything) + listed_check(
            ctx, present)
    else:
        diffs = manifest_check(ctx, patterns, present, known, source,
                               ahead or {})
    if diffs:
        raise CopyDiffers('verification: the copy differs from the source '
                          'in %d place(s), e.g. %s; something still writes '
                          'on the master: add it to the services to stop' % (
                              len(diffs), '; '.join(diffs[:5])))
    ctx.state.set('verify_seconds', time.time() - started)
    ctx.log.info('verification: copy equals source (every file by type, '
                 'size, mtime, owner, mode, ACLs, xattrs, hard links; the %d '
                 'sent since the checksum pass by checksum), %.1f s',
                 len(present), time.time() - started)


def manifest_check(ctx, patterns, present, known, first, ahead):
    """The listings and the checksums at once. With `known`, only the
    names the delta touched are listed again, on either side: the rest
    of the copy's listing is its listing from before the stop, the rest
    of the source's is `first`, the listing the delta was made from."""
    if not known:
        return whole_check(ctx, patterns, present)
    source, copy, sums = manifest.in_parallel(
        lambda: manifest.expected_source(ctx.params.source_root, patterns,
                                         first, known[1]),
        lambda: expected_copy(ctx, known, ahead.get('names')),
        lambda: listed_check(ctx, present, ahead.get('sums')))
    if copy is None:  # a hard link among them: list it all
        return whole_check(ctx, patterns, []) + sums
    return manifest.parsed_differences(source, copy) + sums


def whole_check(ctx, patterns, present):
    """Both trees listed (the copy by digest) beside the checksums."""
    mnt, timeout = ctx.facts.mount_point, ctx.params.sync_timeout
    source, copy, sums = manifest.in_parallel(
        lambda: manifest.source_listing(ctx.params.source_root, patterns),
        lambda: manifest.copy_listing(ctx.remote, mnt, patterns, 'digest',
                                      timeout),
        lambda: listed_check(ctx, present))
    if copy is None:
        ctx.log.warning('no python on %s: rsync\'s quick check instead '
                        'of the listings', ctx.params.destination)
        return rsync_check(ctx, patterns, False) + sums
    return manifest.compare(source, copy, lambda: manifest.copy_listing(
        ctx.remote, mnt, patterns, 'lines', timeout)) + sums


def expected_copy(ctx, known, walker=None):
    """The copy's listing ({name: rest}) from `known` and the touched
    names listed again (by the walker started ahead, if one was); None
    when one is hard-linked."""
    if not known[1]:
        return manifest.expected(known, '')
    lines = manifest.named_listing(walker or ctx.remote.start(
        manifest.stdin_names_argv(ctx.facts.mount_point)), known[1],
        ctx.params.sync_timeout)
    return None if lines is None else manifest.expected(known, lines)


def rsync_check(ctx, patterns, checksum):
    """rsync's own dry run over every file; its itemized lines."""
    return rsyncing.differences(ctx.commands.run(rsyncing.verify_argv(
        ctx.params.source_root, patterns, ctx.remote.rsync_shell(),
        ctx.remote.rsync_target(ctx.facts.mount_point),
        checksum=checksum), timeout=ctx.params.sync_timeout,
        ok_codes=(0, rsyncing.VANISHED)).stdout)


def listed_check(ctx, names, started=None):
    """Checksums of the named files (rsync --files-from, or the one
    started ahead); what differs."""
    if not names:
        return []
    return rsyncing.differences((started or ctx.commands.start(
        listed_verify_argv(ctx))).finish(
        rsyncing.files_from_input(names), ctx.params.sync_timeout,
        ok_codes=(0, rsyncing.VANISHED)).stdout)


def listed_verify_argv(ctx):
    return rsyncing.listed_verify_argv(
        ctx.params.source_root, ctx.remote.rsync_shell(),
        ctx.remote.rsync_target(ctx.facts.mount_point))


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
    share_ssh(ctx)
    list_before_stop(ctx)
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
