"""Validation of astute.yaml: good input becomes plain objects, each bad
input is refused with the field, the value and what would be accepted."""
from __future__ import absolute_import, division, print_function

import copy
import os

import pytest
import yaml

from nodes import REPO, astute_doc
from virt_guests import spec

GOOD_GUEST = {'id': 1, 'cpu': 2, 'mem': 2, 'vda_size': '70G', 'created': False}


def doc_with(guests=None, settings=None, **top):
    doc = astute_doc([copy.deepcopy(GOOD_GUEST)] if guests is None else guests,
                     settings=settings)
    doc.update(top)
    return doc


def guest(**fields):
    item = dict(GOOD_GUEST)
    item.update(fields)
    return [dict((k, v) for k, v in item.items() if v is not MISSING)]


MISSING = object()

# (case name, astute.yaml mapping, path of the one expected problem)
BAD = [
    ('id shell injection', doc_with(guest(id='1;rm -rf /')), 'vms_conf[0].id'),
    ('id path traversal', doc_with(guest(id='../x')), 'vms_conf[0].id'),
    ('id digits as text', doc_with(guest(id='1')), 'vms_conf[0].id'),
    ('id boolean', doc_with(guest(id=True)), 'vms_conf[0].id'),
    ('id decimal', doc_with(guest(id=1.5)), 'vms_conf[0].id'),
    ('id zero', doc_with(guest(id=0)), 'vms_conf[0].id'),
    ('id negative', doc_with(guest(id=-3)), 'vms_conf[0].id'),
    ('id missing', doc_with(guest(id=MISSING)), 'vms_conf[0].id'),
    ('id duplicate', doc_with(guest() + guest(cpu=1)), 'vms_conf[1] (guest 1).id'),
    ('cpu as text', doc_with(guest(cpu='2')), 'vms_conf[0] (guest 1).cpu'),
    ('cpu zero', doc_with(guest(cpu=0)), 'vms_conf[0] (guest 1).cpu'),
    ('cpu negative', doc_with(guest(cpu=-1)), 'vms_conf[0] (guest 1).cpu'),
    ('mem as text', doc_with(guest(mem='2')), 'vms_conf[0] (guest 1).mem'),
    ('mem zero', doc_with(guest(mem=0)), 'vms_conf[0] (guest 1).mem'),
    ('mem decimal', doc_with(guest(mem=2.5)), 'vms_conf[0] (guest 1).mem'),
    ('size unknown unit', doc_with(guest(vda_size='70X')), 'vms_conf[0] (guest 1).vda_size'),
    ('size two-letter unit', doc_with(guest(vda_size='70GB')), 'vms_conf[0] (guest 1).vda_size'),
    ('size number not text', doc_with(guest(vda_size=70)), 'vms_conf[0] (guest 1).vda_size'),
    ('size negative', doc_with(guest(vda_size='-70G')), 'vms_conf[0] (guest 1).vda_size'),
    ('size zero', doc_with(guest(vda_size='0G')), 'vms_conf[0] (guest 1).vda_size'),
    ('size 70 bytes', doc_with(guest(vda_size='70')), 'vms_conf[0] (guest 1).vda_size'),
    ('size injection', doc_with(guest(vda_size='70G; reboot')), 'vms_conf[0] (guest 1).vda_size'),
    ('created as text', doc_with(guest(created='yes')), 'vms_conf[0] (guest 1).created'),
    ('ram as text', doc_with(guest(mem=MISSING, ram='4')), 'vms_conf[0] (guest 1).ram'),
    ('mem and ram differ', doc_with(guest(ram=4)), 'vms_conf[0] (guest 1).ram'),
    ('mem_mib too small', doc_with(guest(mem=MISSING, mem_mib=32)),
     'vms_conf[0] (guest 1).mem_mib'),
    ('mem_mib next to mem', doc_with(guest(mem_mib=512)), 'vms_conf[0] (guest 1).mem_mib'),
    ('item not a mapping', doc_with(['1_vm']), 'vms_conf[0]'),
    ('vms_conf not a list', doc_with('1,2'), 'vms_conf'),
    ('uid missing', doc_with(uid=MISSING), 'uid'),
    ('uid injection', doc_with(uid='5; ls'), 'uid'),
    ('default cpu word', doc_with(settings={'guest_default_cpu': 'two'}),
     'reduced-footprint.guest_default_cpu'),
    ('default cpu zero', doc_with(settings={'guest_default_cpu': '0'}),
     'reduced-footprint.guest_default_cpu'),
    ('default size bad unit', doc_with(settings={'guest_default_disk_size': '70 G'}),
     'reduced-footprint.guest_default_disk_size'),
    ('disk dir relative', doc_with(settings={'guest_disk_dir': 'var/lib/nova'}),
     'reduced-footprint.guest_disk_dir'),
    ('disk dir escapes', doc_with(settings={'guest_disk_dir': '/var/lib/../../etc'}),
     'reduced-footprint.guest_disk_dir'),
    ('disk dir injection', doc_with(settings={'guest_disk_dir': '/var/$(reboot)'}),
     'reduced-footprint.guest_disk_dir'),
    ('disk format', doc_with(settings={'guest_disk_format': 'vmdk'}),
     'reduced-footprint.guest_disk_format'),
    ('bridges with space', doc_with(settings={'guest_bridges': 'br-a, br-b'}),
     'reduced-footprint.guest_bridges'),
    ('bridges twice', doc_with(settings={'guest_bridges': 'br-a,br-a'}),
     'reduced-footprint.guest_bridges'),
    ('bridge name too long', doc_with(settings={'guest_bridges': 'br-much-too-long-x'}),
     'reduced-footprint.guest_bridges'),
    ('vnc address', doc_with(settings={'guest_vnc_listen': '0.0.0.0.0'}),
     'reduced-footprint.guest_vnc_listen'),
    ('checkbox as text', doc_with(settings={'allow_mem_overcommit': 'yes'}),
     'reduced-footprint.allow_mem_overcommit'),
    ('template escapes', doc_with(settings={'guest_domain_template': '/etc/../t.xml'}),
     'reduced-footprint.guest_domain_template'),
    ('reserve negative', doc_with(settings={'host_reserved_mem_gib': '-1'}),
     'reduced-footprint.host_reserved_mem_gib'),
]


