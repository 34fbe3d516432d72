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
from virt_guests import spec, yamlload
from virt_guests.yamlvalues import Unreadable

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
    except Unreadable as error:
        return error.found, error.accepted


@needs_libyaml
@pytest.mark.parametrize('text', DIFFERING)
def test_where_libyaml_and_pyyaml_differ_pyyamls_reading_is_taken(text):
    assert outcome(text, 'libyaml') == outcome(text, 'pure')


@needs_libyaml
def test_a_tab_inside_quotes_still_reads_the_same():
    assert yamlload.parse(u'a: "x\ty"\n', 'libyaml') == {'a': u'x\ty'}


# What nothing reads (network_metadata: most of nailgun's file) libyaml's
# loader does not build, but every refusal there is the same as a build's.
UNUSED = [
    ('alias', 'network_metadata:\n  a: &x 1\n  b: *x\n',
     'a YAML anchor &x (line 4, column 6)'),
    ('key twice', 'network_metadata:\n  nodes: {n1: 1, n1: 2}\n',
     "the key 'n1' given twice in one mapping (line 4, column 18)"),
    ('binary', 'network_metadata:\n- !!binary "MTBH"\n', 'a !!binary value (line 4, column 3)'),
    ('deep', 'network_metadata: ' + '[' * 150 + ']' * 150 + '\n',
     'lists or mappings nested deeper than 100 levels (line 3, column 118)'),
    ('flow colon', 'network_metadata: {mac: 52:54:00:12:34:56}\n', None),
    ('number key', 'network_metadata: {1: a, 0x1: b}\n', None),
]


@needs_libyaml
@pytest.mark.parametrize('text,found', [c[1:] for c in UNUSED], ids=[c[0] for c in UNUSED])
def test_an_unused_value_is_refused_as_a_built_one_would_be(text, found):
    text = 'uid: "97"\nvms_conf: []\n' + text
    fast = outcome_only(text, 'libyaml')
    assert fast == outcome_only(text, 'pure')
    if found:
        assert fast[0] == found


def outcome_only(text, loader):
    try:
        return types(yamlload.parse(text, loader, spec.USED_KEYS))
    except Unreadable as error:
        return error.found, error.accepted


@needs_libyaml
def test_libyaml_does_not_build_what_nothing_reads():
    doc = nailgun_like()
    text = yaml.safe_dump(doc, default_flow_style=False)
    text = text if isinstance(text, type(u'')) else text.decode('utf-8')
    loader = type('Only', (LIBYAML,), {'only': spec.USED_KEYS})
    fast = yaml.load(text, Loader=loader)  # straight, no fall-back
    assert fast['network_metadata'] is None and fast['ratio'] is None
    assert types(fast) == types(yamlload.parse(text, 'pure', spec.USED_KEYS))
    assert fast['vms_conf'] == doc['vms_conf']
