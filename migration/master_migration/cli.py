"""Command line: parameters, lock, state, preflight, background, run."""
from __future__ import absolute_import, division, print_function

import argparse
import logging
import os
import sys
import time

from rf_common.text import LineHandler, cut, py3_repr, to_text, write_line

from master_migration import PROG, __version__, params as params_mod
from master_migration import preflight, runner, services, steptable
from master_migration.commands import Commands, CommandError
from master_migration.context import Context
from master_migration.state import Lock, LockBusy, State, work_dir_problem

EXIT_BAD_INPUT = 2
ROLLBACK_STATUSES = ('rolling-back', 'rollback-incomplete')
NOT_ON_CLI = ('destination', 'nics', 'stop_commands', 'start_commands',
              'systemd_units', 'docker_containers', 'poweroff',
              'poweroff_command', 'replace', 'remove_disk', 'exclude',
              'rsync_options')


def build_parser():
    parser = argparse.ArgumentParser(
        prog=PROG, description='Move this running Fuel master into a KVM '
        'guest on a virt node: warm copy while it serves, short downtime, '
        'automatic rollback. See docs/migration.md.')
    parser.add_argument('destination', nargs='?',
                        help='virt node name or address (ssh as root)')
    parser.add_argument('--config', help='YAML file with option: value')
    for key, default, _, text in params_mod.FIELDS:
        if key not in NOT_ON_CLI:
            parser.add_argument('--' + key.replace('_', '-'), dest=key,
                                help='%s (default: %s)' % (text, default))
    parser.add_argument('--nic', dest='nics', action='append',
                        metavar='IFACE=BRIDGE', help='another NIC to carry')
    parser.add_argument('--exclude', action='append', metavar='PATTERN',
                        help='also leave this out of the copy')
    parser.add_argument('--rsync-option', dest='rsync_options',
                        action='append', metavar='OPT')
    parser.add_argument('--no-poweroff', dest='poweroff', action='store_const',
                        const=False, help='leave the old master on')
    parser.add_argument('--replace', action='store_const', const=True,
                        help='replace a stopped guest of that name')
    parser.add_argument('--remove-disk', action='store_const', const=True,
                        help='rollback removes the disk image too')
    parser.add_argument('--dry-run', action='store_true',
                        help='stop after preflight and print the plan')
    parser.add_argument('--resume', action='store_true',
                        help='continue an interrupted run')
    parser.add_argument('--rollback', action='store_true',
                        help='undo an interrupted run')
    parser.add_argument('--stop-after', choices=steptable.STEP_IDS[1:],
                        metavar='STEP', help='finish this step, keep the '
                        'state and exit 3 (one of: %s); --resume goes on' %
                        ', '.join(steptable.STEP_IDS[1:]))
    parser.add_argument('--foreground', action='store_true',
                        help='do not go to the background')
    parser.add_argument('--version', action='version',
                        version='%s %s' % (PROG, __version__))
    return parser


def cli_values(args, config):
    values = dict((k, getattr(args, k, None)) for k in params_mod.FIELD_NAMES)
    if args.exclude:  # the config's list (or one string) stays, then these
        configured = config.get('exclude') or []
        if isinstance(configured, params_mod.string_types):
            configured = [configured]
        values['exclude'] = (configured + args.exclude
                             if isinstance(configured, list) else configured)
    return values


def setup_logging(log_path, to_terminal=True):
    log = logging.getLogger(PROG)
    log.setLevel(logging.DEBUG)
    log.handlers = []
    handler = logging.FileHandler(log_path, encoding='utf-8')
    formatter = logging.Formatter('%(asctime)s %(levelname)s %(message)s',
                                  '%Y-%m-%dT%H:%M:%SZ')
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    log.addHandler(handler)
    if to_terminal:
        terminal = LineHandler(sys.stderr)
        terminal.setLevel(logging.INFO)
        terminal.setFormatter(logging.Formatter('%(message)s'))
        log.addHandler(terminal)
    return log


def go_to_background(log, log_path):
    """Go on in the background, immune to the operator's ssh session
    dropping when the admin address moves."""
    sys.stdout.flush()
    sys.stderr.flush()
    read_fd, write_fd = os.pipe()
    child = os.fork()
    if child:
        os.close(write_fd)
        pid = os.read(read_fd, 32).decode('ascii').strip()
        os.waitpid(child, 0)
        write_line('%s continues in the background (pid %s); follow it '
                   'with:\n  tail -f %s' % (PROG, pid, log_path))
        sys.stdout.flush()
        os._exit(0)
    os.close(read_fd)
    os.setsid()
    if os.fork():
        os._exit(0)
    os.write(write_fd, str(os.getpid()).encode('ascii'))
    os.close(write_fd)
    null = os.open(os.devnull, os.O_RDWR)
    out = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    for handler in list(log.handlers):
        if isinstance(handler, logging.StreamHandler) and not isinstance(
                handler, logging.FileHandler):
            log.removeHandler(handler)


def work_dir_from(args, config):
    """The checked work_dir; ValueError says what is wrong with it."""
    value = args.work_dir or config.get('work_dir', '/var/lib/rf-migrate-master')
    try:
        return params_mod.work_dir(value)
    except ValueError as exc:
        raise ValueError('work_dir: %s: %s' % (cut(py3_repr(value)), exc))


