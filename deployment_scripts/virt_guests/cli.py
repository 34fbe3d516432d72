"""virt-guests: check, plan, apply, status and retire of this node's guests.

Exit status: 0 done (or nothing to do), 2 bad input (nothing touched),
3 the node cannot take the guests, libvirt does not answer, or another
apply/retire holds the lock (RF_VIRT_GUESTS_LOCK, default
/var/lock/virt-guests.lock; nothing touched; also when qemu-img is
missing, hangs or answers no JSON), 4 libvirt stopped answering after
apply made changes (run apply again), 1 some guests failed or were
refused (the others are in place; for retire: a step failed, see the
message).
"""
from __future__ import absolute_import, division, print_function

import argparse
import collections
import grp
import json
import logging
import os
import sys

from . import compat
from . import domainxml
from . import host
from . import inputcache
from . import plan as planning
from . import render
from . import runlock
from . import spec as specs

LOG = logging.getLogger('virt-guests')
DEFAULT_ASTUTE = '/etc/astute.yaml'
DEFAULT_LOG = '/var/log/reduced-footprint/virt-guests.log'
DEFAULT_URI = 'qemu:///system'
OK, FAILED, BAD_INPUT, HOST_REFUSED, LIBVIRT_LOST = 0, 1, 2, 3, 4
COMMANDS = collections.OrderedDict([
    ('check', 'validate astute.yaml and the template (no libvirt)'),
    ('plan', 'print what apply would do, change nothing'),
    ('apply', 'create, define, start and autostart the guests'),
    ('status', 'list the guests with state, MACs and disks'),
    ('retire', 'stop and undefine a guest no longer in vms_conf (its disk is kept)')])


def _options(parser, defaults):
    """The common options, on the main parser and on each subcommand."""
    def default(value):
        return value if defaults else argparse.SUPPRESS
    parser.add_argument('--astute', default=default(
        os.environ.get('RF_ASTUTE_YAML', DEFAULT_ASTUTE)),
        help='the node\'s astute.yaml (env RF_ASTUTE_YAML; default %s)' % DEFAULT_ASTUTE)
    parser.add_argument('--connect', default=default(
        os.environ.get('RF_LIBVIRT_URI', DEFAULT_URI)),
        help='libvirt URI (env RF_LIBVIRT_URI; default %s)' % DEFAULT_URI)
    parser.add_argument('--log-file', default=default(
        os.environ.get('RF_VIRT_GUESTS_LOG', DEFAULT_LOG)),
        help='log file (env RF_VIRT_GUESTS_LOG; default %s; "" for none)' % DEFAULT_LOG)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog='virt-guests', description=(
        'KVM guests of this virt node from vms_conf in astute.yaml.'))
    _options(parser, True)
    commands = parser.add_subparsers(dest='command', metavar='COMMAND')
    for name, text in COMMANDS.items():
        sub = commands.add_parser(name, help=text)
        _options(sub, False)
        if name == 'retire':
            _retire_options(sub)
        if name in ('plan', 'status', 'apply'):
            sub.add_argument('--json', action='store_true', help='print JSON')
        if name == 'plan':
            sub.add_argument('--xml', action='store_true',
                             help='also print the domain XML of guests to define')
        if name == 'apply':
            sub.add_argument('--dry-run', action='store_true', help='same as plan')
            sub.add_argument('--parallel', type=int, default=4,
                             help='guests created at once (default 4)')
    # Python 2.7's argparse requires the subcommand itself, with another text.
    words = set(argv)
    if not words & set(COMMANDS) and not words & set(['-h', '--help']):
        parser.error('a command is needed: check, plan, apply, status or retire')
    return parser.parse_args(argv)


def _retire_options(sub):
    sub.add_argument('name', metavar='NAME', help='the guest, e.g. 3_vm')
    sub.add_argument('--confirm', metavar='NAME',
                     help='the same name again: needed to retire it')
    sub.add_argument('--remove-disk', action='store_true',
                     help='also delete its disk image (kept by default)')
    sub.add_argument('--dry-run', action='store_true',
                     help='print what would be done and stop')


