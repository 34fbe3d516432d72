"""Hostile values in astute.yaml (issue 23, classes 3 to 7): each one is
refused by name, with the value and what is accepted, under both
interpreters; no option reaches a command, no hang, no traceback."""
from __future__ import absolute_import, division, print_function

import os
import threading
import time

import pytest

from lab.blocking import finishes, not_a_file
from nodes import astute_doc
from rf_common.text import shown
from virt_guests import cli, inputcache, render, spec
from virt_guests.commands import run_command

# Every test here runs with and without libyaml (conftest.py).
pytestmark = pytest.mark.usefixtures('yaml_loader')

OPTION = ('would be read as an option or names no device: a name may not begin '
          'with "-" nor be "." or ".."')


def problems(guests=None, settings=None):
    with pytest.raises(spec.InvalidInput) as raised:
        spec.build_spec(astute_doc(guests or [{'id': 1}], settings=settings))
    return [spec.format_problem(p) for p in raised.value.problems]


# ---- class 3: no option smuggled into a command ----------------------------

@pytest.mark.parametrize('key,text,bad', [
    ('guest_bridges', '--help', '"--help"'),
    ('guest_bridges', 'br-fw-admin,--log-file', '"--log-file"'),
    ('guest_bridges', '.', '"."'),
    ('guest_bridges', 'br-ex,..', '".."'),
    ('guest_ovs_bridges', '-x', '"-x"')])
def test_a_bridge_name_a_command_would_take_for_an_option_is_refused(key, text, bad):
    settings = {'guest_bridges': 'br-ex', key: text}
    (problem,) = problems(None, settings)
    assert problem.startswith('reduced-footprint.%s: got "%s" (text): %s %s; accepted: '
                              % (key, text, bad, OPTION))


# ---- class 4: no hang on what is not a regular file, or too large ---------

def input_problem(path):
    error = finishes(inputcache.load_spec, path)
    assert isinstance(error, spec.InvalidInput), error
    (problem,) = error.problems
    return spec.format_problem(problem)


@pytest.mark.parametrize('kind,what', [('fifo', 'a FIFO (named pipe)'),
                                       ('directory', 'a directory'),
                                       ('/dev/zero', 'a character device')])
def test_an_astute_yaml_that_is_no_regular_file_is_refused_at_once(tmpdir, kind, what):
    path = not_a_file(kind, str(tmpdir.join('astute.yaml')))
    assert input_problem(path) == ("%s: got %s, not a regular file; accepted: the node's "
                                   'astute.yaml, a regular file' % (path, what))


def test_an_astute_yaml_larger_than_64_mib_is_refused_unread(tmpdir):
    path = tmpdir.join('astute.yaml')
    with open(str(path), 'wb') as stream:
        stream.truncate((64 << 20) + 1)  # sparse: costs no disk
    assert input_problem(str(path)) == ("%s: got larger than 64 MiB; accepted: the "
                                        "node's astute.yaml, a regular file" % path)


def test_a_fifo_as_the_domain_template_is_refused_at_once(tmpdir):
    fifo = str(tmpdir.join('domain.xml'))
    os.mkfifo(fifo)
    error = finishes(render.load_template, fifo)
    assert str(error) == 'domain template %s is a FIFO (named pipe), not a regular file' % fifo


# ---- class 4 and 5: digit strings that hang Python 2.7 or break 3.11 ------

TEN_MB = '9' * 10 ** 7


@pytest.mark.parametrize('guests,settings,field,length', [
    ([{'id': 1, 'vda_size': TEN_MB}], {}, 'vms_conf[0] (guest 1).vda_size', 10 ** 7),
    ([{'id': 1}], {'guest_default_disk_size': TEN_MB + 'G'},
     'reduced-footprint.guest_default_disk_size', 10 ** 7 + 1),
    ([{'id': 1}], {'guest_default_cpu': TEN_MB}, 'reduced-footprint.guest_default_cpu',
     10 ** 7),
    ([{'id': 1}], {'host_reserved_mem_gib': '9' * 5000},
     'reduced-footprint.host_reserved_mem_gib', 5000)])
def test_a_huge_digit_string_is_refused_quickly_and_cut_in_the_message(guests, settings,
                                                                       field, length):
    started = time.time()
    (problem,) = finishes(problems, guests, settings)
    assert time.time() - started < 5
    assert problem.startswith('%s: got "%s... (%d characters)" (text); accepted: '
                              % (field, '9' * 80, length))


