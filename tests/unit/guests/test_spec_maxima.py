"""The largest values vms_conf and the settings accept, and the next ones
up refused (issue 23): a guest or a default no node could run, or a count
so long it only looks like a number, stops the run with the setting named
rather than reaching libvirt or qemu-img."""
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
    ({'cpu': 1024}, False), ({'cpu': 1025}, True),
    ({'mem': 16384}, False), ({'mem': 16385}, True),
    ({'ram': 16384}, False), ({'ram': 16385}, True),
    ({'mem_mib': 16384 * 1024}, False), ({'mem_mib': 16384 * 1024 + 1}, True),
    ({'vda_size': '1024T'}, False), ({'vda_size': '1025T'}, True),
    ({'vda_size': '1125899906842624'}, False), ({'vda_size': '1125899906842625b'}, True)])
def test_the_largest_guest_is_accepted_and_larger_refused(fields, refused):
    item = dict({'id': 1}, **fields)
    expected = ['vms_conf[0] (guest 1).%s' % list(fields)[0]] if refused else []
    assert problems([item]) == expected


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
        spec.build_spec(astute_doc([{'id': 1, 'cpu': 1025}],
                                   settings={'guest_default_mem_gib': '16385'}))
    accepted = dict((p.path, p.accepted) for p in raised.value.problems)
    assert accepted == {
        'vms_conf[0] (guest 1).cpu': 'a whole number of vCPUs from 1 to 1024, e.g. 2',
        'reduced-footprint.guest_default_mem_gib':
            'a whole number of GiB from 1 to 16384, e.g. "2"'}
