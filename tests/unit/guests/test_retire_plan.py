"""Retiring guests, pure: is a disk provisioned (diskuse), what apply does
with a guest that left vms_conf, what `retire` accepts and plans, and the
refusal of a missing vms_conf while removal is on. Python 2.7 and 3."""
import pytest

from virt_guests import diskuse
from virt_guests import plan as P
from virt_guests import reconcile
from virt_guests import render
from virt_guests.spec import (DEFAULT_SETTINGS, Guest, InvalidInput, Node, build_settings,
                              build_spec)

SETTINGS = build_settings(dict(DEFAULT_SETTINGS, guest_bridges='br-a,br-b'))
NODE = Node(uid='5', fqdn='node-5', roles=('virt',), scheme_bridges={})
GIB, MIB = 1024 ** 3, 1024 ** 2


def image(vm_id):
    return '/var/lib/nova/%d_vm.img' % vm_id


def want(vm_id):
    guest = Guest(id=vm_id, name='%d_vm' % vm_id, cpu=2, mem_mib=2048, disk_size='10G',
                  disk_bytes=10 * GIB, disk_path=image(vm_id))
    return render.want(guest, NODE, SETTINGS)


def domain(vm_id, active=True, node_uid='5', ours=True):
    facts = render.parse_domain(render.render(render.load_template(), want(vm_id), SETTINGS))
    if not ours:
        facts = facts._replace(guest_id=None, node_uid=None)
    facts = facts._replace(node_uid=node_uid) if ours else facts
    return facts.name, P.DomainState(facts, active, True)


def use(vm_id, data_mib=0, table=None, error=None):
    return image(vm_id), diskuse.DiskUse(image(vm_id), data_mib * MIB, table, error)


def observed(domains=(), disks=(), uses=()):
    return P.Observed(dict(domains), dict(disks), dict(uses))


def one_undeclared(remove, uses=()):
    (action,) = P.plan([], observed([domain(2)], uses=uses), '5', remove)
    return action


# --- is a disk provisioned? -------------------------------------------------

QCOW2_MAP = ('[{"start": 0, "length": 65536, "depth": 0, "zero": false, "data": true,'
             ' "offset": 327680},'
             ' {"start": 65536, "length": 2031616, "depth": 0, "zero": true, "data": false},'
             ' {"start": 2097152, "length": 3145728, "depth": 0, "zero": false,'
             ' "data": true, "offset": 393216}]')


def test_map_gives_the_allocated_bytes_and_where_the_first_sector_lives():
    ranges = diskuse.extents(QCOW2_MAP)
    assert diskuse.data_bytes(ranges) == 65536 + 3 * MIB
    assert diskuse.locate(ranges, 0) == (diskuse.DATA, 327680)
    assert diskuse.locate(ranges, 512) == (diskuse.DATA, 328192)
    assert diskuse.locate(ranges, 70000) == (diskuse.ZERO, None)
    assert diskuse.locate(ranges, 100 * GIB) == (diskuse.ZERO, None)


@pytest.mark.parametrize('extent,why', [
    ('{"start": 0, "length": 512, "depth": 1, "data": true, "offset": 0}', 'backing image'),
    ('{"start": 0, "length": 512, "depth": 0, "data": true}', 'no plain offset')])
def test_a_first_sector_that_cannot_be_read_from_this_file_is_unknown(extent, why):
    kind, text = diskuse.locate(diskuse.extents('[%s]' % extent), 0)
    assert kind == diskuse.UNKNOWN and why in text


@pytest.mark.parametrize('text', ['', 'not json', '{"start": 0}', '[{"length": 1}]'])
def test_a_map_that_is_not_a_list_of_ranges_is_unmeasurable(text):
    with pytest.raises(diskuse.Unmeasurable):
        diskuse.extents(text)


def sector(signature_at_510=b'', fill=b'\0'):
    body = bytearray(fill * 510) + bytearray(signature_at_510 or b'\0\0')
    return body


@pytest.mark.parametrize('first,after,found', [
    (sector(b'\x55\xaa'), bytearray(8), 'MBR'),
    (sector(b'\x55\xaa'), bytearray(b'EFI PART'), 'GPT'),
    (sector(), bytearray(b'EFI PART'), 'GPT'),
    (sector(b'\xaa\x55'), bytearray(8), None),
    (sector(fill=b'\x11'), bytearray(b'EFI part'), None)])
def test_partition_tables_are_found_by_their_signatures(first, after, found):
    assert diskuse.partition_table(first, after) == found


@pytest.mark.parametrize('data_bytes,table,error,provisioned', [
    (0, None, None, False),
    (MIB - 1, None, None, False),
    (MIB, None, None, True),
    (4096, 'MBR', None, True),
    (None, None, 'qemu-img map failed: no such format', True)])
