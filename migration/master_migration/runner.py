"""One small runner: runs the steps in order, records each in the state
file, rolls back on failure, prints the summary."""
from __future__ import absolute_import, division, print_function

import contextlib
import signal
import time
import traceback

from rf_common.text import to_text

from master_migration.commands import CommandError
from master_migration.context import RollbackIncomplete, StepFailed
from master_migration.steptable import STEPS
from master_migration.units import human_bytes, human_seconds

EXIT_DONE, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 3


class StepTimeout(StepFailed):
    pass


class Interrupted(Exception):
    pass


def _on_alarm(signum, frame):
    raise StepTimeout('the step ran past its timeout')


def _on_term(signum, frame):
    raise Interrupted('signal %d' % signum)


def arm_step_timer(seconds):
    """SIGALRM after seconds (a float: alarm() would round 0.5 down to
    'never'); 0 disarms."""
    signal.setitimer(signal.ITIMER_REAL, seconds)


def install_signal_handlers():
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.signal(signal.SIGTERM, _on_term)
    signal.signal(signal.SIGINT, _on_term)


@contextlib.contextmanager
def signals_deferred(ctx):
    """A rollback runs to its end: SIGTERM/SIGINT are noted and logged after
    it (half a rollback can leave two masters, or none); no step alarm
    fires in it. Only SIGKILL stops it; --rollback then finishes it."""
    caught = []
    arm_step_timer(0)
    wanted = (signal.SIGTERM, signal.SIGINT, signal.SIGALRM)
    before = dict((s, signal.signal(s, lambda n, f: caught.append(n)))
                  for s in wanted)
    try:
        yield caught
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)
        if [n for n in caught if n != signal.SIGALRM]:
            ctx.log.warning('signal %s came during the rollback: it was '
                            'deferred until the rollback ended', ', '.join(
                                str(n) for n in caught))


def describe_error(exc):
    """Our own errors say what to do; anything else is named by type."""
    if isinstance(exc, (StepFailed, CommandError, EnvironmentError)):
        return to_text(exc)
    return 'unexpected %s: %s' % (type(exc).__name__, to_text(exc))


def preflight(ctx, record=True):
    """The table's preflight row, run before the run goes to the background:
    every check, no change. Raises preflight.PreflightError (refused) or
    preflight.AlreadyMigrated. With record, a pass is kept in the state file
    like any step's (a dry run writes nothing)."""
    step = [s for s in STEPS if s.id == 'preflight'][0]
    started = time.time()
    step.run(ctx)
    if record:
        ctx.state.steps[step.id] = {'started': started}
        ctx.state.mark_done(step.id)


def run_step(ctx, step):
    state = ctx.state
    if state.is_done(step.id):
        ctx.log.info('step %s: done before, skipped', step.id)
        return
    missing = [n for n in step.needs if not state.is_done(n)]
    if missing:
        raise StepFailed('step %s needs %s first' % (step.id,
                                                     ', '.join(missing)))
    if state.step(step.id).get('status') == 'running' and step.done_check \
            and step.done_check(ctx):
        ctx.log.info('step %s: found already done', step.id)
        state.mark_done(step.id)
        return
    state.mark_started(step.id)
    ctx.log.info('step %s: start (%s)', step.id, step.title)
    arm_step_timer(step.timeout(ctx.params))
    try:
        step.run(ctx)
    finally:
        arm_step_timer(0)
    state.mark_done(step.id)
    ctx.log.info('step %s: done in %s', step.id,
                 human_seconds(state.step(step.id)['duration']))


def run(ctx, stop_after=None):
    """Steps after preflight; returns the exit code. stop_after: finish
    that step, keep the state and exit (resume later)."""
    install_signal_handlers()
    current = None
    try:
        for step in STEPS:
            current = step.id
            run_step(ctx, step)
            if step.id == stop_after:
                ctx.log.info('stopped after step %s as asked (--stop-after);'
                             ' state kept in %s: continue with --resume or '
                             'undo with --rollback', step.id, ctx.state.path)
                return EXIT_INTERRUPTED
    except Interrupted as exc:
        ctx.log.error('interrupted (%s) during step %s: state kept in %s; '
                      'continue with --resume or undo with --rollback',
                      exc, current, ctx.state.path)
        return EXIT_INTERRUPTED
    except Exception as exc:  # any error: recorded, then rolled back
        arm_step_timer(0)
        step_failed(ctx, current, exc)
        rollback(ctx)
        summary(ctx)
        return EXIT_FAILED
    ctx.state.status = 'done'
    summary(ctx)
    poweroff(ctx)
    return EXIT_DONE


