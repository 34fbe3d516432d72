"""virt-guests: check, plan, apply, status and retire of this node's guests.

Exit status: 0 done (or nothing to do), 2 bad input (nothing touched),
3 the node cannot take the guests, libvirt does not answer, or another
apply/retire holds the lock (RF_VIRT_GUESTS_LOCK, default
/run/virt-guests.lock; nothing touched; also when qemu-img is
missing, hangs or answers no JSON), 4 libvirt stopped answering after
apply made changes (run apply again), 1 some guests failed or were
refused (the others are in place; for retire: a step failed, see the
message).
"""
from __future__ import absolute_import, division, print_function

import collections
import json
import logging
import os
import sys

from rf_common.text import LineHandler, shown, to_text, write_line
from . import inputcache
from . import plan as planning
from . import reconcile
from . import render
from . import runlock
from . import spec as specs

LOG = logging.getLogger('virt-guests')
DEFAULT_ASTUTE = '/etc/astute.yaml'
DEFAULT_LOG = '/var/log/reduced-footprint/virt-guests.log'
DEFAULT_URI = 'qemu:///system'
OK, FAILED, BAD_INPUT, HOST_REFUSED, LIBVIRT_LOST = 0, 1, 2, 3, 4
MAX_PARALLEL = 64


def _parallel(text):
    """--parallel: a whole number from 1 to MAX_PARALLEL."""
    import argparse
    if not (len(text) <= 3 and text.isdigit() and 1 <= int(text) <= MAX_PARALLEL):
        raise argparse.ArgumentTypeError('%s: give a whole number from 1 to %d'
                                         % (shown(text), MAX_PARALLEL))
    return int(text)


# The command line, one definition: the argparse parser is built from
# COMMON and COMMANDS, and a command given alone (as the deployment tasks
# run it) takes its values from them without argparse.
# An argument: dest (its name in Arguments), flag (None: a positional
# argument, which has no default), default, argparse's other keywords, and
# env: an environment variable whose value, when set, is the default.
Option = collections.namedtuple('Option', 'dest flag default keywords env')
Option.__new__.__defaults__ = (None,)


def _from_env(dest, flag, env, default, text):
    return Option(dest, flag, default, dict(help=text.format(env=env, default=default)), env)


# Options of every command, given before or after it.
COMMON = (
    _from_env('astute', '--astute', 'RF_ASTUTE_YAML', DEFAULT_ASTUTE,
              "the node's astute.yaml (env {env}; default {default})"),
    _from_env('connect', '--connect', 'RF_LIBVIRT_URI', DEFAULT_URI,
              'libvirt URI (env {env}; default {default})'),
    _from_env('log_file', '--log-file', 'RF_VIRT_GUESTS_LOG', DEFAULT_LOG,
              'log file (env {env}; default {default}; "" for none)'))
_JSON = Option('json', '--json', False, dict(action='store_true', help='print JSON'))
# command -> (what it does, its own arguments)
COMMANDS = collections.OrderedDict([
    ('check', ('validate astute.yaml and the template (no libvirt)', ())),
    ('plan', ('print what apply would do, change nothing', (
        _JSON,
        Option('xml', '--xml', False, dict(
            action='store_true', help='also print the domain XML of guests to define'))))),
    ('apply', ('create, define, start and autostart the guests', (
        _JSON,
        Option('dry_run', '--dry-run', False, dict(action='store_true', help='same as plan')),
        Option('parallel', '--parallel', 4, dict(
            type=_parallel, help='guests created at once, 1 to %d (default %%(default)s)'
            % MAX_PARALLEL))))),
    ('status', ('list the guests with state, MACs and disks', (_JSON,))),
    ('retire', ('stop and undefine a guest no longer in vms_conf (its disk is kept)', (
        Option('name', None, None, dict(metavar='NAME', help='the guest, e.g. 3_vm')),
        Option('confirm', '--confirm', None, dict(
            metavar='NAME', help='the same name again: needed to retire it')),
        Option('remove_disk', '--remove-disk', False, dict(
            action='store_true', help='also delete its disk image (kept by default)')),
        Option('dry_run', '--dry-run', False, dict(
            action='store_true', help='print what would be done and stop')))))])


class Arguments(object):
    """The parsed command line: the namespace argparse fills, or, for a
    command given alone, the defaults of its arguments."""

    def __init__(self, **values):
        self.__dict__.update(values)


def _default(option):
    return os.environ.get(option.env, option.default) if option.env else option.default


def parse_args(argv):
    argv = list(argv)
    if len(argv) == 1 and argv[0] in COMMANDS:
        options = COMMON + COMMANDS[argv[0]][1]
        if all(option.flag for option in options):  # no positional argument
            # A command alone, as the deployment tasks run it: argparse would
            # cost ~10 ms of a no-op re-run's ~0.15 s under Python 2.7.
            return Arguments(command=argv[0], **dict((o.dest, _default(o)) for o in options))
    return _parser(argv).parse_args(argv, Arguments())


def _add(parser, option, default):
    if option.flag is None:
        parser.add_argument(option.dest, **option.keywords)
    else:
        parser.add_argument(option.flag, dest=option.dest, default=default, **option.keywords)