def test_a_disk_is_provisioned_by_a_table_1_mib_of_data_or_when_unmeasurable(
        data_bytes, table, error, provisioned):
    assert bool(diskuse.held(diskuse.DiskUse('/d.img', data_bytes, table, error))) \
        == provisioned


def test_what_a_provisioned_disk_holds_is_said():
    assert diskuse.held(diskuse.DiskUse('/d.img', 37 * MIB, 'MBR', None)) == \
        'a partition table (MBR), 37 MiB written'
    assert diskuse.held(diskuse.DiskUse('/d.img', None, None, 'no image file at /d.img')) \
        == 'not measurable (no image file at /d.img): counted as provisioned'


# --- apply's plan for a guest that left vms_conf ----------------------------

def test_a_provisioned_guest_is_kept_with_what_it_holds_and_the_retire_command():
    action = one_undeclared(True, [use(2, data_mib=40, table='MBR')])
    assert action.kind == P.KEEP_PROVISIONED == 'keep-provisioned'
    assert ('%s holds a partition table (MBR), 40 MiB written' % image(2)) in action.reason
    assert action.reason.endswith('to retire it: sh virt-guests retire 2_vm --confirm 2_vm')
    assert P.changes([action]) == [] and action.kind in P.WARNINGS


def test_a_never_provisioned_guest_is_removed_as_before():
    action = one_undeclared(True, [use(2)])
    assert action.kind == P.REMOVE_UNDECLARED
    assert 'never provisioned (%s: no partition table, 0 MiB written)' % image(2) \
        in action.reason
    assert action.reason.endswith('remove_undeclared_guests is on (disk kept)')


@pytest.mark.parametrize('uses', [(), [use(2, error='qemu-img map failed: locked')]])
def test_a_guest_whose_disk_was_not_or_could_not_be_measured_is_kept(uses):
    action = one_undeclared(True, uses)
    assert action.kind == P.KEEP_PROVISIONED
    assert 'counted as provisioned' in action.reason


def test_with_removal_off_a_provisioned_guest_is_reported_with_the_retire_command():
    action = one_undeclared(False, [use(2, data_mib=2)])
    assert action.kind == P.REPORT_UNDECLARED
    assert 'sh virt-guests retire 2_vm --confirm 2_vm' in action.reason


@pytest.mark.parametrize('section', [{}, {'remove_undeclared_guests': False}])
def test_with_removal_off_a_never_provisioned_guest_is_kept_too(section):
    """Removal off (the default, or set so): a guest of this node that
    left vms_conf stays even when its disk was never provisioned; apply
    only reports it."""
    doc = {'uid': '5', 'vms_conf': [], 'reduced-footprint': section}
    desired = reconcile.Desired(build_spec(doc))
    (action,) = desired.plan(observed([domain(2)], uses=[use(2)]))
    assert action.kind == P.REPORT_UNDECLARED and P.changes([action]) == []
    assert 'kept (remove_undeclared_guests is off); never provisioned (%s: no ' \
        'partition table, 0 MiB written)' % image(2) in action.reason


def test_kept_and_removed_guests_side_by_side_and_declared_ones_untouched():
    seen = observed([domain(1), domain(2), domain(3)], [(image(1), P.DiskFacts(
        image(1), 'qcow2', 10 * GIB))], [use(2, table='GPT'), use(3)])
    actions = P.plan([(want(1), 10 * GIB)], seen, '5', True)
    assert [(a.kind, a.name) for a in actions] == [
        ('no-op', '1_vm'), ('keep-provisioned', '2_vm'), ('remove-undeclared', '3_vm')]


# --- recovery: the entry comes back -----------------------------------------

def test_a_returning_guest_reuses_its_kept_image_and_gets_the_same_identity():
    seen = observed(disks=[(image(2), P.DiskFacts(image(2), 'qcow2', 10 * GIB))])
    actions = P.plan([(want(2), 10 * GIB)], seen, '5', True)
    assert [a.kind for a in actions] == ['define', 'start', 'autostart']
    assert 'reuses the existing image %s as it is' % image(2) in actions[0].reason
    _, state = domain(2)
    again = want(2)
    assert (again.uuid, again.nics) == (state.facts.uuid, state.facts.nics)


# --- a missing vms_conf while removal is on ---------------------------------

def astute(**extra):
    doc = {'uid': '5', 'reduced-footprint': {'remove_undeclared_guests': True}}
    doc.update(extra)
    return doc


@pytest.mark.parametrize('doc,value', [(astute(), 'missing'),
                                       (astute(vms_conf=None), 'nothing (null)')])
def test_no_vms_conf_is_refused_while_removal_is_on(doc, value):
    with pytest.raises(InvalidInput) as caught:
        build_spec(doc)
    (problem,) = caught.value.problems
    assert (problem.path, problem.value) == ('vms_conf', value)
    assert 'remove_undeclared_guests is on' in problem.accepted
    assert 'explicit empty list `vms_conf: []`' in problem.accepted


