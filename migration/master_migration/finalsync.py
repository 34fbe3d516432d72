"""The final sync while the services are stopped, and its verification:
the copy and the source listed before the stop (over one ssh connection
shared from then on), the delta of the two listings deleted and sent
(the full rsync when it cannot be made, fails or does not verify), then
every file compared by listing and what was sent since the checksum pass
by checksum; with the lines --dry-run prints for each."""
from __future__ import absolute_import, division, print_function

import atexit
import os
import shutil
import tempfile
import time

from rf_common.text import to_text

from master_migration import fixes, manifest, manifest_walk, remote_sh
from master_migration import rsyncing
from master_migration.commands import CommandError
from master_migration.copydisk import ensure_mounted, lines_mounted
from master_migration.copysync import (ITEMIZE, planned_excludes, sync,
                                       sync_argv, sync_excludes)
from master_migration.dryrun import CONTROL, WALKER, shared
from master_migration.context import StepFailed


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


def list_before_stop(ctx):
    """Before the stop: one ssh connection shared from now on; the copy's
    listing for final_delta and a Snapshot of the source's, while the
    services still run (kept in memory: a resumed run lists both sides
    again)."""
    share_ssh(ctx)
    # the copy stays mounted from post_migrate; a wrong listing costs time
    patterns = listing_patterns(ctx)
    if patterns is not None:
        snapshot = manifest_walk.Snapshot()
        ctx.copy_listing = manifest.in_parallel(
            lambda: list_copy(ctx, patterns, warn=True),
            lambda: manifest.source_listing(ctx.params.source_root,
                                            patterns, keep=snapshot))[0]
        ctx.source_snapshot = snapshot


def lines_before_stop(ctx, out):
    out.here(ctx.remote.share_argv(CONTROL))
    if listings(ctx):
        out.note('the copy listed, for the final sync, beside the source '
                 '(here; both kept in memory)')
        lines_list_copy(shared(ctx), out, 'lines')


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
    state = ctx.state
    state.final_stats = stats
    # a union: a re-run after a kill must still check what the first sent
    state.final_sent = sorted(set(state.final_sent +
                                  rsyncing.sent_files(items)))
    state.final_boot_inputs = sorted(set(state.final_boot_inputs +
                                         fixes.boot_inputs_touched(items)))


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


def listing_patterns(ctx, patterns=None):
    """The copy's excludes (sync_excludes, or those given) when the
    listings drive the final sync (the verification checks its result and
    the walker follows every pattern); None: the full rsync."""
    if ctx.params.verify != 'checksum':
        return None
    patterns = sync_excludes(ctx) if patterns is None else patterns
    return patterns if manifest.usable(patterns) else None


def list_copy(ctx, patterns, warn=False):
    """The copy's lines; with warn, a failure is a warning and None (the
    final sync lists it again)."""
    try:
        return manifest.copy_listing(ctx.remote, ctx.facts.mount_point,
                                     patterns, 'lines',
                                     ctx.params.sync_timeout)
    except CommandError as exc:
        if not warn:
            raise
        ctx.log.warning('listing the copy: %s', to_text(exc))


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
            ctx.remote.run(remove_argv(ctx, command), ctx.params.sync_timeout,
                           rsyncing.files_from_input(names))
    deleted = [('*deleting', n) for n in files + folders]
    ctx.log.info('%s: %d name(s) deleted, %d to compare', label,
                 len(deleted), len(send))
    if not send:
        return {}, deleted
    if ahead:
        stats, items = sync(ctx, label, started=ahead['sync'], names=send)
        return stats, items + deleted
    with open(delta_list(ctx), 'wb') as handle:
        handle.write(rsyncing.files_from_input(send))
    stats, items = sync(ctx, label, ITEMIZE, listed=delta_list(ctx))
    return stats, items + deleted


def remove_argv(ctx, command):
    """command run there on each name given on stdin, in the copy."""
    return ['sh', '-c', remote_sh.REMOVE_NAMES, 'sh',
            ctx.facts.mount_point] + command


