# -*- coding: utf-8 -*-
"""astute.yaml as bytes -> document: UTF-8 whatever the locale, YAML 1.1
surprises refused by name, and problems that read the same under Python
2.7 and 3 (literal expected strings)."""
from __future__ import absolute_import, division, print_function

import os

import pytest
import yaml

from nodes import astute_doc
from virt_guests import astute, spec, yamlvalues

# Every test here runs with and without libyaml (conftest.py).
pytestmark = pytest.mark.usefixtures('yaml_loader')


def write(tmp_path, data):
    path = os.path.join(str(tmp_path), 'astute.yaml')
    with open(path, 'wb') as stream:
        stream.write(data)
    return path


def good_yaml(**extra):
    """UTF-8 bytes (safe_dump with an encoding gives bytes on 2.7 and 3)."""
    doc = astute_doc([{'id': 1, 'cpu': 2, 'mem': 2}])
    doc.update(extra)
    return yaml.safe_dump(doc, allow_unicode=True, default_flow_style=False,
                          encoding='utf-8')


def problems_of(tmp_path, text):
    data = text.encode('utf-8') if not isinstance(text, bytes) else text
    with pytest.raises(spec.InvalidInput) as caught:
        spec.load_spec(write(tmp_path, data))
    return [spec.format_problem(p) for p in caught.value.problems]


def test_non_ascii_values_are_read_as_text(tmp_path):
    text = good_yaml(fqdn=u'n\u00f6de-97.domain', environment={'name': u'\u00d6st \u20ac'})
    result = spec.load_spec(write(tmp_path, text))
    assert result.node.fqdn == u'n\u00f6de-97.domain'
    assert [g.name for g in result.guests] == ['1_vm']


def test_invalid_utf8_is_a_problem_not_a_traceback(tmp_path):
    path = write(tmp_path, b'uid: "97"\nfqdn: "n\xf6de"\n')
    with pytest.raises(spec.InvalidInput) as caught:
        spec.load_spec(path)
    (problem,) = caught.value.problems
    assert spec.format_problem(problem) == (
        path + ': got not UTF-8 text (byte 0xf6 at offset 18); accepted: a YAML '
        'mapping written in UTF-8')


@pytest.mark.parametrize('scalar,meaning', [
    ('1:30', 'the number 90'), ('010', 'the number 8'), ('0x10', 'the number 16'),
    ('1_000', 'the number 1000'), ('yes', 'true'), ('No', 'false'), ('on', 'true'),
    ('off', 'false')])
def test_yaml_1_1_surprises_are_kept_visible(scalar, meaning):
    value = astute.parse('v: %s\n' % scalar)['v']
    assert isinstance(value, yamlvalues.Surprise)
    assert value.describe() == '%s (YAML 1.1 reads it as %s)' % (scalar, meaning)


@pytest.mark.parametrize('scalar,expected', [
    ('10', 10), ('-3', -3), ('0', 0), ('true', True), ('False', False),
    ('"010"', '010'), ("'yes'", 'yes'), ('1.5', 1.5)])
def test_plain_values_stay_plain(scalar, expected):
    value = astute.parse('v: %s\n' % scalar)['v']
    assert value == expected and type(value) is type(expected)


