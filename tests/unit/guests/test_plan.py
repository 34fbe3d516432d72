"""Planning is a pure function: a table of (desired, observed) -> actions."""
from __future__ import absolute_import, division, print_function

import pytest

from virt_guests import diskuse
from virt_guests import plan as P
from virt_guests import render
from virt_guests.spec import Guest, Node, build_settings, DEFAULT_SETTINGS

SETTINGS = build_settings(dict(DEFAULT_SETTINGS, guest_bridges='br-a,br-b'))
NODE = Node(uid='5', fqdn='node-5', roles=('virt',), scheme_bridges={})
GIB = 1024 ** 3


def guest(vm_id, cpu=2, mem_gib=2, size_gib=10):
    return Guest(id=vm_id, name='%d_vm' % vm_id, cpu=cpu, mem_mib=mem_gib * 1024,
                 disk_size='%dG' % size_gib, disk_bytes=size_gib * GIB,
                 disk_path='/var/lib/nova/%d_vm.img' % vm_id)


def want(vm_id, **kwargs):
    return render.want(guest(vm_id, **kwargs), NODE, SETTINGS)


def domain(vm_id, active=True, autostart=True, node_uid='5', ours=True, **changes):
    """What libvirt would report for a domain rendered from guest vm_id."""
    xml = render.render(render.load_template(), want(vm_id), SETTINGS)
    facts = render.parse_domain(xml)._replace(**changes)
    if not ours:
        facts = facts._replace(guest_id=None, node_uid=None)
    elif node_uid != '5':
        facts = facts._replace(node_uid=node_uid)
    return facts.name, P.DomainState(facts, active, autostart)


def disk(vm_id, fmt='qcow2', size_gib=10):
    path = '/var/lib/nova/%d_vm.img' % vm_id
    return path, P.DiskFacts(path, fmt, size_gib * GIB)


def observed(domains=(), disks=(), uses=()):
    return P.Observed(dict(domains), dict(disks), dict(uses))


def never_used(vm_id):
    """The measured use of a guest's image that was never provisioned."""
    path = '/var/lib/nova/%d_vm.img' % vm_id
    return path, diskuse.DiskUse(path, 0, None, None)


def kinds(actions):
    return [(a.kind, a.name) for a in actions]


NEW = [('create-disk', '1_vm'), ('define', '1_vm'), ('start', '1_vm'), ('autostart', '1_vm')]

# (case, desired ids, observed, remove_undeclared, expected (kind, name) list)
CASES = [
    ('nothing exists', [1], observed(), False, NEW),
    ('all in place', [1], observed([domain(1)], [disk(1)]), False,
     [('no-op', '1_vm')]),
    ('image kept from before', [1], observed(disks=[disk(1)]), False, NEW[1:]),
    ('defined, stopped', [1], observed([domain(1, active=False)], [disk(1)]), False,
     [('start', '1_vm')]),
    ('autostart off', [1], observed([domain(1, autostart=False)], [disk(1)]), False,
     [('autostart', '1_vm')]),
    ('defined, image gone', [1], observed([domain(1, active=False)]), False,
     [('create-disk', '1_vm'), ('start', '1_vm')]),
    ('more vcpus asked', [1], observed([domain(1, vcpu=1)], [disk(1)]), False,
     [('report-drift', '1_vm')]),
    ('stopped and drifted', [1], observed([domain(1, vcpu=1, active=False)], [disk(1)]),
     False, [('report-drift', '1_vm'), ('start', '1_vm')]),
    ('foreign domain of that name', [1], observed([domain(1, ours=False)]), False,
     [('refuse', '1_vm')]),
    ('ours for another node', [1], observed([domain(1, node_uid='6')]), False,
     [('refuse', '1_vm')]),
    ('image of another format', [1], observed(disks=[disk(1, fmt='raw')]), False,
     [('refuse', '1_vm')]),
    ('image of another size', [1], observed(disks=[disk(1, size_gib=5)]), False,
     [('report-drift', '1_vm')] + NEW[1:]),
    ('undeclared kept', [], observed([domain(2)]), False, [('report-undeclared', '2_vm')]),
    ('undeclared removed', [], observed([domain(2)], uses=[never_used(2)]), True,
     [('remove-undeclared', '2_vm')]),
    ('foreign undeclared ignored', [], observed([domain(2, ours=False)]), True, []),
    ('other node undeclared ignored', [], observed([domain(2, node_uid='6')]), True, []),
    ('two guests, one new', [1, 3], observed([domain(1)], [disk(1)]), False,
     [('no-op', '1_vm')] + [(k, '3_vm') for k, _ in NEW]),
]


