"""The planner, pure: what exists (Observed: the domains and the disk
images found), what should (the wanted guests, from vms_conf), and what to
do about it (a list of Actions): for apply (plan) and for retire
(retire_problems, retire_plan). No I/O: reconcile.py gathers the facts
through hypervisor.py, which carries the actions out.

Each action carries the reason it is needed. A managed domain is never
redefined: differences are reported as drift. Disks are created only where
none exists. Domains without our metadata are never touched. A guest that
left vms_conf is removed by apply only if its disks were never provisioned
(diskuse.py); a provisioned one is kept until `retire` names it twice.
"""
from __future__ import absolute_import, division, print_function

import collections
import re

from . import diskuse

Action = collections.namedtuple('Action', 'kind name reason')
DomainState = collections.namedtuple('DomainState', 'facts active autostart')
# unusual: what sits at the path when it is not a regular file (a link, a
# directory, a FIFO...): never an image, never followed.
DiskFacts = collections.namedtuple('DiskFacts', 'path format virtual_bytes unusual')
DiskFacts.__new__.__defaults__ = (None,)


class Observed(collections.namedtuple('Observed', 'domains disks disk_use')):
    """domains: name -> DomainState; disks: path -> DiskFacts of the desired
    images; disk_use: path -> diskuse.DiskUse of other managed guests' disks."""
    __slots__ = ()

    def __new__(cls, domains, disks, disk_use=None):
        return super(Observed, cls).__new__(cls, domains, disks, disk_use or {})


CREATE_DISK, DEFINE, START, AUTOSTART = 'create-disk', 'define', 'start', 'autostart'
REMOVE_UNDECLARED, KEEP_PROVISIONED = 'remove-undeclared', 'keep-provisioned'
STOP, UNDEFINE, KEEP_DISK, REMOVE_DISK = 'stop', 'undefine', 'keep-disk', 'remove-disk'
REPORT_DRIFT, REPORT_UNDECLARED, REFUSE, NO_OP = (
    'report-drift', 'report-undeclared', 'refuse', 'no-op')
CHANGING = (CREATE_DISK, DEFINE, START, AUTOSTART, REMOVE_UNDECLARED)
WARNINGS = (REPORT_DRIFT, REPORT_UNDECLARED, KEEP_PROVISIONED, REFUSE)
GUEST_NAME = re.compile(r'^[0-9]+_vm\Z')
KIB_PER_GIB = 1024 * 1024


def _kib_as_gib_text(kib):
    return '%g GiB' % (kib / float(KIB_PER_GIB))


def _nic_text(nics):
    return ', '.join('%s on %s' % (nic.mac, nic.bridge) for nic in nics) or 'none'


def drift(want, facts):
    """What would change if the domain were made to match vms_conf."""
    found = []
    if facts.vcpu != want.vcpu:
        found.append('vcpu %s -> %s' % (facts.vcpu, want.vcpu))
    if facts.memory_kib != want.memory_kib:
        found.append('memory %s -> %s' % (_kib_as_gib_text(facts.memory_kib or 0),
                                          _kib_as_gib_text(want.memory_kib)))
    if tuple(facts.nics) != tuple(want.nics):
        found.append('NICs [%s] -> [%s]' % (_nic_text(facts.nics), _nic_text(want.nics)))
    disks = tuple((d.path, d.format) for d in facts.disks)
    if disks != ((want.disk_path, want.disk_format),):
        found.append('disk %s -> %s (%s)' % (
            ', '.join('%s (%s)' % d for d in disks) or 'none',
            want.disk_path, want.disk_format))
    return found


def disk_drift(want, disk_bytes, disk):
    """An existing image is reused as it is; say how it differs."""
    found = []
    if disk.format and disk.format != want.disk_format:
        found.append('image %s is %s, settings ask for %s'
                     % (disk.path, disk.format, want.disk_format))
    if disk.virtual_bytes is not None and disk.virtual_bytes != disk_bytes:
        found.append('image %s holds %d bytes, vms_conf asks for %d (not resized)'
                     % (disk.path, disk.virtual_bytes, disk_bytes))
    return found