# (case, astute.yaml text, formatted problems: literal, the same under 2.7 and 3)
MESSAGES = [
    # Block style: PyYAML before 5.1 (Fuel's 3.10) refuses '1:30' in a flow mapping.
    ('YAML 1.1 size', 'uid: "97"\nvms_conf:\n- id: 1\n  vda_size: 1:30\n', [
        'vms_conf[0] (guest 1).vda_size: got 1:30 (YAML 1.1 reads it as the number 90); '
        'accepted: a size from 1M to 1024T: digits with an optional unit b, k/K, M, G or T, '
        'e.g. "70G"']),
    ('YAML 1.1 octal and yes', 'uid: "97"\nvms_conf:\n- {id: 010, cpu: yes}\n', [
        'vms_conf[0].cpu: got yes (YAML 1.1 reads it as true); accepted: a whole number '
        'of vCPUs from 1 to 1024, e.g. 2',
        'vms_conf[0].id: got 010 (YAML 1.1 reads it as the number 8); accepted: a whole '
        'number >= 1, unique on this node, e.g. 1']),
    ('non-ASCII text', u'uid: "97"\nvms_conf:\n- {id: 1, vda_size: "7\u20acG"}\n', [
        u'vms_conf[0] (guest 1).vda_size: got "7\u20acG" (text); accepted: a size from 1M '
        u'to 1024T: digits with an optional unit b, k/K, M, G or T, e.g. "70G"']),
    ('mapping instead of list', u'uid: "97"\nvms_conf: {f\u00fc\u00fc: 1}\n', [
        u"vms_conf: got {'f\u00fc\u00fc': 1} (a dict); accepted: a list of guests such as "
        u'[{"id": 1, "mem": 2, "cpu": 2}]']),
    ('list item not a mapping', 'uid: "97"\nvms_conf: [[1, "a"]]\n', [
        "vms_conf[0]: got [1, 'a'] (a list); accepted: a mapping such as "
        '{"id": 1, "mem": 2, "cpu": 2}']),
    ('big number and ram',
     'uid: "97"\nvms_conf:\n- {id: 1, mem: 2, ram: 99999999999999999999}\n', [
        'vms_conf[0] (guest 1).ram: got 99999999999999999999; accepted: a whole number '
        'of GiB from 1 to 16384 (better written as "mem")',
        'vms_conf[0] (guest 1).ram: got 99999999999999999999; accepted: no "ram" next to '
        '"mem" (2), or the same value']),
    ('decimal and missing uid', 'vms_conf:\n- {id: 1.5}\n', [
        'uid: got missing; accepted: the node id nailgun writes, digits such as "5"',
        'vms_conf[0].id: got 1.5 (a decimal number); accepted: a whole number >= 1, '
        'unique on this node, e.g. 1']),
    ('not YAML', 'vms_conf: [\n', [
        '{path}: got not YAML (while parsing a flow node, line 2, column 1); '
        'accepted: a YAML mapping']),
    ('two documents', 'uid: "97"\n---\nuid: "98"\n', [
        '{path}: got not YAML (expected a single document in the stream, line 2, column 1); '
        'accepted: a YAML mapping']),
    ('unclosed quote', 'uid: "97\n', [
        '{path}: got not YAML (while scanning a quoted scalar, line 2, column 1); '
        'accepted: a YAML mapping']),
]


# Issue 9, point 9: hostile astute.yaml files are refused by name, no traceback.
BOMB = 'uid: "97"\na: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + ''.join(
    '%s: &%s [%s]\n' % (n, n, ','.join(['*' + p] * 9))
    for p, n in zip('abcdefgh', 'bcdefghi'))
NO_ALIASES = 'a YAML mapping without anchors (&name) or aliases (*name)'
HOSTILE = [
    ('alias bomb', BOMB, ['{path}: got a YAML anchor &a (line 2, column 4); accepted: '
                          + NO_ALIASES]),
    ('one alias', 'uid: "97"\nfqdn: *x\n', [
        '{path}: got a YAML alias *x (line 2, column 7); accepted: ' + NO_ALIASES]),
    ('3000 deep', 'uid: "97"\nx: ' + '[' * 3000 + ']' * 3000 + '\n', [
        '{path}: got lists or mappings nested deeper than 100 levels (line 2, column 103); '
        'accepted: a YAML mapping']),
    # libyaml's own composer (CSafeLoader) crashes on this under PyYAML 3.10.
    ('100000 deep', 'uid: "97"\nx: ' + '[' * 100000 + ']' * 100000 + '\n', [
        '{path}: got lists or mappings nested deeper than 100 levels (line 2, column 103); '
        'accepted: a YAML mapping']),
    ('5000 digits', 'uid: "97"\nvms_conf:\n- id: 1\n  mem: ' + '9' * 5000 + '\n', [
        'vms_conf[0] (guest 1).mem: got a number of 5000 digits; accepted: a whole number '
        'of GiB from 1 to 16384, e.g. 2']),
    ('transformations not a list', 'uid: "97"\nnetwork_scheme: {transformations: 5}\n', [
        'network_scheme.transformations: got 5; accepted: a list of transformations '
        '(nailgun writes it)']),
]


# The same words under both interpreters; hostile files refused by name.
@pytest.mark.parametrize('text,expected', [c[1:] for c in MESSAGES + HOSTILE],
                         ids=[c[0] for c in MESSAGES + HOSTILE])
def test_each_problem_is_named_in_the_same_words_on_both_interpreters(tmp_path, text,
                                                                      expected):
    path = os.path.join(str(tmp_path), 'astute.yaml')
    assert problems_of(tmp_path, text) == [line.replace('{path}', path) for line in expected]


def test_the_alias_bomb_is_small():
    assert len(BOMB) < 800
