# -*- coding: utf-8 -*-
"""The master's /etc/fuel/astute.yaml reads the same through libyaml
(where the master's PyYAML has the binding) as through PyYAML's
pure-Python loader: the same admin network, the same words for a bad file."""
from __future__ import absolute_import, division, print_function

import pytest
import yaml

from master_migration import astute

MASTER = {'ADMIN_NETWORK': {'interface': 'eth0', 'ipaddress': '10.20.0.2',
                            'netmask': '255.255.255.0', 'mac': '52:54:00:12:34:56',
                            'dhcp_pool_start': '10.20.0.3', 'dhcp_gateway': '10.20.0.1'},
          'HOSTNAME': 'fuel', 'DNS_DOMAIN': 'domain.tld', 'FUEL_ACCESS': {
              'user': 'admin', 'password': u'p\u00e4ss'}, 'BOOTSTRAP': {'flavor': 'ubuntu'}}
ADMIN = astute.AdminNetwork('eth0', '10.20.0.2', '255.255.255.0', '52:54:00:12:34:56')


needs_libyaml = pytest.mark.skipif(
    astute.LIBYAML is None, reason='PyYAML %s here has no libyaml binding '
    '(yaml.__with_libyaml__ is False): `tools/setup test` installs libyaml-dev and '
    'builds it' % yaml.__version__)


def outcome(text):
    try:
        return astute.parse_astute(text, 'astute.yaml')
    except astute.AstuteError as error:
        return str(error)


CASES = [
    # Fuel writes it in block style: libyaml reads it.
    (yaml.safe_dump(MASTER, default_flow_style=False), ADMIN),
    ('ADMIN_NETWORK:\n  interface: eth0\n  ipaddress: [10.20.0.2\n',
     'astute.yaml: not valid YAML: while parsing a flow sequence'),
    ('ADMIN_NETWORK: {interface: eth0\n', 'astute.yaml: not valid YAML: while parsing a '
     'flow mapping'),
    ('ADMIN_NETWORK:\n  interface: "eth0\n', 'astute.yaml: not valid YAML: while '
     'scanning a quoted scalar'),
    # libyaml takes a tab after a colon, PyYAML does not.
    ('ADMIN_NETWORK:\n  interface:\teth0\n', 'astute.yaml: not valid YAML: while '
     'scanning for the next token'),
    # PyYAML 3.10 refuses ":" there, later ones and libyaml do not.
    ('ADMIN_NETWORK:\n  interface: [eth0:1]\n', None),
    ('- a list\n', 'astute.yaml: expected a mapping at the top'),
    ('ADMIN_NETWORK: 5\n', 'astute.yaml: ADMIN_NETWORK must be a mapping, got 5'),
]


@needs_libyaml
@pytest.mark.parametrize('text,expected', CASES, ids=[
    'fuel-written', 'unclosed list', 'unclosed mapping', 'unclosed quote', 'tab',
    'flow colon', 'list', 'number'])
def test_the_master_s_astute_yaml_reads_the_same_with_each_loader(monkeypatch, text,
                                                                  expected):
    fast = outcome(text)
    monkeypatch.setattr(astute, 'LIBYAML', None)
    assert fast == outcome(text)
    if isinstance(expected, str):
        assert fast.startswith(expected)
    elif expected is not None:
        assert fast == expected


@needs_libyaml
def test_libyaml_reads_fuel_s_file_itself():
    # Straight, not through the pure loader's fall-back.
    text = yaml.safe_dump(MASTER, default_flow_style=False, allow_unicode=True)
    text = text if isinstance(text, type(u'')) else text.decode('utf-8')
    assert yaml.load(text, Loader=astute.LIBYAML) == yaml.safe_load(text)


def test_deep_nesting_is_python_s_recursion_limit_not_a_crash():
    # CSafeLoader's C composer dies of a segmentation fault here (PyYAML 3.10).
    with pytest.raises(RuntimeError):  # RecursionError on Python 3
        astute.parse_astute('x: ' + '[' * 100000 + ']' * 100000 + '\n')