def _parser(argv):
    import argparse
    parser = argparse.ArgumentParser(prog='virt-guests', description=(
        'KVM guests of this virt node from vms_conf in astute.yaml.'))
    for option in COMMON:
        _add(parser, option, _default(option))
    commands = parser.add_subparsers(dest='command', metavar='COMMAND')
    for name, (text, options) in COMMANDS.items():
        sub = commands.add_parser(name, help=text)
        for option in COMMON:  # given after the command; one before it is kept
            _add(sub, option, argparse.SUPPRESS)
        for option in options:
            _add(sub, option, option.default)
    # Python 2.7's argparse requires the subcommand itself, with another text.
    words = set(argv)
    if not words & set(COMMANDS) and not words & set(['-h', '--help']):
        names = list(COMMANDS)
        parser.error('a command is needed: %s or %s' % (', '.join(names[:-1]), names[-1]))
    return parser


def setup_logging(log_file, to_stderr):
    LOG.setLevel(logging.INFO)
    LOG.handlers = []
    console = LineHandler(sys.stderr if to_stderr else sys.stdout)
    console.setFormatter(logging.Formatter('virt-guests: %(message)s'))
    LOG.addHandler(console)
    if not log_file:
        return
    try:
        if not os.path.isdir(os.path.dirname(log_file)):
            os.makedirs(os.path.dirname(log_file), 0o755)
        handler = logging.FileHandler(log_file, encoding='utf-8')
    except (IOError, OSError) as error:
        LOG.warning('cannot write the log file %s: %s', to_text(log_file),
                    to_text(error))
        return
    handler.setFormatter(logging.Formatter('%(asctime)s %(levelname)s %(message)s'))
    LOG.addHandler(handler)


def load_desired(path, cached=True):
    """Desired, or None after logging every problem of the input."""
    try:
        spec = inputcache.load_spec(path, cached)
        desired = reconcile.Desired(spec)
    except specs.InvalidInput as error:
        LOG.error('%s: %d problem(s), nothing was changed:', to_text(path),
                  len(error.problems))
        for problem in error.problems:
            LOG.error('  %s', specs.format_problem(problem))
        return None
    except render.TemplateError as error:
        LOG.error('%s; nothing was changed', to_text(error))
        return None
    for warning in spec.warnings:
        LOG.warning('warning: %s', warning)
    return desired


def describe_guests(spec):
    for guest in spec.guests:
        LOG.info('guest %s: %d vCPU, %d MiB, disk %s (%s) at %s', guest.name,
                 guest.cpu, guest.mem_mib, guest.disk_size, spec.settings.disk_format,
                 guest.disk_path)


def no_guests(spec):
    """Empty vms_conf: nothing to create (or only removals to do)."""
    if spec.guests or spec.settings.remove_undeclared:
        return False
    LOG.info('no guests in vms_conf of node %s: nothing to do', spec.node.uid)
    return True


def log_python():
    """Which interpreter the launcher chose (deployment logs show it)."""
    LOG.info('running under Python %s (%s)', '%d.%d.%d' % sys.version_info[:3],
             to_text(sys.executable))


def cmd_check(args):
    log_python()
    desired = load_desired(args.astute, cached=False)
    if desired is None:
        return BAD_INPUT
    if not no_guests(desired.spec):
        describe_guests(desired.spec)
        LOG.info('input valid: %d guest(s)', len(desired.spec.guests))
    return OK


def _action_dicts(actions):
    return [{'kind': a.kind, 'name': a.name, 'reason': a.reason} for a in actions]


def _log_plan(actions):
    for action in actions:
        level = logging.WARNING if action.kind in planning.WARNINGS else logging.INFO
        LOG.log(level, '  %s', planning.format_action(action))


def _start(args):
    setup_logging(args.log_file, getattr(args, 'json', False))
    return load_desired(args.astute)


def _survey(args, desired, for_plan):
    """reconcile.survey over a new connection, its warnings logged."""
    connection = reconcile.connect(args.connect)
    found = reconcile.survey(connection, desired, for_plan)
    for text in found.warnings:
        LOG.warning('warning: %s', text)
    return connection, found


def _print_json(value):
    write_line(json.dumps(value, indent=2, separators=(',', ': ')))


def cmd_plan(args):
    desired = _start(args)
    if desired is None:
        return BAD_INPUT
    if no_guests(desired.spec):
        if args.json:
            write_line(json.dumps({'actions': [], 'host_problems': [], 'notes': []}))
        return OK
    _, found = _survey(args, desired, True)
    if args.json:
        _print_json({'actions': _action_dicts(found.actions),
                     'host_problems': found.problems, 'notes': found.notes})
    LOG.info('plan for node %s (%d change(s)):', desired.spec.node.uid,
             len(planning.changes(found.actions)))
    _log_plan(found.actions)
    for text in found.notes:
        LOG.info('note: %s', text)
    if getattr(args, 'xml', False):
        for action in found.actions:
            if action.kind == planning.DEFINE:
                write_line(desired.by_name[action.name][1])
    for text in found.problems:
        LOG.error('refused: %s', text)
    return HOST_REFUSED if found.problems else _refused_or_ok(found.actions)


