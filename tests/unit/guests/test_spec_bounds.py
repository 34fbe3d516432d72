"""The smallest and the largest values vms_conf and the settings accept,
and the next ones down or up refused (a guest or a default no node could
run, or a count so long it only looks like a number, is refused with the
setting named rather than reaching libvirt or qemu-img: issue 23); what
else in astute.yaml counts as a bridge; every guest checked even after
one that is not a mapping."""
from __future__ import absolute_import, division, print_function

import pytest

from nodes import astute_doc
from virt_guests import spec


def problems(guests, settings=None):
    try:
        spec.build_spec(astute_doc(guests, settings=settings))
    except spec.InvalidInput as error:
        return [p.path for p in error.problems]
    return []


@pytest.mark.parametrize('fields,refused', [
    ({'cpu': 1}, False), ({'cpu': 0}, True),
    ({'mem': 1}, False), ({'mem': 0}, True), ({'ram': 1}, False), ({'ram': 0}, True),
    ({'mem_mib': 64}, False), ({'mem_mib': 63}, True),
    ({'vda_size': '1M'}, False), ({'vda_size': '1048576'}, False),
    ({'vda_size': '1023K'}, True), ({'vda_size': '1048575b'}, True),
    ({'cpu': 1024}, False), ({'cpu': 1025}, True),
    ({'mem': 16384}, False), ({'mem': 16385}, True),
    ({'ram': 16384}, False), ({'ram': 16385}, True),
    ({'mem_mib': 16384 * 1024}, False), ({'mem_mib': 16384 * 1024 + 1}, True),
    ({'vda_size': '1024T'}, False), ({'vda_size': '1025T'}, True),
    ({'vda_size': '1125899906842624'}, False), ({'vda_size': '1125899906842625b'}, True)])
def test_the_smallest_and_largest_guest_are_accepted_and_beyond_refused(fields, refused):
    item = dict({'id': 1}, **fields)
    expected = ['vms_conf[0] (guest 1).%s' % list(fields)[0]] if refused else []
    assert problems([item]) == expected


@pytest.mark.parametrize('settings,refused', [
    ({'guest_default_cpu': 1}, False), ({'guest_default_cpu': '1'}, False),
    ({'guest_default_cpu': 0}, True), ({'guest_default_cpu': '0'}, True),
    ({'guest_default_mem_gib': 1}, False), ({'guest_default_mem_gib': '1'}, False),
    ({'guest_default_mem_gib': 0}, True), ({'guest_default_mem_gib': '0'}, True),
    ({'host_reserved_mem_gib': 0}, False), ({'host_reserved_mem_gib': '0'}, False),
    ({'guest_default_disk_size': '1M'}, False),
    ({'guest_default_disk_size': '1023K'}, True)])
def test_the_smallest_defaults_are_accepted_and_smaller_refused(settings, refused):
    expected = ['reduced-footprint.%s' % list(settings)[0]] if refused else []
    assert problems([{'id': 1}], settings) == expected


def test_only_add_br_transformations_are_bridges():
    doc = astute_doc([{'id': 1}])
    doc['network_scheme'] = {'transformations': [
        'not-a-mapping',
        {'action': 'add-port', 'name': 'eth1', 'bridge': 'br-ex'},
        {'action': 'add-patch', 'bridges': ['br-prv', 'br-floating']},
        {'action': 'add-br', 'name': 'br-ex', 'provider': 'ovs'},
        {'action': 'add-br', 'name': 'br-mgmt'}]}
    assert dict(spec.scheme_bridges(doc)) == {'br-ex': 'ovs', 'br-mgmt': 'lnx'}


def test_guests_after_an_entry_that_is_not_a_mapping_are_still_checked():
    assert problems(['not a guest', {'id': 2, 'vda_size': '1K'},
                     {'id': 2}]) == [
        'vms_conf[0]', 'vms_conf[1] (guest 2).vda_size', 'vms_conf[2] (guest 2).id']


def test_an_item_of_another_list_is_not_asked_to_be_a_guest():
    doc = astute_doc([{'id': 1}])
    doc['roles'] = ['virt', 1]
    with pytest.raises(spec.InvalidInput) as caught:
        spec.build_spec(doc)
    (problem,) = caught.value.problems
    assert (problem.path, problem.value) == ('roles[1]', '1')
    assert 'mapping' not in problem.accepted and 'string' in problem.accepted


@pytest.mark.parametrize('key,top', [('guest_default_cpu', 1024),
                                     ('guest_default_mem_gib', 16384),
                                     ('host_reserved_mem_gib', 16384)])
@pytest.mark.parametrize('kind', [int, str])
def test_the_largest_defaults_are_accepted_and_larger_refused(key, top, kind):
    assert problems([{'id': 1}], {key: kind(top)}) == []
    assert problems([{'id': 1}], {key: kind(top + 1)}) == ['reduced-footprint.' + key]


@pytest.mark.parametrize('key,text', [
    ('guest_default_cpu', '10240'), ('guest_default_cpu', '99999999999999999999'),
    ('guest_default_mem_gib', '163840'), ('host_reserved_mem_gib', '163840'),
    ('host_reserved_mem_gib', '000001')])
def test_a_default_with_more_digits_than_the_largest_is_refused(key, text):
    assert problems([{'id': 1}], {key: text}) == ['reduced-footprint.' + key]


def test_the_largest_default_disk_size_is_accepted_and_larger_refused():
    key = 'guest_default_disk_size'
    assert problems([{'id': 1}], {key: '1024T'}) == []
    assert problems([{'id': 1}], {key: '1025T'}) == ['reduced-footprint.' + key]
    assert problems([{'id': 1}], {key: '1125899906842625'}) == ['reduced-footprint.' + key]


def test_the_refusal_says_what_is_accepted():
    with pytest.raises(spec.InvalidInput) as raised:
        spec.build_spec(astute_doc([{'id': 1, 'cpu': 1025}, {'id': 2, 'mem_mib': 63}],
                                   settings={'guest_default_mem_gib': '16385'}))
    accepted = dict((p.path, p.accepted) for p in raised.value.problems)
    assert accepted == {
        'vms_conf[0] (guest 1).cpu': 'a whole number of vCPUs from 1 to 1024, e.g. 2',
        'vms_conf[1] (guest 2).mem_mib': 'a whole number of MiB from 64 to 16777216, '
                                         'instead of "mem" (small lab and test guests)',
        'reduced-footprint.guest_default_mem_gib':
            'a whole number of GiB from 1 to 16384, e.g. "2"'}