@pytest.mark.parametrize('ids,seen,remove,expected', [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_plan_table(ids, seen, remove, expected):
    wants = [(want(i), 10 * GIB) for i in ids]
    assert kinds(P.plan(wants, seen, '5', remove)) == expected


def test_drift_says_what_would_change():
    _, state = domain(1, vcpu=1, memory_kib=1024 * 1024)
    actions = P.plan([(want(1), 10 * GIB)], observed([('1_vm', state)], [disk(1)]),
                     '5', False)
    assert [a.kind for a in actions] == ['report-drift', 'report-drift']
    assert [a.reason for a in actions] == [
        'kept as defined; vms_conf differs: vcpu 1 -> 2',
        'kept as defined; vms_conf differs: memory 1 GiB -> 2 GiB']


def test_changed_bridges_are_drift_with_old_and_new_nics():
    other = render.want(guest(1), NODE, SETTINGS._replace(bridges=('br-a',)))
    _, state = domain(1, nics=other.nics)
    (action,) = P.plan([(want(1), 10 * GIB)], observed([('1_vm', state)], [disk(1)]),
                       '5', False)
    assert 'on br-b' in action.reason and action.kind == 'report-drift'


def test_plan_does_not_change_its_inputs():
    seen = observed([domain(1, active=False)], [disk(1)])
    before = repr(seen)
    P.plan([(want(1), 10 * GIB)], seen, '5', True)
    assert repr(seen) == before


def test_changes_and_refusals_select_by_kind():
    actions = P.plan([(want(1), 10 * GIB), (want(2), 10 * GIB)],
                     observed([domain(2, ours=False)]), '5', False)
    assert kinds(P.changes(actions)) == NEW
    assert kinds(P.refusals(actions)) == [('refuse', '2_vm')]


@pytest.mark.parametrize('changes,owner', [
    ({'node_uid': '6'}, 'made by this plugin for node 6'),
    ({'guest_id': None, 'node_uid': None}, 'not made by this plugin')])
def test_a_refused_name_says_whose_domain_holds_it(changes, owner):
    _, state = domain(1)
    state = state._replace(facts=state.facts._replace(**changes))
    (action,) = P.plan([(want(1), 10 * GIB)], observed([('1_vm', state)]), '5', False)
    assert action.reason == ('a domain of that name exists, %s: left alone; '
                             'rename or remove it' % owner)


def test_a_domain_without_a_disk_is_drift_from_none():
    _, state = domain(1, disks=())
    (action,) = P.plan([(want(1), 10 * GIB)], observed([('1_vm', state)], [disk(1)]),
                       '5', False)
    assert action.reason.endswith('disk none -> /var/lib/nova/1_vm.img (qcow2)')


def test_drift_from_a_domain_without_memory_says_zero():
    _, state = domain(1, memory_kib=None)
    (action,) = P.plan([(want(1), 10 * GIB)], observed([('1_vm', state)], [disk(1)]),
                       '5', False)
    assert action.reason == 'kept as defined; vms_conf differs: memory 0 GiB -> 2 GiB'


def test_an_image_of_another_format_and_size_is_refused_for_its_format():
    (action,) = P.plan([(want(1), 10 * GIB)],
                       observed(disks=[disk(1, fmt='raw', size_gib=5)]), '5', False)
    assert action.kind == 'refuse' and action.reason.startswith(
        'image /var/lib/nova/1_vm.img is raw, settings ask for qcow2: move it away')