def _drop_missing(doc):
    return dict((k, v) for k, v in doc.items() if v is not MISSING)


@pytest.mark.parametrize('doc,path', [case[1:] for case in BAD],
                         ids=[case[0] for case in BAD])
def test_bad_input_is_refused_with_path_value_and_what_is_accepted(doc, path):
    with pytest.raises(spec.InvalidInput) as caught:
        spec.build_spec(_drop_missing(doc))
    problems = caught.value.problems
    assert [p.path for p in problems] == [path]
    problem = problems[0]
    assert problem.value and problem.accepted
    assert 'is not' not in problem.accepted  # our words, not jsonschema's


def test_at_least_twenty_distinct_bad_inputs():
    assert len(set(case[0] for case in BAD)) >= 20


def test_every_problem_is_reported_at_once():
    doc = doc_with(guest(id='x', cpu='2') + guest(id=2, vda_size='9Q') + guest(id=2),
                   settings={'guest_disk_format': 'vmdk'})
    with pytest.raises(spec.InvalidInput) as caught:
        spec.build_spec(doc)
    paths = sorted(p.path for p in caught.value.problems)
    assert paths == sorted([
        'vms_conf[0].id', 'vms_conf[0].cpu', 'vms_conf[1] (guest 2).vda_size',
        'vms_conf[2] (guest 2).id', 'reduced-footprint.guest_disk_format'])