def main(argv=None):
    if argv is None:
        argv = sys.argv[1:]
    # Python 2.7 gives bytes: the same text as on 3 for what follows.
    args = build_parser().parse_args([to_text(a) for a in argv])
    try:
        config = params_mod.load_config(args.config) if args.config else {}
    except params_mod.ParamError as exc:
        return fail(exc.problems)
    try:
        work_dir = work_dir_from(args, config)
    except ValueError as exc:
        return fail([to_text(exc)])
    try:
        os.makedirs(work_dir, 0o750)
    except OSError:
        if not os.path.isdir(work_dir):
            return fail(['work_dir: cannot create %s' % work_dir])
    unsafe = work_dir_problem(work_dir)
    if unsafe:
        return fail([unsafe])
    lock = Lock(os.path.join(work_dir, 'lock'))
    try:
        lock.acquire()
    except LockBusy as exc:
        return fail([to_text(exc)])
    try:
        return with_lock(args, config, work_dir, lock)
    finally:
        lock.release()


def fail(problems, code=EXIT_BAD_INPUT):
    write_line('%s: cannot go on:\n  - %s' % (PROG, '\n  - '.join(problems)),
               sys.stderr)
    return code


def with_lock(args, config, work_dir, lock):
    state_path = os.path.join(work_dir, 'state.json')
    log_path = os.path.join(work_dir, 'migrate.log')
    try:
        state = State.load(state_path)
    except ValueError as exc:
        return fail([to_text(exc)])
    log = setup_logging(log_path)
    if state is not None and state.status == 'done':
        write_line('migration already done (%s): guest %s on %s serves %s; '
                   'nothing to do' % (os.path.join(work_dir, 'done'),
                                      state.params['name'],
                                      state.params['destination'],
                                      state.params['admin_address']))
        return 0
    if args.rollback or args.resume:
        ctx, code = from_state(args, state, work_dir, log, log_path)
        if ctx is None:
            return code
    elif state is not None:
        running = [k for k, v in state.steps.items()
                   if v.get('status') == 'running'] or ['?']
        return fail(['an interrupted migration is recorded in %s (step %s); '
                     'continue it with --resume or undo it with --rollback'
                     % (state_path, running[0])], runner.EXIT_INTERRUPTED)
    else:
        ctx, code = start_new(args, config, work_dir, state_path, log,
                              log_path)
        if ctx is None:
            return code
    if not args.foreground:
        go_to_background(log, log_path)
        lock.note_pid()
    return runner.run(ctx, args.stop_after)


def from_state(args, state, work_dir, log, log_path):
    """--rollback (done here) or --resume: (context to run on, None) or
    (None, exit code)."""
    if state is None:
        write_line('no interrupted run in %s: nothing to %s' % (
            work_dir, 'roll back' if args.rollback else 'resume'))
        return None, 0 if args.rollback else EXIT_BAD_INPUT
    if args.resume and state.status in ROLLBACK_STATUSES:
        return None, fail(['a rollback of this run was started (%s in %s): '
                           'finish it with --rollback; it cannot be resumed'
                           % (state.status, state.path)],
                          runner.EXIT_INTERRUPTED)
    ctx = new_context(params_mod.Params(state.params), state, log, log_path)
    if args.rollback:
        return None, 0 if runner.rollback(ctx) else runner.EXIT_FAILED
    log.info('resuming the run of %s', time.strftime(
        '%Y-%m-%d %H:%M:%S UTC', time.gmtime(state.created)))
    return ctx, None


def new_context(params, state, log, log_path):
    """The run's context; the test hook's environment read here, once."""
    ctx = Context(params, state.facts, state, Commands(log), log,
                  pause_at=os.environ.get('RFM_TEST_PAUSE'))
    ctx.log_path = log_path
    return ctx


def start_new(args, config, work_dir, state_path, log, log_path):
    """Parameters and preflight; returns (context, None) to go on or
    (None, exit code)."""
    try:
        values = cli_values(args, config)
        values['work_dir'] = work_dir
        params = params_mod.build_params(values, config, args.config)
    except params_mod.ParamError as exc:
        return None, fail(exc.problems)
    state = State(state_path)
    state.data['params'] = params.as_dict()  # saved with preflight's record
    ctx = new_context(params, state, log, log_path)
    log.info('%s %s (Python %s, %s): preflight for %s -> %s', PROG,
             __version__, '%d.%d.%d' % sys.version_info[:3], sys.executable,
             params.admin_address, params.destination)
    try:
        runner.preflight(ctx, record=not args.dry_run)
    except preflight.AlreadyMigrated as exc:
        write_line(to_text(exc))
        return None, 0
    except preflight.PreflightError as exc:
        log.error('preflight refused, nothing was changed:\n  - %s',
                  '\n  - '.join(exc.problems))
        return None, EXIT_BAD_INPUT
    if args.dry_run:
        services_plan = dry_run_services(ctx)
        write_line(steptable.format_plan(
            params, ctx.facts, services_plan,
            steptable.step_commands(ctx, services_plan)))
        return None, 0
    log.info('preflight passed: %d files, %d bytes to copy',
             ctx.facts.data_files, ctx.facts.data_bytes)
    return ctx, None


def dry_run_services(ctx):
    try:
        return services.plan_services(ctx.facts.services_kind,
                                      ctx.params, ctx.commands)
    except (CommandError, EnvironmentError):
        return None