def step_failed(ctx, step_id, exc):
    text = describe_error(exc)
    ctx.log.error('step %s failed: %s', step_id, text)
    if not isinstance(exc, (StepFailed, CommandError)):
        ctx.log.debug('%s', to_text(traceback.format_exc()))
    ctx.state.mark_failed(step_id, text)
    ctx.state.error = {'step': step_id, 'message': text}


def _undo(ctx, what, action, failures):
    try:
        result = action(ctx)
        if result:
            failures.extend(result)
    except RollbackIncomplete:
        raise  # the guest may hold the address: stop here
    except Exception as exc:  # the other undos still run
        ctx.log.error('rollback: %s failed: %s', what, describe_error(exc))
        ctx.log.debug('%s', to_text(traceback.format_exc()))
        failures.append(what)


def rollback(ctx):
    """Undo through the step table in reverse: before the switch-over the
    services come back first (the master serves again soonest), then what
    was made on the destination goes; after it, the guest stops, the
    address comes back, then the services (guest and disk are kept)."""
    with signals_deferred(ctx):
        ctx.state.status = 'rolling-back'
        failures = undo_all(ctx)
        if failures is None:
            return False
        if failures:
            ctx.state.status = 'rollback-incomplete'
            ctx.log.error('rollback incomplete: %s; fix that and run '
                          '--rollback again', ', '.join(failures))
            return False
        return rolled_back(ctx)


def undo_all(ctx):
    """Each step's undo, last step first (so the services come back before
    what was made on the destination goes). What failed, or None when the
    guest may still hold the admin address: nothing more may be undone."""
    failures = []
    switched = bool(ctx.state.switch_started)
    ctx.log.warning('rolling back (%s the switch-over)',
                    'after' if switched else 'before')
    for step in reversed(STEPS):
        if step.undo is None or (switched and step.kept_after_switch):
            continue
        try:
            _undo(ctx, step.undo_title or 'undo ' + step.id, step.undo, failures)
        except RollbackIncomplete as exc:
            ctx.state.status = 'rollback-incomplete'
            ctx.log.error('rollback incomplete: %s', to_text(exc))
            return None
    return failures


def rolled_back(ctx):
    switched = bool(ctx.state.switch_started)
    ctx.state.status = 'rolled-back'
    where = ctx.state.archive('rolled-back')
    ctx.log.warning('rolled back: the old master serves again; state moved '
                    'to %s%s', where, ' (the stopped guest and its disk are '
                    'kept: a new run needs --replace)' if switched else '')
    return True


def summary(ctx):
    s = ctx.state
    lines = ['summary (%s):' % s.status]
    for step in STEPS:
        entry = s.step(step.id)
        if entry:
            lines.append('  %-14s %-8s %s' % (
                step.id, entry.get('status'),
                human_seconds(entry['duration']) if 'duration' in entry
                else ''))
    for stats, label in ((s.warm_stats, 'warm sync'),
                         (s.final_stats, 'final sync')):
        if stats:
            lines.append('  %s: %d files, %s sent in %.1f s' % (
                label, stats.get('files_transferred', 0),
                human_bytes(stats.get('transferred_bytes', 0)),
                stats['seconds']))
    if s.guest_answered and s.downtime_started:
        lines.append('  downtime (services stopped until the guest '
                     'answered): %s' % human_seconds(
                         s.guest_answered - s.downtime_started))
        lines += boot_lines(ctx)
    lines.append('  log: %s' % ctx.log_path)
    ctx.log.info('\n'.join(lines))


def boot_lines(ctx):
    s = ctx.state
    if not s.guest_started:
        return []
    boot = s.guest_answered - s.guest_started
    return ['  of which the guest\'s boot (%s): %s; without it: %s' % (
        'qemu/TCG' if ctx.params.virt_type == 'qemu' else 'kvm',
        human_seconds(boot), human_seconds(
            s.guest_answered - s.downtime_started - boot))]


def poweroff(ctx):
    if not ctx.params.poweroff:
        ctx.log.info('old master left running with %s (--no-poweroff); the '
                     'guest serves %s now', ctx.params.interim_address,
                     ctx.params.admin_address)
        return
    ctx.log.info('powering off the old master in 5 s')
    time.sleep(5)
    for argv in ctx.params.poweroff_command:
        ctx.commands.run(argv, timeout=120, ok_codes=None)
