"""What the runner tells the operator and leaves behind: the documented
exit codes, the order the step table asks for, a step left running, no
step timer or rollback signal handler left over, the summary and the
power-off (steps faked, commands recorded)."""
from __future__ import absolute_import, division, print_function

import signal

import pytest

from master_migration import runner, steptable
from master_migration.context import StepFailed
from recorder import Recorder
from test_migration_runner import make_ctx


def step(step_id, run=None, needs=(), done_check=None):
    return steptable.Step(step_id, 'step ' + step_id, needs, lambda p: 10,
                          run or (lambda ctx: None), None, done_check)


def fails(ctx):
    raise StepFailed('disk on fire')


@pytest.fixture
def handlers():
    """The runner installs its own SIGTERM/SIGINT/SIGALRM handlers: put
    the test process's back afterwards."""
    wanted = (signal.SIGTERM, signal.SIGINT, signal.SIGALRM)
    before = dict((s, signal.getsignal(s)) for s in wanted)
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    for signum, handler in before.items():
        signal.signal(signum, handler)


@pytest.mark.parametrize('steps,stop_after,code', [
    ([step('a')], None, 0),                 # done
    ([step('a', fails)], None, 1),          # failed and rolled back
    ([step('a'), step('b')], 'a', 3)])      # stopped: resume or roll back
def test_the_exit_codes_are_the_documented_ones(tmp_path, monkeypatch, handlers,
                                                steps, stop_after, code):
    """docs/migration.md: 0 done, 1 failed and rolled back, 3 interrupted."""
    monkeypatch.setattr(runner, 'STEPS', steps)
    assert runner.run(make_ctx(tmp_path, Recorder()), stop_after) == code


def test_a_step_whose_needs_are_not_done_is_refused_unrun(tmp_path):
    ran = []
    ctx = make_ctx(tmp_path, Recorder())
    with pytest.raises(StepFailed) as caught:
        runner.run_step(ctx, step('b', lambda ctx: ran.append('b'), needs=('a',)))
    assert str(caught.value) == 'step b needs a first' and ran == []


def test_only_a_step_left_running_is_asked_whether_it_is_already_done(tmp_path):
    """A killed run's step left 'running' whose work is found done is not
    run again; a step never started runs even if its check would say so."""
    ran = []
    ctx = make_ctx(tmp_path, Recorder())
    ctx.state.mark_started('a')
    runner.run_step(ctx, step('a', lambda ctx: ran.append('a'),
                              done_check=lambda ctx: True))
    runner.run_step(ctx, step('b', lambda ctx: ran.append('b'),
                              done_check=lambda ctx: True))
    assert ran == ['b']
    assert ctx.state.is_done('a') and ctx.state.is_done('b')
    assert 'step a: found already done' in ctx.log.lines


@pytest.mark.parametrize('steps', [[step('a')], [step('a', fails)]])
def test_no_step_timer_is_left_armed_once_the_run_ends(tmp_path, monkeypatch,
                                                       handlers, steps):
    """Else its alarm would end the power-off or the caller with a
    'step ran past its timeout' long after the steps."""
    monkeypatch.setattr(runner, 'STEPS', steps)
    runner.run(make_ctx(tmp_path, Recorder()))
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_a_rollback_gives_the_signal_handlers_back(tmp_path, handlers):
    def mine(signum, frame):
        pass
    signal.signal(signal.SIGTERM, mine)
    assert runner.rollback(make_ctx(tmp_path, Recorder()))
    assert signal.getsignal(signal.SIGTERM) is mine


def test_the_summary_says_each_step_the_copies_and_the_downtime(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, 'STEPS', [step('preflight'), step('warm_sync'),
                                          step('final_sync')])
    ctx = make_ctx(tmp_path, Recorder())
    runner.preflight(ctx)
    state = ctx.state
    state.data['steps']['warm_sync'] = {'status': 'done', 'duration': 75.2}
    state.warm_stats = {'files_transferred': 12, 'transferred_bytes': 3 << 20,
                        'seconds': 8.04}
    state.final_stats = {'seconds': 0.5}  # rsync printed no figures
    state.downtime_started = 1000.0
    state.guest_started = 1040.0
    state.guest_answered = 1100.0
    state.status = 'done'
    ctx.params.virt_type = 'qemu'
    runner.summary(ctx)
    assert ctx.log.lines[-1].splitlines() == [
        'summary (done):',
        '  preflight      done     0 s',
        '  warm_sync      done     1 min 15 s',
        '  warm sync: 12 files, 3.0 MiB sent in 8.0 s',
        '  final sync: 0 files, 0 B sent in 0.5 s',
        '  downtime (services stopped until the guest answered): 1 min 40 s',
        "  of which the guest's boot (qemu/TCG): 1 min 00 s; without it: 40 s",
        '  log: %s' % ctx.log_path]


def test_after_a_done_run_the_old_master_is_powered_off(tmp_path, monkeypatch, handlers):
    monkeypatch.setattr(runner, 'STEPS', [step('a')])
    monkeypatch.setattr(runner.time, 'sleep', lambda seconds: None)
    rec = Recorder()
    ctx = make_ctx(tmp_path, rec)
    ctx.params.poweroff = True
    ctx.params.poweroff_command = [['sync'], ['poweroff']]
    assert runner.run(ctx) == 0
    assert rec.calls == [['sync'], ['poweroff']]


@pytest.mark.parametrize('error,traced', [(StepFailed('disk on fire'), False),
                                          (ValueError('12 GiB'), True)])
def test_only_an_unexpected_error_puts_its_traceback_in_the_log(tmp_path, monkeypatch,
                                                                handlers, error, traced):
    def raising(ctx):
        raise error
    monkeypatch.setattr(runner, 'STEPS', [step('a', raising)])
    ctx = make_ctx(tmp_path, Recorder())
    assert runner.run(ctx) == 1
    assert any('Traceback (most recent call last)' in line
               for line in ctx.log.lines) == traced


@pytest.mark.parametrize('switched', [False, True])
def test_the_rollback_says_which_side_of_the_switch_over_it_is(
        tmp_path, monkeypatch, switched):
    monkeypatch.setattr(runner, 'STEPS', [steptable.Step('a', 'a', (), lambda p: 10,
                                                         lambda ctx: None, lambda ctx: None,
                                                         None)])
    ctx = make_ctx(tmp_path, Recorder())
    if switched:
        ctx.state.switch_started = 1.0
    assert runner.rollback(ctx)
    side = 'after' if switched else 'before'
    assert 'rolling back (%s the switch-over)' % side in ctx.log.lines
    kept = ' (the stopped guest and its disk are kept: a new run needs --replace)'
    assert ctx.log.lines[-1].endswith(kept) == switched


def test_an_undo_that_fails_is_named_and_the_state_kept(tmp_path, monkeypatch, handlers):
    def cannot(ctx):
        raise StepFailed('ssh: no route to host')
    monkeypatch.setattr(runner, 'STEPS', [steptable.Step('a', 'a', (), lambda p: 10,
                                                         lambda ctx: None, cannot, None)])
    ctx = make_ctx(tmp_path, Recorder())
    assert not runner.rollback(ctx)
    assert ctx.log.lines[-1] == ('rollback incomplete: undo a; fix that and run '
                                 '--rollback again')
    assert ctx.state.status == 'rollback-incomplete'
