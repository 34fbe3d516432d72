# -*- coding: utf-8 -*-
"""master_migration.ipv4: the admin network's addresses and masks, parsed
strictly (the master's Python 2.7 has no ipaddress)."""
from __future__ import absolute_import, division, print_function

import pytest

from master_migration.ipv4 import (in_network, network_text, normalize_ipv4, parse_ipv4,
                                   prefix_length)
from master_migration import astute
from rf_common.text import text_type


@pytest.mark.parametrize('text,number', [
    ('10.20.0.2', 0x0A140002), ('0.0.0.0', 0), ('255.255.255.255', 0xFFFFFFFF),
    (u' 192.168.1.10\n', 0xC0A8010A), (b'1.2.3.4', 0x01020304)])
def test_parse_ipv4_accepts_four_decimal_octets(text, number):
    assert parse_ipv4(text) == number


@pytest.mark.parametrize('text', [
    '10.1', '10', '1.2.3.4.5', '256.1.1.1', '1.2.3.-4', '01.2.3.4', '0x1.2.3.4',
    '1.2.3.4/24', '', 'fuel', None, 12, u'\u0661.2.3.4', u'1.2.3.4\u00e9'])
def test_parse_ipv4_refuses_anything_else(text):
    with pytest.raises(ValueError) as err:
        parse_ipv4(text)
    assert str(err.value) == 'not an IPv4 address'


def test_normalized_text_is_text():
    value = normalize_ipv4(b' 10.20.0.2 ')
    assert value == u'10.20.0.2' and isinstance(value, text_type)


@pytest.mark.parametrize('mask,prefix', [
    ('255.255.255.0', 24), ('255.255.255.192', 26), ('255.0.0.0', 8),
    ('255.255.255.255', 32), ('128.0.0.0', 1), ('24', 24), ('/16', 16),
    (u' 8 ', 8), (32, 32)])
def test_prefix_length_from_netmask_or_length(mask, prefix):
    assert prefix_length(mask) == prefix
    assert astute.prefix_length(mask) == prefix


@pytest.mark.parametrize('mask', ['0', '33', '/0', '255.0.255.0', '0.0.0.255',
                                  '0.0.0.0', '255.255.255.256', 'x', '', '//24',
                                  '2 4', u'\u0662\u0664'])
def test_prefix_length_refuses_bad_masks(mask):
    with pytest.raises(ValueError):
        prefix_length(mask)


@pytest.mark.parametrize('address,prefix,text', [
    ('10.20.0.2', 24, '10.20.0.0/24'), ('10.20.0.2', 32, '10.20.0.2/32'),
    ('172.16.5.9', 12, '172.16.0.0/12'), ('192.168.1.200', 26,
                                          '192.168.1.192/26')])
def test_network_text(address, prefix, text):
    assert network_text(address, prefix) == text


@pytest.mark.parametrize('address,network,prefix,inside', [
    ('10.20.0.250', '10.20.0.2', 24, True),
    ('10.20.1.250', '10.20.0.2', 24, False),
    ('10.20.1.250', '10.20.0.2', 16, True),
    ('10.20.0.2', '10.20.0.2', 32, True),
    ('10.20.0.3', '10.20.0.2', 32, False),
    ('192.168.1.129', '192.168.1.130', 25, True),
    ('192.168.1.127', '192.168.1.130', 25, False)])
def test_in_network(address, network, prefix, inside):
    assert in_network(address, network, prefix) is inside