def _refused_or_ok(actions):
    return FAILED if planning.refusals(actions) else OK


def _log_applied(applied):
    """Log what apply left undone; True when something was."""
    for action in applied.left:
        LOG.error('still to do after apply: %s', planning.format_action(action))
    failed = [r for r in applied.results if not r.ok]
    for result in failed:
        LOG.error('guest %s failed: %s (the next run retries it)', result.name, result.error)
    if not failed and not applied.left:
        LOG.info('verified: a new plan has no changes left')
    return bool(failed or applied.left)


def _lock():
    """True once this run holds the apply/retire lock; logs who holds it if not."""
    try:
        runlock.acquire()
    except runlock.Busy as error:
        LOG.error('%s', to_text(error))
        return False
    return True


def _refused(problems):
    """Log why nothing was changed, if there are problems; True if so."""
    for text in problems:
        LOG.error('refused, nothing was changed: %s', text)
    return bool(problems)


def _log_fixed(texts):
    for text in texts:
        LOG.info('fixed: %s', text)


def cmd_apply(args):
    if args.dry_run:
        return cmd_plan(args)
    desired = _start(args)
    log_python()
    if desired is None:
        return BAD_INPUT
    if no_guests(desired.spec):
        return OK
    if not _lock():
        return HOST_REFUSED
    _log_fixed([text for text in [reconcile.fix_kvm()] if text])
    connection, found = _survey(args, desired, False)
    if _refused(found.problems):
        return HOST_REFUSED
    _log_fixed(reconcile.tighten_disks(connection, desired, found.actions))
    _log_plan(found.actions)
    if not planning.changes(found.actions):
        LOG.info('nothing to do: %d guest(s) already defined, running, autostart on; '
                 'no change made', len(desired.wants))
        return _refused_or_ok(found.actions)
    return finish_apply(args, connection, desired, found.actions)


def finish_apply(args, connection, desired, actions):
    """Apply the changes and verify them: the exit status."""
    try:
        applied = reconcile.apply(connection, desired, actions, args.parallel)
    except reconcile.LibvirtLost as error:
        LOG.error('%s: libvirt stopped answering during apply; run apply again',
                  to_text(error))
        return LIBVIRT_LOST
    bad = _log_applied(applied)
    if args.json:
        _print_json({'actions': _action_dicts(actions),
                     'results': [dict(r._asdict()) for r in applied.results],
                     'plan_after': _action_dicts(applied.plan_after)})
    return FAILED if bad else _refused_or_ok(actions)


def _status_line(row):
    disks = ', '.join('%s (%s%s)' % (d['path'], d['format'], '' if d['exists'] else ', missing')
                      for d in row.get('disks', []))
    nics = ', '.join('%s@%s' % (n['mac'], n['bridge']) for n in row.get('nics', []))
    return ('%-10s %-12s autostart=%-5s vcpu=%-3s mem=%sMiB admin-mac=%s%s\n'
            '    nics: %s\n    disks: %s') % (
        row['name'], row['state'], row.get('autostart', '-'), row.get('vcpu', '-'),
        row.get('memory_mib', '-'), row.get('admin_mac', '-'),
        '' if row['declared'] else ' (not in vms_conf)', nics or '-', disks or '-')


def cmd_status(args):
    desired = _start(args)
    if desired is None:
        return BAD_INPUT
    rows = reconcile.connect(args.connect).status(desired.spec.node.uid, desired.names())
    if args.json:
        _print_json(rows)
    else:
        for row in rows:
            write_line(_status_line(row))
        if not rows:
            write_line('no guests on node %s' % desired.spec.node.uid)
    return OK


def cmd_retire(args):
    desired = _start(args)
    if desired is None:
        return BAD_INPUT
    if not args.dry_run and not _lock():
        return HOST_REFUSED
    connection = reconcile.connect(args.connect)
    retirement = reconcile.plan_retire(connection, desired, args)
    if _refused(retirement.problems):
        return BAD_INPUT
    LOG.info('retire %s of node %s (%s):', args.name, desired.spec.node.uid,
             'dry run, nothing is changed' if args.dry_run else 'confirmed')
    _log_plan(retirement.actions)
    if args.dry_run:
        return OK
    try:
        reconcile.retire(connection, retirement)
    except reconcile.LibvirtLost as error:
        LOG.error('retire %s: %s', args.name, to_text(error))
        return FAILED
    LOG.info('retired %s; %s', args.name, planning.undo_text(retirement.state.facts))
    return OK


def main(argv=None):
    """The exit status of the command. For every command, reconcile's
    Unavailable (libvirt, or qemu-img, cannot be asked: raised only before
    anything is changed) is HOST_REFUSED."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == 'check':
        setup_logging(args.log_file, False)
        return cmd_check(args)
    command = {'plan': cmd_plan, 'apply': cmd_apply, 'status': cmd_status,
               'retire': cmd_retire}[args.command]
    try:
        return command(args)
    except reconcile.Unavailable as error:
        LOG.error('%s', to_text(error))
        return HOST_REFUSED