def test_problem_text_names_field_value_and_fix():
    with pytest.raises(spec.InvalidInput) as caught:
        spec.build_spec(doc_with(guest(mem='2')))
    text = spec.format_problem(caught.value.problems[0])
    assert text == ('vms_conf[0] (guest 1).mem: got "2" (text); accepted: '
                    'a whole number of GiB from 1 to 16384, e.g. 2')


def test_good_guest_becomes_plain_object():
    result = spec.build_spec(doc_with(settings={'guest_disk_dir': '/srv/vms/'}))
    assert result.guests == (spec.Guest(
        id=1, name='1_vm', cpu=2, mem_mib=2048, disk_size='70G',
        disk_bytes=70 * 1024 ** 3, disk_path='/srv/vms/1_vm.img'),)
    assert result.node.uid == '97' and result.warnings == []


def test_missing_fields_take_the_plugin_settings():
    doc = doc_with([{'id': 3}], settings={'guest_default_cpu': '4',
                                          'guest_default_mem_gib': '8',
                                          'guest_default_disk_size': '100G'})
    (only,) = spec.build_spec(doc).guests
    assert (only.cpu, only.mem_mib, only.disk_size) == (4, 8192, '100G')


def test_without_plugin_section_the_core_defaults_apply_with_a_warning():
    doc = doc_with([{'id': 3}])
    del doc['reduced-footprint']
    result = spec.build_spec(doc)
    (only,) = result.guests
    assert (only.cpu, only.mem_mib, only.disk_bytes) == (2, 2048, 70 * 1024 ** 3)
    assert only.disk_path == '/var/lib/nova/3_vm.img'
    assert 'no "reduced-footprint" section' in result.warnings[0]


def test_defaults_are_the_values_of_environment_config():
    with open(os.path.join(REPO, 'environment_config.yaml')) as stream:
        config = yaml.safe_load(stream)
    shipped = dict((key, attr['value']) for key, attr in config['attributes'].items()
                   if key != 'metadata')
    assert shipped == spec.DEFAULT_SETTINGS


def test_extra_keys_and_numbers_for_text_settings_are_tolerated():
    doc = doc_with(guest(user_note='controller 1', created=True),
                   settings={'guest_default_cpu': 3, 'some_future_setting': 'x'})
    (only,) = spec.build_spec(doc).guests
    assert only.cpu == 2


def test_ram_is_read_as_mem_with_a_warning():
    result = spec.build_spec(doc_with(guest(mem=MISSING, ram=6)))
    assert result.guests[0].mem_mib == 6 * 1024
    assert result.warnings == ['guest 1: "ram" read as "mem" (6 GiB); nailgun writes "mem"']


def test_mem_mib_gives_small_guests():
    result = spec.build_spec(doc_with(guest(mem=MISSING, mem_mib=256)))
    assert result.guests[0].mem_mib == 256


@pytest.mark.parametrize('vms_conf', [[], None, MISSING])
def test_no_guests_is_valid_and_empty(vms_conf):
    doc = _drop_missing(doc_with(vms_conf if vms_conf is not MISSING else [],
                                 vms_conf=vms_conf))
    assert spec.build_spec(doc).guests == ()


@pytest.mark.parametrize('text,expected', [
    ('70G', 70 * 1024 ** 3), ('1T', 1024 ** 4), ('512M', 512 * 1024 ** 2),
    ('2048k', 2048 * 1024), ('2048K', 2048 * 1024), ('1048576b', 1048576),
    ('1048576', 1048576)])
def test_sizes_use_qemu_img_binary_units(text, expected):
    assert spec.parse_size_default_bytes(text) == expected


