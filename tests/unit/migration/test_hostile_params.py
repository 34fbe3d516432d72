"""Hostile values given to rf-migrate-master (issue 23, classes 3 to 7):
each one refused by name with the value and the fix, under both
interpreters; no option reaches a command, no hang, no traceback."""
from __future__ import absolute_import, division, print_function

import threading
import time

import pytest
import yaml

from lab.blocking import finishes, not_a_file
from master_migration import astute, cli, params, state
from master_migration.procgroups import communicate
from master_migration.cli import build_parser, cli_values

ASTUTE = {'ADMIN_NETWORK': {'interface': 'eth0', 'ipaddress': '10.20.0.2',
                            'netmask': '255.255.255.0',
                            'mac': '52:54:00:AA:BB:CC'}}


@pytest.fixture
def root(tmpdir):
    tmpdir.mkdir('etc').mkdir('fuel').join('astute.yaml').write(yaml.safe_dump(ASTUTE))
    return str(tmpdir)


def problems(root, argv=(), config=None):
    argv = ['--source-root', root, '--interim-address', '10.20.0.9'] + list(argv)
    argv = argv if '--' in argv else ['virt-1'] + argv
    args = build_parser().parse_args(argv)
    with pytest.raises(params.ParamError) as raised:
        params.build_params(cli_values(args, config or {}), config or {}, 'cfg.yaml')
    return raised.value.problems


# ---- class 3: no option smuggled into a command ----------------------------

@pytest.mark.parametrize('config', [
    {'admin_bridge': '--help'}, {'admin_bridge': '.'}, {'admin_bridge': '..'},
    {'nics': ['eth1=--log-file']}, {'nics': [{'interface': '-x', 'bridge': 'br-ex'}]},
    {'admin_interface': '-eth0'}])
def test_an_interface_or_bridge_name_taken_for_an_option_is_refused(root, config):
    (problem,) = problems(root, config=config)
    assert 'not an interface name: it may not begin with "-" (a command would read ' \
           'an option) nor be "." or ".."' in problem
    assert problem.split(':')[0] == list(config)[0]


# ---- class 4: no hang on the config file ------------------------------------

def config_problem(path):
    error = finishes(params.load_config, path)
    assert isinstance(error, params.ParamError), error
    (problem,) = error.problems
    return problem


def write_config(tmpdir, data):
    path = tmpdir.join('migrate.yaml')
    path.write_binary(data if isinstance(data, bytes) else data.encode('utf-8'))
    return str(path)


@pytest.mark.parametrize('kind,what', [('fifo', 'a FIFO'), ('directory', 'a directory'),
                                       ('/dev/zero', 'a character device')])
def test_a_config_that_is_no_regular_file_is_refused_at_once(tmpdir, kind, what):
    path = not_a_file(kind, str(tmpdir.join('migrate.yaml')))
    assert config_problem(path) == ('--config %s: not a regular file (%s): give a YAML '
                                    'file' % (path, what))


BOMB = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + ''.join(
    '%s: &%s [%s]\n' % (n, n, ','.join(['*' + p] * 9)) for p, n in zip('abcdefgh', 'bcdefghi'))


@pytest.mark.parametrize('text,found', [
    (BOMB, 'a YAML anchor or alias (line 1, column 4): write the values out'),
    ('name: [' + '[' * 100000 + ']' * 100001 + '\n',
     'nested deeper than 50 levels (line 1, column 56)'),
    ('disk_size: ' + '9' * 400 + '\n', 'a number of 400 digits (line 1, column 12): no '
     'setting takes one'),
    ('memory: 2G\nmemory: 64G\n', "the key 'memory' is given twice in one mapping "
     '(line 2, column 1): give it once'),
    (b'name: \xff\xfe\n', 'not UTF-8 text (byte 0xff at offset 6): save it as UTF-8')])
def test_a_hostile_config_is_refused_quickly_by_name(tmpdir, text, found):
    path = write_config(tmpdir, text)
    started = time.time()
    assert config_problem(path) == '--config %s: %s' % (path, found)
    assert time.time() - started < 5


# ---- class 5: no traceback --------------------------------------------------

def main_refusal(argv, capfd):
    assert finishes(cli.main, argv) == 2
    return capfd.readouterr().err


@pytest.mark.parametrize('config,argv,found', [
    ('work_dir: 5\n', [], 'work_dir: 5: must be an absolute path'),
    ('', ['--work-dir', '/proc'], "work_dir: '/proc': a system folder; use e.g. "
     '/var/lib/rf-migrate-master'),
    ('', ['--work-dir', '/etc/rf'], "work_dir: '/etc/rf': a system folder; use e.g. "
     '/var/lib/rf-migrate-master'),
    ('', ['--work-dir', '/var/lib/x/../../../etc'], "work_dir: '/var/lib/x/../../../etc': "
     'must not contain "..": give the path it means')])
def test_a_bad_work_dir_is_refused_before_anything_is_written(
        tmpdir, capfd, config, argv, found):
    path = write_config(tmpdir, config)
    err = main_refusal(['virt-1', '--config', path] + argv, capfd)
    assert err == 'rf-migrate-master: cannot go on:\n  - %s\n' % found