# ---- class 6: valid but wrong ----------------------------------------------

@pytest.mark.parametrize('item,field,accepted', [
    ({'id': 1, 'mem': 10 ** 30}, 'mem', 'a whole number of GiB from 1 to 16384, e.g. 2'),
    ({'id': 1, 'cpu': 100000}, 'cpu', 'a whole number of vCPUs from 1 to 1024, e.g. 2'),
    ({'id': 1, 'vda_size': '2048T'}, 'vda_size', spec.SIZE_TEXT)])
def test_absurd_sizes_and_counts_are_refused_with_the_limit(item, field, accepted):
    (problem,) = problems([item], {})
    assert problem.startswith('vms_conf[0] (guest 1).%s: got ' % field)
    assert problem.endswith('; accepted: ' + accepted)


@pytest.mark.parametrize('folder', ['/', '/etc', '/etc/libvirt', '//usr/', '/var', '/proc',
                                    '/root/images', '/var/lib/'])
def test_a_system_folder_as_disk_folder_is_refused(folder):
    (problem,) = problems(None, {'guest_disk_dir': folder})
    assert problem.startswith('reduced-footprint.guest_disk_dir: got "%s" (text): a system '
                              'folder; accepted: ' % folder)


@pytest.mark.parametrize('folder', ['/var/lib/nova', '/srv/guests', '/var/lib/libvirt/images'])
def test_an_ordinary_disk_folder_is_accepted(folder):
    built = spec.build_spec(astute_doc([{'id': 1}], settings={'guest_disk_dir': folder}))
    assert built.guests[0].disk_path == folder + '/1_vm.img'


# ---- class 7: output that cannot be forged ---------------------------------

def test_a_newline_in_a_value_cannot_forge_a_log_line():
    (problem,) = problems([{'id': 1, 'vda_size': '70G\nvirt-guests: verified'}], {})
    assert '\n' not in problem
    assert 'got "70G\\nvirt-guests: verified" (text)' in problem


def test_an_unknown_key_with_control_characters_is_escaped_in_the_warning():
    built = spec.build_spec(astute_doc([{'id': 1, 'x\r\nvirt-guests: done\x1b[2J': 1}]))
    (warning,) = built.warnings
    assert warning.startswith('guest 1 (vms_conf[0]): unknown key '
                              '"x\\r\\nvirt-guests: done\\x1b[2J" ignored')


# ---- classes 5 and 6: one behaviour under both interpreters ---------------

def yaml_problem(tmpdir, text):
    path = tmpdir.join('astute.yaml')
    path.write_binary(text.encode('utf-8'))
    return input_problem(str(path))


@pytest.mark.parametrize('text,found,accepted', [
    ('uid: "97"\nuid: "98"\n', "the key 'uid' given twice in one mapping (line 2, column 1)",
     'a YAML mapping with each key once'),
    ('uid: "97"\nvms_conf:\n- {id: 1, mem: 2, mem: 64}\n',
     "the key 'mem' given twice in one mapping (line 3, column 19)",
     'a YAML mapping with each key once'),
    ('uid: "97"\nvms_conf:\n- {id: 1, vda_size: !!binary "MTBH"}\n',
     'a !!binary value (line 3, column 21)', 'text, not !!binary')])
def test_a_duplicate_key_or_a_binary_value_is_refused_by_name(tmpdir, text, found, accepted):
    assert yaml_problem(tmpdir, text) == '%s: got %s; accepted: %s' % (
        tmpdir.join('astute.yaml'), found, accepted)


def test_a_character_beyond_u_ffff_reads_the_same_under_both_interpreters(tmpdir):
    path = tmpdir.join('astute.yaml')
    path.write_binary(u'uid: "97"\nfqdn: "node-\U0001F600"\nvms_conf: []\n'.encode('utf-8'))
    assert inputcache.load_spec(str(path), cached=False).node.fqdn == u'node-\U0001F600'


@pytest.mark.parametrize('value', ['-5', '0', '65', '9' * 5000, 'x'])
def test_a_parallel_count_out_of_range_is_refused_with_the_range(value, capsys):
    with pytest.raises(SystemExit) as raised:
        cli.parse_args(['apply', '--parallel', value])
    assert raised.value.code == 2
    assert ('argument --parallel: %s: give a whole number from 1 to 64'
            % shown(value)) in capsys.readouterr().err


def test_no_timer_thread_is_left_running_after_a_command():
    before = threading.active_count()
    run_command(['true'], 30)
    assert threading.active_count() == before
