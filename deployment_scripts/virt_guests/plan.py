"""(desired guests, observed domains and disks) -> actions. Pure.

Each action carries the reason it is needed. A managed domain is never
redefined: differences are reported as drift. Disks are created only where
none exists. Domains without our metadata are never touched.
"""
from __future__ import absolute_import, division, print_function

import collections

Action = collections.namedtuple('Action', 'kind name reason')
DomainState = collections.namedtuple('DomainState', 'facts active autostart')
DiskFacts = collections.namedtuple('DiskFacts', 'path format virtual_bytes')
Observed = collections.namedtuple('Observed', 'domains disks')

CREATE_DISK, DEFINE, START, AUTOSTART = 'create-disk', 'define', 'start', 'autostart'
REMOVE_UNDECLARED = 'remove-undeclared'
REPORT_DRIFT, REPORT_UNDECLARED, REFUSE, NO_OP = (
    'report-drift', 'report-undeclared', 'refuse', 'no-op')
CHANGING = (CREATE_DISK, DEFINE, START, AUTOSTART, REMOVE_UNDECLARED)
KIB_PER_GIB = 1024 * 1024


def _gib(kib):
    return '%g GiB' % (kib / float(KIB_PER_GIB))


def _nic_text(nics):
    return ', '.join('%s on %s' % (nic.mac, nic.bridge) for nic in nics) or 'none'


def drift(want, facts):
    """What would change if the domain were made to match vms_conf."""
    found = []
    if facts.vcpu != want.vcpu:
        found.append('vcpu %s -> %s' % (facts.vcpu, want.vcpu))
    if facts.memory_kib != want.memory_kib:
        found.append('memory %s -> %s' % (_gib(facts.memory_kib or 0), _gib(want.memory_kib)))
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
    if disk is None:
        first = [Action(CREATE_DISK, want.name, 'no image at %s' % want.disk_path)]
    elif disk.format and disk.format != want.disk_format:
        return [Action(REFUSE, want.name, disk_drift(want, disk_bytes, disk)[0]
                       + ': move it away or set guest_disk_format')]
    else:
        first = [Action(REPORT_DRIFT, want.name, text)
                 for text in disk_drift(want, disk_bytes, disk)]
    return first + [
        Action(DEFINE, want.name, 'not defined in libvirt'),
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
        if name in declared or not _is_ours(facts, node_uid):
            continue
        if remove_undeclared:
            actions.append(Action(REMOVE_UNDECLARED, name, 'not in vms_conf and '
                                  'remove_undeclared_guests is on (disk kept)'))
        else:
            actions.append(Action(REPORT_UNDECLARED, name, 'not in vms_conf; kept '
                                  '(remove_undeclared_guests is off)'))
    return actions


def changes(actions):
    return [action for action in actions if action.kind in CHANGING]


def refusals(actions):
    return [action for action in actions if action.kind == REFUSE]


def format_action(action):
    return '%-18s %-10s %s' % (action.kind, action.name, action.reason)