@pytest.mark.parametrize('config,start', [
    ({'disk_size': '9' * 400 + 'G'}, "disk_size: '%s... (403 characters) (from config "
     "cfg.yaml): not a size; use e.g. 100G" % ('9' * 79)),
    ({'exclude': ['[z-a]']}, "exclude: ['[z-a]'] (from config cfg.yaml): '[z-a]': not a "
     'pattern the copy can use (bad character range')])
def test_a_value_that_used_to_raise_is_refused_by_name(root, config, start):
    (problem,) = problems(root, config=config)
    assert problem.startswith(start)


def test_no_timer_thread_is_left_running_after_a_command():
    before = threading.active_count()
    communicate(['true'], 30)
    assert threading.active_count() == before


# ---- class 6: valid but wrong -------------------------------------------------

@pytest.mark.parametrize('config,expected', [
    ({'memory': '99999999G'}, "memory: '99999999G' (from config cfg.yaml): too large: at "
     'most 16.0 TiB'),
    ({'memory': u'\u0664G'}, u"memory: '\u0664G' (from config cfg.yaml): not a size; use "
     'e.g. 4G'),
    ({'disk_dir': '/var/lib/nova/../../etc'}, "disk_dir: '/var/lib/nova/../../etc' (from "
     'config cfg.yaml): must not contain "..": give the path it means'),
    ({'interim_address': '10.20.0.0'}, 'interim_address: 10.20.0.0 is the network address '
     'of 10.20.0.0/24, not a host; pick a free address there'),
    ({'interim_address': '10.20.0.255'}, 'interim_address: 10.20.0.255 is the broadcast '
     'address of 10.20.0.0/24, not a host; pick a free address there')])
def test_a_valid_but_wrong_value_is_refused_with_the_limit(root, config, expected):
    argv = ['--interim-address', config.pop('interim_address')] if (
        'interim_address' in config) else []
    assert problems(root, argv, config) == [expected]


def test_a_percent_sign_outside_an_ipv6_address_is_refused(root):
    (problem,) = problems(root, config={'destination': 'a%b'}, argv=['--', 'a%b'])
    assert problem.startswith("destination: 'a%b' (from --destination): give the virt node")


# ---- class 7: output that cannot be forged ---------------------------------

def test_a_long_value_is_cut_and_a_newline_escaped_in_the_message(root):
    (problem,) = problems(root, config={'name': 'x' * 10 ** 7})
    assert problem == "name: '%s... (10000002 characters) (from config cfg.yaml): use " \
        'letters, digits, _ . - (max 63)' % ('x' * 79)
    (problem,) = problems(root, config={'name': 'fuel\nrf-migrate-master: done'})
    assert '\n' not in problem and "'fuel\\nrf-migrate-master: done'" in problem


def test_an_unknown_config_key_with_a_newline_is_escaped(tmpdir):
    path = write_config(tmpdir, '"x\\nrf-migrate-master: done": 1\n')
    assert '\n' not in config_problem(path)


def test_a_link_at_the_run_lock_is_refused_and_its_target_left(tmpdir):
    target, lock = tmpdir.join('passwd'), tmpdir.join('lock')
    target.write('root:x:0:0\n')
    lock.mksymlinkto(target)
    with pytest.raises(state.LockBusy) as raised:
        state.Lock(str(lock)).acquire()
    assert str(raised.value).startswith('cannot open the lock %s: ' % lock)
    assert target.read() == 'root:x:0:0\n'


def test_a_character_beyond_u_ffff_in_the_config_reads_the_same_on_both(tmpdir):
    path = write_config(tmpdir, u'# migrated by \U0001F600\nname: fuel_master\n')
    assert params.load_config(path) == {'name': 'fuel_master'}


def test_a_fifo_as_the_master_s_astute_yaml_is_refused_at_once(tmpdir):
    fifo = not_a_file('fifo', str(tmpdir.join('astute.yaml')))
    error = finishes(astute.load_astute, fifo)
    assert str(error) == '%s: not a regular file (a FIFO): give a YAML file' % fifo


@pytest.mark.parametrize('kind', ['writable by others', 'a link'])
def test_a_work_dir_others_could_plant_links_in_is_refused(tmpdir, capfd, kind):
    real = tmpdir.mkdir('real')
    work = real if kind == 'writable by others' else tmpdir.join('link')
    if kind == 'a link':
        work.mksymlinkto(real)
    else:
        real.chmod(0o1777)
    err = main_refusal(['virt-1', '--work-dir', str(work)], capfd)
    assert err.startswith('rf-migrate-master: cannot go on:\n  - work_dir: %s is ' % work)
    assert real.listdir() == []


def test_a_huge_admin_network_in_the_master_s_astute_yaml_is_cut(tmpdir):
    path = write_config(tmpdir, 'ADMIN_NETWORK: "%s"\n' % ('x' * 10 ** 6))
    with pytest.raises(astute.AstuteError) as raised:
        astute.load_astute(path)
    assert str(raised.value) == ("%s: ADMIN_NETWORK must be a mapping, got '%s... "
                                 '(1000002 characters)' % (path, 'x' * 79))