def setup_logging(log_file, to_stderr):
    LOG.setLevel(logging.INFO)
    LOG.handlers = []
    console = compat.LineHandler(sys.stderr if to_stderr else sys.stdout)
    console.setFormatter(logging.Formatter('virt-guests: %(message)s'))
    LOG.addHandler(console)
    if not log_file:
        return
    try:
        if not os.path.isdir(os.path.dirname(log_file)):
            os.makedirs(os.path.dirname(log_file), 0o755)
        handler = logging.FileHandler(log_file, encoding='utf-8')
    except (IOError, OSError) as error:
        LOG.warning('cannot write the log file %s: %s', compat.to_text(log_file),
                    compat.to_text(error))
        return
    handler.setFormatter(logging.Formatter('%(asctime)s %(levelname)s %(message)s'))
    LOG.addHandler(handler)


class Desired(object):
    """The validated input, rendered: what the guests should look like."""

    def __init__(self, spec):
        self.spec = spec
        template = render.load_template(spec.settings.domain_template or None)
        self.wants = [(render.want(g, spec.node, spec.settings), g.disk_bytes)
                      for g in spec.guests]
        self.by_name = domainxml.RenderedOnUse(template, self.wants, spec.settings)

    def plan(self, observed):
        return planning.plan(self.wants, observed, self.spec.node.uid,
                             self.spec.settings.remove_undeclared)

    def disk_paths(self):
        return [w.disk_path for w, _ in self.wants]


def load_desired(path, cached=True):
    """Desired, or None after logging every problem of the input."""
    try:
        spec = inputcache.load_spec(path, cached)
        desired = Desired(spec)
    except specs.InvalidInput as error:
        LOG.error('%s: %d problem(s), nothing was changed:', compat.to_text(path),
                  len(error.problems))
        for problem in error.problems:
            LOG.error('  %s', specs.format_problem(problem))
        return None
    except render.TemplateError as error:
        LOG.error('%s; nothing was changed', compat.to_text(error))
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
             compat.to_text(sys.executable))


def cmd_check(args):
    log_python()
    desired = load_desired(args.astute, cached=False)
    if desired is None:
        return BAD_INPUT
    if not no_guests(desired.spec):
        describe_guests(desired.spec)
        LOG.info('input valid: %d guest(s)', len(desired.spec.guests))
    return OK


class Unavailable(Exception):
    """libvirt-python is not installed or libvirtd does not answer."""


def _connect(args):
    try:
        from . import hypervisor  # libvirt is installed after the check task
    except ImportError as error:
        raise Unavailable('libvirt-python is missing (%s): run install-hypervisor.sh'
                          % error)
    try:
        return hypervisor, hypervisor.connect(args.connect)
    except hypervisor.HypervisorError as error:
        raise Unavailable(compat.to_text(error))


def _observe(hypervisor, conn, disk_paths):
    """hypervisor.observe; Unavailable when libvirt or qemu-img fails."""
    try:
        return hypervisor.observe(conn, disk_paths)
    except hypervisor.HypervisorError as error:
        raise Unavailable(compat.to_text(error))


def _new_disks(desired, actions):
    """Full sizes of the images the plan creates."""
    creating = set(a.name for a in actions if a.kind == planning.CREATE_DISK)
    return [size for want, size in desired.wants if want.name in creating]


def _assume_kvm_fixed(facts):
    """For plan: apply gives /dev/kvm to group kvm 0660 before checking."""
    kvm = facts.kvm
    if kvm.exists and not host.check_kvm(kvm, facts.qemu_user, facts.qemu_groups):
        return facts, None
    if not kvm.exists or not _kvm_group_exists():
        return facts, None
    fixed = facts._replace(kvm=host.KvmFacts(True, 'kvm', kvm.mode | 0o660))
    return fixed, 'apply will give %s to group kvm, mode 0660' % host.KVM_PATH


def _kvm_group_exists():
    try:
        grp.getgrnam('kvm')
        return True
    except KeyError:
        return False