def _new_guest(want, disk_bytes, disk):
    defining = 'not defined in libvirt'
    if disk is None:
        first = [Action(CREATE_DISK, want.name, 'no image at %s' % want.disk_path)]
    elif disk.format and disk.format != want.disk_format:
        return [Action(REFUSE, want.name, disk_drift(want, disk_bytes, disk)[0]
                       + ': move it away or set guest_disk_format')]
    else:
        first = [Action(REPORT_DRIFT, want.name, text)
                 for text in disk_drift(want, disk_bytes, disk)]
        defining += '; reuses the existing image %s as it is' % want.disk_path
    return first + [
        Action(DEFINE, want.name, defining),
        Action(START, want.name, 'new guest'),
        Action(AUTOSTART, want.name, 'new guest')]


def _existing_guest(want, disk, state):
    actions = [Action(REPORT_DRIFT, want.name, 'kept as defined; vms_conf differs: ' + text)
               for text in drift(want, state.facts)]
    if disk is None:
        actions.append(Action(CREATE_DISK, want.name, 'defined but no image at %s'
                              % want.disk_path))
    if not state.active:
        actions.append(Action(START, want.name, 'defined but not running'))
    if not state.autostart:
        actions.append(Action(AUTOSTART, want.name, 'autostart is off'))
    if not actions:
        actions.append(Action(NO_OP, want.name, 'defined, running, autostart on'))
    return actions


def _is_ours(facts, node_uid):
    return facts.guest_id is not None and facts.node_uid == node_uid


def plan_guest(want, disk_bytes, observed):
    state = observed.domains.get(want.name)
    disk = observed.disks.get(want.disk_path)
    if disk is not None and disk.unusual:
        return [Action(REFUSE, want.name, '%s is %s, not a disk image: nothing is done '
                       'for this guest (it is not followed, opened or changed); move it '
                       'away' % (want.disk_path, disk.unusual))]
    if state is None:
        return _new_guest(want, disk_bytes, disk)
    if not _is_ours(state.facts, want.node_uid):
        owner = ('made by this plugin for node %s' % state.facts.node_uid
                 if state.facts.guest_id is not None else 'not made by this plugin')
        return [Action(REFUSE, want.name, 'a domain of that name exists, %s: '
                       'left alone; rename or remove it' % owner)]
    return _existing_guest(want, disk, state)


def plan(wants, observed, node_uid, remove_undeclared):
    """wants: [(DomainWant, disk_bytes)] in vms_conf order -> [Action]."""
    actions = []
    for want, disk_bytes in wants:
        actions.extend(plan_guest(want, disk_bytes, observed))
    declared = set(want.name for want, _ in wants)
    for name in sorted(observed.domains):
        facts = observed.domains[name].facts
        if name not in declared and _is_ours(facts, node_uid):
            actions.append(plan_undeclared(facts, observed, remove_undeclared))
    return actions


def disk_uses(facts, observed):
    """The measured use of each disk of a domain (unmeasured: not observed)."""
    return [observed.disk_use.get(ref.path) or diskuse.unmeasured(
        ref.path, 'not measured') for ref in facts.disks]


def retire_command(name):
    return 'sh virt-guests retire %s --confirm %s' % (name, name)


def plan_undeclared(facts, observed, remove_undeclared):
    """A guest of this node that is not in vms_conf: removed only when on
    and never provisioned; a provisioned one waits for `retire`."""
    uses = disk_uses(facts, observed)
    holds = '; '.join('%s holds %s' % (u.path, diskuse.held(u))
                      for u in uses if diskuse.held(u))
    if holds:
        return Action(KEEP_PROVISIONED if remove_undeclared else REPORT_UNDECLARED,
                      facts.name, 'not in vms_conf but provisioned (%s): it may still '
                      'be a Fuel node, so apply keeps it; to retire it: %s'
                      % (holds, retire_command(facts.name)))
    never = '; '.join(diskuse.describe(u) for u in uses) or 'no disks'
    if remove_undeclared:
        return Action(REMOVE_UNDECLARED, facts.name, 'not in vms_conf, never provisioned '
                      '(%s) and remove_undeclared_guests is on (disk kept)' % never)
    return Action(REPORT_UNDECLARED, facts.name, 'not in vms_conf; kept '
                  '(remove_undeclared_guests is off); never provisioned (%s)' % never)