def test_ovs_bridges_come_from_settings_and_network_scheme():
    doc = doc_with(settings={'guest_bridges': 'br-fw-admin,br-prv,br-mgmt',
                             'guest_ovs_bridges': 'br-mgmt,br-gone'})
    doc['network_scheme'] = {'transformations': [
        {'action': 'add-br', 'name': 'br-prv', 'provider': 'ovs'},
        {'action': 'add-br', 'name': 'br-fw-admin'}]}
    result = spec.build_spec(doc)
    assert result.settings.ovs_bridges == ('br-prv', 'br-mgmt')
    assert result.warnings == ['guest_ovs_bridges: br-gone is not in guest_bridges, ignored']


def test_unreadable_and_non_yaml_files_are_input_problems(tmp_path):
    with pytest.raises(spec.InvalidInput) as caught:
        spec.load_spec(os.path.join(str(tmp_path), 'absent.yaml'))
    assert 'unreadable' in caught.value.problems[0].value
    bad = os.path.join(str(tmp_path), 'bad.yaml')
    with open(bad, 'w') as stream:
        stream.write('vms_conf: [\n')
    with pytest.raises(spec.InvalidInput) as caught:
        spec.load_spec(bad)
    assert 'not YAML' in caught.value.problems[0].value


# Issue 9, point 7: a trailing newline is refused by name ($ matched before it).
@pytest.mark.parametrize('doc,path', [
    (doc_with(guest(vda_size='70G\n')), 'vms_conf[0] (guest 1).vda_size'),
    (doc_with(settings={'guest_default_disk_size': '70G\n'}),
     'reduced-footprint.guest_default_disk_size'),
    (doc_with(uid='97\n'), 'uid'),
    (doc_with(settings={'guest_default_cpu': '2\n'}), 'reduced-footprint.guest_default_cpu'),
    (doc_with(settings={'guest_disk_dir': '/var/lib/nova\n'}),
     'reduced-footprint.guest_disk_dir'),
    (doc_with(settings={'guest_bridges': 'br-a\n'}), 'reduced-footprint.guest_bridges'),
    (doc_with(settings={'guest_ovs_bridges': 'br-a\n'}),
     'reduced-footprint.guest_ovs_bridges'),
    (doc_with(settings={'guest_vnc_listen': '127.0.0.1\n'}),
     'reduced-footprint.guest_vnc_listen'),
    (doc_with(settings={'guest_domain_template': '/etc/t.xml\n'}),
     'reduced-footprint.guest_domain_template'),
], ids=['vda_size', 'default size', 'uid', 'default cpu', 'disk dir', 'bridges',
        'ovs bridges', 'vnc listen', 'template'])
def test_trailing_newline_is_refused_by_name(doc, path):
    with pytest.raises(spec.InvalidInput) as caught:
        spec.build_spec(doc)
    assert [p.path for p in caught.value.problems] == [path]


def test_every_pattern_is_anchored_at_the_true_end():
    import re
    from virt_guests import plan, yamlload
    assert not re.match(spec.SIZE_PATTERN, '70G\n')
    assert not yamlload.DECIMAL.match('12\n')
    assert not plan.GUEST_NAME.match('1_vm\n')
    assert not spec._matches_size('70G\n')


# Issue 9, point 11: unknown keys of a guest entry are named, with a suggestion.
def test_unknown_guest_key_is_warned_with_the_nearest_known_key():
    result = spec.build_spec(doc_with(guest(vda_sise='100G')))
    assert result.guests[0].disk_size == '70G'
    assert result.warnings == [
        'guest 1 (vms_conf[0]): unknown key "vda_sise" ignored; did you mean "vda_size"?']


def test_unknown_guest_key_without_a_near_one_is_warned_plainly():
    result = spec.build_spec(doc_with(guest(user_note='controller 1')))
    assert result.warnings == ['guest 1 (vms_conf[0]): unknown key "user_note" ignored; '
                               'known keys: cpu, created, id, mem, mem_mib, vda_size']


def test_keys_nailgun_writes_are_accepted_silently():
    result = spec.build_spec(doc_with(guest(created=True, cluster_id=3, mem=MISSING, ram=2)))
    assert [w for w in result.warnings if 'unknown' in w] == []