def survey(args, desired, for_plan):
    """(hypervisor module, connection, actions, host problems, notes)."""
    hypervisor, conn = _connect(args)
    observed = _observe(hypervisor, conn, desired.disk_paths())
    actions = desired.plan(observed)
    facts = host.read_facts(desired.spec)
    notes = []
    if for_plan:
        facts, note = _assume_kvm_fixed(facts)
        notes = [note] if note else []
    new_disks = _new_disks(desired, actions)
    problems = host.check_host(desired.spec, facts, new_disks)
    for text in host.disk_warnings(desired.spec, facts, new_disks):
        LOG.warning('warning: %s', text)
    return hypervisor, conn, actions, problems, notes


def _action_dicts(actions):
    return [{'kind': a.kind, 'name': a.name, 'reason': a.reason} for a in actions]


def _log_plan(actions):
    for action in actions:
        level = logging.WARNING if action.kind in planning.WARNINGS else logging.INFO
        LOG.log(level, '  %s', planning.format_action(action))


def _start(args):
    setup_logging(args.log_file, getattr(args, 'json', False))
    return load_desired(args.astute)


def cmd_plan(args):
    desired = _start(args)
    if desired is None:
        return BAD_INPUT
    if no_guests(desired.spec):
        if args.json:
            compat.write_line(json.dumps({'actions': [], 'host_problems': [], 'notes': []}))
        return OK
    try:
        _, _, actions, problems, notes = survey(args, desired, True)
    except Unavailable as error:
        LOG.error('%s', compat.to_text(error))
        return HOST_REFUSED
    if args.json:
        compat.write_line(json.dumps({'actions': _action_dicts(actions), 'host_problems': problems,
                          'notes': notes}, indent=2, separators=(',', ': ')))
    LOG.info('plan for node %s (%d change(s)):', desired.spec.node.uid,
             len(planning.changes(actions)))
    _log_plan(actions)
    for text in notes:
        LOG.info('note: %s', text)
    if getattr(args, 'xml', False):
        for action in actions:
            if action.kind == planning.DEFINE:
                compat.write_line(desired.by_name[action.name][1])
    for text in problems:
        LOG.error('refused: %s', text)
    return HOST_REFUSED if problems else (FAILED if planning.refusals(actions) else OK)


def _verify(desired, hypervisor, conn, results):
    """Plan again after applying: guests that succeeded need nothing more."""
    failed = set(r.name for r in results if not r.ok)
    again = desired.plan(hypervisor.observe(conn, desired.disk_paths()))
    left = [a for a in planning.changes(again) if a.name not in failed]
    for action in left:
        LOG.error('still to do after apply: %s', planning.format_action(action))
    return again, left


def _apply_changes(args, desired, hypervisor, conn, actions):
    results = hypervisor.apply(conn, actions, desired.by_name, args.parallel)
    again, left = _verify(desired, hypervisor, conn, results)
    failed = [r for r in results if not r.ok]
    for result in failed:
        LOG.error('guest %s failed: %s (the next run retries it)', result.name, result.error)
    if not failed and not left:
        LOG.info('verified: a new plan has no changes left')
    if args.json:
        compat.write_line(json.dumps({'actions': _action_dicts(actions), 'results': [
            dict(r._asdict()) for r in results], 'plan_after': _action_dicts(again)},
            indent=2, separators=(',', ': ')))
    return failed or left


def _lock():
    """True once this run holds the apply/retire lock; logs who holds it if not."""
    try:
        runlock.acquire()
    except runlock.Busy as error:
        LOG.error('%s', compat.to_text(error))
        return False
    return True


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
    fixed = host.fix_kvm()
    if fixed:
        LOG.info('fixed: %s', fixed)
    try:
        hypervisor, conn, actions, problems, _ = survey(args, desired, False)
    except Unavailable as error:
        LOG.error('%s', compat.to_text(error))
        return HOST_REFUSED
    for text in problems:
        LOG.error('refused, nothing was changed: %s', text)
    if problems:
        return HOST_REFUSED
    for text in hypervisor.tighten_disks(desired.disk_paths()):
        LOG.info('fixed: %s', text)
    _log_plan(actions)
    if not planning.changes(actions):
        LOG.info('nothing to do: %d guest(s) already defined, running, autostart on; '
                 'no change made', len(desired.wants))
        return FAILED if planning.refusals(actions) else OK
    return finish_apply(args, desired, hypervisor, conn, actions)


