"""The smallest values vms_conf and the settings accept, and the next
ones down refused; what else in astute.yaml counts as a bridge; every
guest checked even after one that is not a mapping."""
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
    ({'vda_size': '1023K'}, True), ({'vda_size': '1048575b'}, True)])
def test_the_smallest_guest_is_accepted_and_smaller_refused(fields, refused):
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
