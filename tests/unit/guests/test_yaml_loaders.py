# -*- coding: utf-8 -*-
"""astute.yaml through libyaml (where PyYAML has the binding, as Fuel's
nodes do) reads as through PyYAML's pure-Python loader: the same values of
the same types, and for the texts where the two parsers differ, the pure
loader's reading. The hostile sets of test_astute.py and
test_hostile_input.py run under each loader (conftest.yaml_loader)."""
from __future__ import absolute_import, division, print_function

import pytest
import yaml

from nodes import astute_doc
from virt_guests import astute, yamlload

LIBYAML = yamlload.LOADERS['libyaml']
needs_libyaml = pytest.mark.skipif(
    LIBYAML is None, reason='PyYAML %s here has no libyaml binding (yaml.__with_libyaml__ '
    'is False): `tools/setup test` installs libyaml-dev and builds it' % yaml.__version__)


def nailgun_like():
    """A virt node's document with what nailgun adds around vms_conf:
    nested mappings, lists, numbers, booleans, nulls, non-ASCII text."""
    doc = astute_doc([{'id': n, 'cpu': 2, 'mem': 4, 'vda_size': '100G'} for n in (1, 2)])
    doc['network_metadata'] = {'nodes': dict(
        ('node-%d' % n, {'uid': str(n), 'swift_zone': n, 'online': n % 2 == 0,
                         'node_roles': ['controller', 'compute'], 'labels': None,
                         'network_roles': {'admin/pxe': '10.20.0.%d' % n},
                         'user_node_name': u'Untitled (\u00e9 %d)' % n})
        for n in range(1, 6))}
    doc['network_scheme']['interfaces'] = {'eth0': {'vendor_specific': {
        'bus_info': '0000:00:03.0', 'driver': 'virtio_net'}}}
    doc['quantum_settings'] = {'L2': {'phys_nets': {'physnet2': {'vlan_range': '1000:1030'}}}}
    doc['ratio'] = 1.5
    return doc


def types(value):
    """The value with each leaf's type (str and unicode differ on 2.7) and
    repr (a Surprise equals only itself)."""
    if isinstance(value, dict):
        return dict((types(k), types(v)) for k, v in value.items())
    if isinstance(value, list):
        return [types(v) for v in value]
    return (type(value).__name__, repr(value))


@needs_libyaml
@pytest.mark.parametrize('flow', [False, None, True], ids=['block', 'leaves-flow', 'flow'])
def test_libyaml_reads_a_nailgun_like_file_as_the_pure_loader_does(flow):
    text = yaml.safe_dump(nailgun_like(), default_flow_style=flow, allow_unicode=True)
    if not isinstance(text, type(u'')):
        text = text.decode('utf-8')
    # Straight through libyaml: a fall-back to the pure loader would hide a
    # libyaml reading that no longer works.
    fast = yaml.load(text, Loader=LIBYAML)
    assert types(fast) == types(yaml.load(text, Loader=yamlload.LOADERS['pure']))
    assert fast['network_metadata']['nodes']['node-2']['online'] is True


# Texts that libyaml 0.2 and PyYAML's scanner read differently (found by
# comparing the two on random texts): tabs, "\/", ":" and "?" inside a
# plain scalar in [] or {} (PyYAML 3.10 ends the scalar there), a bare "!".
DIFFERING = [
    'a:\tb\n', 'a: b\t\n', 'a: "\\/"\n', 'v: [a:1]\n', 'v: {a: 1:30}\n', '{1:30}\n',
    '[---\n? ?]\n', 'v: [a?b]\n', 'a: !\n', '- ! x\n']


def outcome(text, loader):
    try:
        return types(yamlload.parse(text, loader))
    except astute.Unreadable as error:
        return error.found, error.accepted


@needs_libyaml
@pytest.mark.parametrize('text', DIFFERING)
def test_where_libyaml_and_pyyaml_differ_pyyamls_reading_is_taken(text):
    assert outcome(text, 'libyaml') == outcome(text, 'pure')


@needs_libyaml
def test_a_tab_inside_quotes_still_reads_the_same():
    assert yamlload.parse(u'a: "x\ty"\n', 'libyaml') == {'a': u'x\ty'}