def finish_apply(args, desired, hypervisor, conn, actions):
    """Apply the changes and verify them: the exit status."""
    try:
        bad = _apply_changes(args, desired, hypervisor, conn, actions)
    except hypervisor.HypervisorError as error:
        LOG.error('%s: libvirt stopped answering during apply; run apply again',
                  compat.to_text(error))
        return LIBVIRT_LOST
    return FAILED if bad or planning.refusals(actions) else OK


def _status_line(row):
    disks = ', '.join('%s (%s%s)' % (d['path'], d['format'], '' if d['exists'] else ', missing')
                      for d in row.get('disks', []))
    nics = ', '.join('%s@%s' % (n['mac'], n['bridge']) for n in row.get('nics', []))
    return ('%-10s %-12s autostart=%-5s vcpu=%-3s mem=%sMiB admin-mac=%s%s\n'
            '    nics: %s\n    disks: %s') % (
        row['name'], row['state'], row.get('autostart', '-'), row.get('vcpu', '-'),
        row.get('memory_mib', '-'), row.get('admin_mac', '-'),
        '' if row['declared'] else ' (not in vms_conf)', nics or '-', disks or '-')


def _status_rows(hypervisor, conn, desired):
    try:
        return hypervisor.status(conn, desired.spec.node.uid,
                                 [w.name for w, _ in desired.wants])
    except hypervisor.HypervisorError as error:
        raise Unavailable(compat.to_text(error))


def cmd_status(args):
    desired = _start(args)
    if desired is None:
        return BAD_INPUT
    try:
        hypervisor, conn = _connect(args)
        rows = _status_rows(hypervisor, conn, desired)
    except Unavailable as error:
        LOG.error('%s', compat.to_text(error))
        return HOST_REFUSED
    if args.json:
        compat.write_line(json.dumps(rows, indent=2, separators=(',', ': ')))
    else:
        for row in rows:
            compat.write_line(_status_line(row))
        if not rows:
            compat.write_line('no guests on node %s' % desired.spec.node.uid)
    return OK


def _retire_disks(hypervisor, state, observed):
    try:
        return _disk_uses(hypervisor, state, observed)
    except hypervisor.HypervisorError as error:
        raise Unavailable(compat.to_text(error))


def _disk_uses(hypervisor, state, observed):
    return [(ref.path, hypervisor.disk_info(ref.path) if ref.path else None, use)
            for ref, use in zip(state.facts.disks,
                                planning.disk_uses(state.facts, observed))]


def cmd_retire(args):
    desired = _start(args)
    if desired is None:
        return BAD_INPUT
    if not args.dry_run and not _lock():
        return HOST_REFUSED
    try:
        hypervisor, conn = _connect(args)
        observed = _observe(hypervisor, conn, [])
        node_uid = desired.spec.node.uid
        problems = planning.retire_problems(args.name, args.confirm, observed.domains, node_uid,
                                            set(w.name for w, _ in desired.wants), args.dry_run)
        for text in problems:
            LOG.error('refused, nothing was changed: %s', text)
        if problems:
            return BAD_INPUT
        state = observed.domains[args.name]
        actions = planning.retire_plan(state, _retire_disks(hypervisor, state, observed),
                                       args.remove_disk)
    except Unavailable as error:
        LOG.error('%s', compat.to_text(error))
        return HOST_REFUSED
    LOG.info('retire %s of node %s (%s):', args.name, node_uid,
             'dry run, nothing is changed' if args.dry_run else 'confirmed')
    _log_plan(actions)
    if args.dry_run:
        return OK
    try:
        hypervisor.retire(conn, state.facts.uuid, actions)
    except hypervisor.HypervisorError as error:
        LOG.error('retire %s: %s', args.name, error)
        return FAILED
    LOG.info('retired %s; %s', args.name, planning.undo_text(state.facts))
    return OK


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == 'check':
        setup_logging(args.log_file, False)
        return cmd_check(args)
    return {'plan': cmd_plan, 'apply': cmd_apply, 'status': cmd_status,
            'retire': cmd_retire}[args.command](args)