def delta_list(ctx):
    return os.path.join(ctx.params.work_dir, 'final-delta.list')


def verify(ctx, known=None, source=None, ahead=None):
    """Quick check of every file (manifests: type, size, mtime, mode,
    owner, links, ACLs, xattrs) and, at the same time, checksums of the
    files sent since the checksum pass. `known` (manifest.after_delta):
    the copy's listing is known but for the names the delta touched;
    `source`: the source's listing the delta was made from; `ahead`:
    start_ahead's commands."""
    started = time.time()
    state = ctx.state
    names = sorted(set(state.unsettled + state.final_sent) -
                   set(state.fixed_paths))
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
    state.verify_seconds = time.time() - started
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
    return rsyncing.differences(ctx.commands.run(
        rsync_check_argv(ctx, patterns, checksum),
        timeout=ctx.params.sync_timeout,
        ok_codes=(0, rsyncing.VANISHED)).stdout)


def rsync_check_argv(ctx, patterns, checksum):
    return rsyncing.verify_argv(
        ctx.params.source_root, patterns, ctx.remote.rsync_shell(),
        ctx.remote.rsync_target(ctx.facts.mount_point), checksum=checksum)


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


def listings(ctx):
    return listing_patterns(ctx, planned_excludes(ctx)) is not None


def lines_list_copy(ctx, out, mode):
    out.there(manifest.remote_argv(ctx.facts.mount_point, mode,
                                   planned_excludes(ctx)), WALKER)


def lines_final_sync(ctx, out):
    ctx, p = shared(ctx), ctx.params
    lines_mounted(ctx, out)
    out.note('the excludes also hold what the boot loader wrote, known at '
             'run time')
    if listings(ctx):
        lines_final_delta(ctx, out)
    out.here(sync_argv(ctx, ITEMIZE, patterns=planned_excludes(ctx)))
    if p.verify == 'checksum':
        lines_final_verify(ctx, out)
    out.note('when the run ends, the shared connection closes:')
    out.here(ctx.remote.exit_argv())


def lines_final_delta(ctx, out):
    out.note('with the listing of the copy made before the stop, started '
             'first, each reading its names on stdin once they are known '
             '(so their ssh and start overlap the listing of the source): '
             'rsync of the names that differ, the copy\'s walker of the '
             'names the delta touched, the checksums of the files sent:')
    out.here(sync_argv(ctx, ITEMIZE, '-', planned_excludes(ctx)))
    out.there(manifest.stdin_names_argv(ctx.facts.mount_point),
              'the names the delta touched')
    out.here(listed_verify_argv(ctx),
             'the names sent since the checksum pass')
    out.note('the source listed here (only what changed since its listing '
             'before the stop read again); the copy too if the listing '
             'made before the stop is gone:')
    lines_list_copy(ctx, out, 'lines')
    out.note('decided at run time: the names only on the copy deleted, '
             'then rsync given only the names that differ (the one started '
             'above, else this one)')
    for command in (['rm', '-f'], ['rmdir']):
        out.there(remove_argv(ctx, command), 'the names to delete')
    out.here(sync_argv(ctx, ITEMIZE, delta_list(ctx), planned_excludes(ctx)))
    out.note('if the listing cannot be made, or that sync fails or does '
             'not verify, the full final sync:')


def lines_final_verify(ctx, out):
    if listings(ctx):
        out.note('after the listed changes: the entries the delta touched '
                 'listed again, here and on the copy (by the walker '
                 'started above, else by this one), unless one is '
                 'hard-linked:')
        out.there(manifest.stdin_names_argv(ctx.facts.mount_point),
                  'the names the delta touched')
        out.note('else both sides listed at once (the copy by digest; its '
                 'lines only if the digests differ), beside the checksums:')
        lines_list_copy(ctx, out, 'digest')
        lines_list_copy(ctx, out, 'lines')
    out.note('rsync\'s quick check where the copy cannot be listed:')
    out.here(rsync_check_argv(ctx, planned_excludes(ctx), False))
    out.here(listed_verify_argv(ctx),
             'the names sent since the checksum pass (known at run time)')
