"""The copy made while the master serves: the warm sync, then the
checksum pass until quiet; with the lines --dry-run prints for each."""
from __future__ import absolute_import, division, print_function

import os

from master_migration import rsyncing
from master_migration.context import StepFailed, copy_excludes
from master_migration.copydisk import ensure_mounted, lines_mounted
from master_migration.copysync import ITEMIZE, sync, sync_argv

# While the services run, a file truncated and rewritten under rsync (a
# log rotated with copytruncate) ends the run with exit 23. That is no
# failure there: what it missed differs from the source afterwards, and
# the checksum pass or the final sync (strict, services stopped) sends it.
WHILE_RUNNING = (0, rsyncing.VANISHED, rsyncing.PARTIAL)
CHECKSUM_ROUNDS = 3
CHECKSUM = ['--checksum'] + ITEMIZE


def warm_sync(ctx):
    ensure_mounted(ctx)
    ctx.state.warm_stats = sync(ctx, 'warm sync (services running)',
                                ok_codes=WHILE_RUNNING)[0]


def lines_warm_sync(ctx, out):
    lines_mounted(ctx, out)
    out.here(sync_argv(ctx, patterns=copy_excludes(ctx.params, ctx.facts)))


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
    ctx.state.unsettled = sent
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
    extra = list(CHECKSUM)
    if names is not None:
        with open(round_list(ctx), 'wb') as handle:
            handle.write(rsyncing.files_from_input(names))
        extra += ['--from0', '--files-from=' + round_list(ctx)]
    stats, itemized = sync(ctx, 'checksum pass %d (services running)'
                           % number, extra, ok_codes=WHILE_RUNNING)
    whole = names is not None or not stats.get('partial')
    return rsyncing.sent_files(itemized), whole


def round_list(ctx):
    return os.path.join(ctx.params.work_dir, 'checksum-round.list')


def lines_checksum_pass(ctx, out):
    if ctx.params.verify != 'checksum':
        out.note('nothing: --verify none')
        return
    lines_mounted(ctx, out)
    out.here(sync_argv(ctx, CHECKSUM, patterns=copy_excludes(ctx.params,
                                                             ctx.facts)))
    out.note('decided at run time: while a round sends files, at most %d '
             'rounds in all, the same with these added:' % CHECKSUM_ROUNDS)
    out.lines.append('  --from0 --files-from=%s' % round_list(ctx))