def test_an_explicit_empty_list_is_accepted_and_removal_off_needs_no_list():
    assert build_spec(astute(vms_conf=[])).guests == ()
    off = astute()
    off['reduced-footprint'] = {'remove_undeclared_guests': False}
    assert build_spec(off).guests == ()


# --- retire NAME --confirm NAME: the input ----------------------------------

DOMAINS = dict([domain(1), domain(2), domain(3), domain(4, node_uid='6'),
                domain(5, ours=False)])
DECLARED = set(['1_vm'])
CAN = '(guests of this node that can be retired: 2_vm, 3_vm)'


def problems(name, confirm, dry_run=False):
    return P.retire_problems(name, confirm, DOMAINS, '5', DECLARED, dry_run)


def test_a_retirable_guest_named_twice_is_accepted():
    assert problems('2_vm', '2_vm') == []
    assert problems('3_vm', None, dry_run=True) == []


@pytest.mark.parametrize('name,confirm,expected', [
    ('2_vm', None, ['retiring 2_vm needs --confirm 2_vm (its name once more)']),
    ('2_vm', '3_vm', ["--confirm '3_vm' does not repeat the guest's name '2_vm' exactly "
                      + CAN]),
    ('2_vm', '2', ["--confirm '2' does not repeat the guest's name '2_vm' exactly " + CAN]),
    ('9_vm', '9_vm', ['there is no guest 9_vm on this node ' + CAN]),
    ('two', 'two', ["'two' is not a guest name: guests are named <id>_vm, e.g. 1_vm " + CAN]),
    ('1_vm', '1_vm', ['1_vm is still in vms_conf: remove it from vms_conf first, or the '
                      'next deploy defines it again']),
    ('4_vm', '4_vm', ['4_vm was made by this plugin for node 6, not this one ' + CAN]),
    ('5_vm', '5_vm', ['5_vm is a domain not made by this plugin: left alone ' + CAN]),
    ('9_vm', None, ['there is no guest 9_vm on this node ' + CAN,
                    'retiring 9_vm needs --confirm 9_vm (its name once more)'])])
def test_wrong_input_is_refused_naming_the_guests_that_can_be_retired(name, confirm, expected):
    assert problems(name, confirm) == expected


def test_no_guest_to_retire_says_none():
    assert P.retire_problems('2_vm', '2_vm', {}, '5', set(), False) == [
        'there is no guest 2_vm on this node (guests of this node that can be retired: none)']


# --- retire NAME --confirm NAME: the plan -----------------------------------

def retire_disks(data_mib=0, table=None):
    path, measured = use(2, data_mib, table)
    return [(path, P.DiskFacts(path, 'qcow2', 16 * MIB), measured)]


def test_retiring_a_running_guest_stops_undefines_and_keeps_the_disk():
    _, state = domain(2)
    actions = P.retire_plan(state, retire_disks(5, 'MBR'), remove_disk=False)
    assert [(a.kind, a.name) for a in actions] == [
        ('stop', '2_vm'), ('undefine', '2_vm'), ('keep-disk', image(2))]
    assert state.facts.uuid in actions[1].reason
    assert actions[2].reason == ('kept untouched: qcow2, 16 MiB virtual; '
                                 'a partition table (MBR), 5 MiB written')


def test_a_shut_off_guest_needs_no_stop_and_remove_disk_deletes_it():
    _, state = domain(2, active=False)
    actions = P.retire_plan(state, retire_disks(), remove_disk=True)
    assert [(a.kind, a.name) for a in actions] == [
        ('undefine', '2_vm'), ('remove-disk', image(2))]
    assert actions[1].reason == ('deleted (--remove-disk): qcow2, 16 MiB virtual; '
                                 'never provisioned')
    assert P.changes(actions) == []  # retire plans are not apply's changes


def test_the_undo_text_names_the_entry_to_put_back():
    _, state = domain(2)
    assert P.undo_text(state.facts).startswith(
        'to undo: put {"id": 2} back into vms_conf and run apply: 2_vm comes back')


def test_a_disk_whose_image_is_gone_is_said_unknown():
    _, state = domain(2, active=False)
    path, measured = use(2, error='no image file at %s' % image(2))
    (_, action) = P.retire_plan(state, [(path, None, measured)], remove_disk=False)
    assert action.reason.startswith('kept untouched: format unknown, size unknown; ')


def test_guests_to_retire_are_listed_by_id_then_other_names():
    _, renamed = domain(3)
    renamed = renamed._replace(facts=renamed.facts._replace(name='web'))
    domains = dict([domain(10), domain(2), ('web', renamed)])
    assert P.retirable(domains, '5', set()) == ['2_vm', '10_vm', 'web']
