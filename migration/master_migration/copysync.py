"""One rsync from the source into the copy: its excludes, its argv (for
the run and for --dry-run alike), its progress and figures."""
from __future__ import absolute_import, division, print_function

import os
import time

from master_migration import dockerpool, fixes, rsyncing
from master_migration.context import copy_excludes
from master_migration.units import human_bytes

ITEMIZE = ['--itemize-changes']


def sync_excludes(ctx):
    """The copy's excludes, plus the files the post-migrate fixes wrote:
    kept as fixed (refresh_fixes re-applies them from the source). What
    is mounted now but is not the master's own joins the excludes (a
    container started since the last sync)."""
    dockerpool.note_foreign_mounts(ctx.facts, ctx.params.source_root)
    return copy_excludes(ctx.params, ctx.facts) + fixed_excludes(
        ctx.params.source_root, ctx.state.fixed_paths)


def planned_excludes(ctx):
    """sync_excludes as --dry-run knows them: the cheap fixes' files."""
    return copy_excludes(ctx.params, ctx.facts) + fixed_excludes(
        ctx.params.source_root, fixes.CHEAP_FIXED)


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


def sync_argv(ctx, extra=(), listed=None, patterns=None):
    """rsync into the copy: everything, or the names in the file `listed`
    ('-': on stdin); patterns: the excludes (sync_excludes by default)."""
    p = ctx.params
    head = (p.source_root, sync_excludes(ctx) if patterns is None else
            patterns, ctx.remote.rsync_shell(),
            ctx.remote.rsync_target(ctx.facts.mount_point))
    tail = (list(p.rsync_options) + list(extra),
            ctx.facts.rsync_progress)
    return rsyncing.listed_sync_argv(*(head + (listed,) + tail)) if listed \
        else rsyncing.sync_argv(*(head + tail))


def sync(ctx, label, extra=(), ok_codes=(0, rsyncing.VANISHED), listed=None,
         started=None, names=()):
    """One rsync into the copy (of everything, or only the names in the
    file `listed`; or by `started`, an rsync started ahead with
    sync_argv(ctx, ITEMIZE, '-'), of `names` given now); returns its stats
    and its itemized lines (when extra asks for --itemize-changes)."""
    reporter = rsyncing.ProgressReporter(ctx.log, label)
    began, timeout = time.time(), ctx.params.sync_timeout
    result = started.stream(rsyncing.files_from_input(names), reporter.feed,
                            timeout, ok_codes) if started else \
        ctx.commands.stream(sync_argv(ctx, extra, listed), reporter.feed,
                            timeout, ok_codes=ok_codes)
    stats = reporter.finish()
    stats['seconds'] = time.time() - began
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