def _guest_order(name):
    return (0, int(name[:-3])) if GUEST_NAME.match(name) else (1, name)


def retirable(domains, node_uid, declared):
    """Names of the guests of this node that are not in vms_conf."""
    return sorted((name for name, state in domains.items()
                   if _is_ours(state.facts, node_uid) and name not in declared),
                  key=_guest_order)


def _not_a_guest(name, domains, node_uid):
    """Why name is not a guest of this node, or None if it is one."""
    state = domains.get(name)
    if state is not None and _is_ours(state.facts, node_uid):
        return None
    if not GUEST_NAME.match(name):
        return '%r is not a guest name: guests are named <id>_vm, e.g. 1_vm' % name
    if state is None:
        return 'there is no guest %s on this node' % name
    if state.facts.guest_id is None:
        return '%s is a domain not made by this plugin: left alone' % name
    return '%s was made by this plugin for node %s, not this one' % (
        name, state.facts.node_uid)


def retire_problems(name, confirm, domains, node_uid, declared, dry_run):
    """Everything wrong with `retire NAME --confirm CONFIRM`, as texts."""
    choices = ', '.join(retirable(domains, node_uid, declared)) or 'none'
    accepted = ' (guests of this node that can be retired: %s)' % choices
    problems = []
    why = _not_a_guest(name, domains, node_uid)
    if why:
        problems.append(why + accepted)
    elif name in declared:
        problems.append('%s is still in vms_conf: remove it from vms_conf first, or '
                        'the next deploy defines it again' % name)
    if confirm is None and not dry_run:
        problems.append('retiring %s needs --confirm %s (its name once more)'
                        % (name, name))
    elif confirm is not None and confirm != name:
        problems.append('--confirm %r does not repeat the guest\'s name %r exactly%s'
                        % (confirm, name, accepted))
    return problems


def _disk_text(disk, use):
    size = ('%s virtual' % diskuse.mib_text(disk.virtual_bytes)
            if disk and disk.virtual_bytes is not None else 'size unknown')
    return '%s, %s; %s' % ((disk and disk.format) or 'format unknown', size,
                           diskuse.held(use) or 'never provisioned')


def retire_plan(state, disks, remove_disk):
    """state: DomainState of the guest; disks: [(path, DiskFacts or None,
    DiskUse)]. Disk actions carry the image path where others the name."""
    name = state.facts.name
    actions = []
    if state.active:
        actions.append(Action(STOP, name, 'running: powered off (virsh destroy)'))
    actions.append(Action(UNDEFINE, name, 'libvirt definition and autostart removed '
                          '(uuid %s)' % state.facts.uuid))
    for path, disk, use in disks:
        if remove_disk:
            actions.append(Action(REMOVE_DISK, path, 'deleted (--remove-disk): '
                                  + _disk_text(disk, use)))
        else:
            actions.append(Action(KEEP_DISK, path, 'kept untouched: ' + _disk_text(disk, use)))
    return actions


def changes(actions):
    return [action for action in actions if action.kind in CHANGING]


def refusals(actions):
    return [action for action in actions if action.kind == REFUSE]


def format_action(action):
    return '%-18s %-10s %s' % (action.kind, action.name, action.reason)


def undo_text(facts):
    return ('to undo: put {"id": %s} back into vms_conf and run apply: %s comes back '
            'with the same UUID and MACs and reuses a kept disk as it is'
            % (facts.guest_id, facts.name))
