# -*- coding: utf-8 -*-
"""compat: what makes rf-migrate-master run the same under Python 2.7 and
3: the IPv4 parser, commands killed by process group on timeout and on any
exception, text and messages that read the same on both."""
from __future__ import absolute_import, division, print_function

import os
import signal
import subprocess
import sys
import time

import pytest

from lab.processes import group_gone
from master_migration import astute, compat, params
from master_migration.commands import CommandError, Commands, Remote
from recorder import Recorder

MIGRATION_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))), 'migration')


# --- IPv4 ------------------------------------------------------------------

@pytest.mark.parametrize('text,number', [
    ('10.20.0.2', 0x0A140002), ('0.0.0.0', 0), ('255.255.255.255', 0xFFFFFFFF),
    (u' 192.168.1.10\n', 0xC0A8010A), (b'1.2.3.4', 0x01020304)])
def test_parse_ipv4_accepts_four_decimal_octets(text, number):
    assert compat.parse_ipv4(text) == number


@pytest.mark.parametrize('text', [
    '10.1', '10', '1.2.3.4.5', '256.1.1.1', '1.2.3.-4', '01.2.3.4', '0x1.2.3.4',
    '1.2.3.4/24', '', 'fuel', None, 12, u'\u0661.2.3.4', u'1.2.3.4\u00e9'])
def test_parse_ipv4_refuses_anything_else(text):
    with pytest.raises(ValueError) as err:
        compat.parse_ipv4(text)
    assert str(err.value) == 'not an IPv4 address'


def test_normalized_text_is_text():
    value = compat.normalize_ipv4(b' 10.20.0.2 ')
    assert value == u'10.20.0.2' and isinstance(value, compat.text_type)


@pytest.mark.parametrize('mask,prefix', [
    ('255.255.255.0', 24), ('255.255.255.192', 26), ('255.0.0.0', 8),
    ('255.255.255.255', 32), ('128.0.0.0', 1), ('24', 24), ('/16', 16),
    (u' 8 ', 8), (32, 32)])
def test_prefix_length_from_netmask_or_length(mask, prefix):
    assert compat.prefix_length(mask) == prefix
    assert astute.prefix_length(mask) == prefix


@pytest.mark.parametrize('mask', ['0', '33', '/0', '255.0.255.0', '0.0.0.255',
                                  '0.0.0.0', '255.255.255.256', 'x', '', '//24',
                                  '2 4', u'\u0662\u0664'])
def test_prefix_length_refuses_bad_masks(mask):
    with pytest.raises(ValueError):
        compat.prefix_length(mask)


@pytest.mark.parametrize('address,prefix,text', [
    ('10.20.0.2', 24, '10.20.0.0/24'), ('10.20.0.2', 32, '10.20.0.2/32'),
    ('172.16.5.9', 12, '172.16.0.0/12'), ('192.168.1.200', 26,
                                          '192.168.1.192/26')])
def test_network_text(address, prefix, text):
    assert compat.network_text(address, prefix) == text


@pytest.mark.parametrize('address,network,prefix,inside', [
    ('10.20.0.250', '10.20.0.2', 24, True),
    ('10.20.1.250', '10.20.0.2', 24, False),
    ('10.20.1.250', '10.20.0.2', 16, True),
    ('10.20.0.2', '10.20.0.2', 32, True),
    ('10.20.0.3', '10.20.0.2', 32, False),
    ('192.168.1.129', '192.168.1.130', 25, True),
    ('192.168.1.127', '192.168.1.130', 25, False)])
def test_in_network(address, network, prefix, inside):
    assert compat.in_network(address, network, prefix) is inside


# --- commands: timeouts and interruptions kill the whole group -------------


def grandchild_script(tmp_path):
    """sh writes its pid (= its process group) and waits on a grandchild
    that holds stdout too."""
    pid_file = os.path.join(str(tmp_path), 'pgid')
    return pid_file, ['sh', '-c', 'echo $$ > %s; sleep 300 & sleep 300'
                      % pid_file]


def read_pgid(pid_file):
    with open(pid_file) as handle:
        return int(handle.read())


def test_run_timeout_kills_the_process_group_with_a_grandchild(tmp_path):
    pid_file, argv = grandchild_script(tmp_path)
    started = time.time()
    with pytest.raises(CommandError) as err:
        Commands().run(argv, timeout=0.2)
    assert time.time() - started < 10
    assert str(err.value).startswith('command failed (timed out after 0.2 s): '
                                     'sh -c ')
    assert group_gone(read_pgid(pid_file))


def test_stream_timeout_kills_the_process_group_with_a_grandchild(tmp_path):
    pid_file, argv = grandchild_script(tmp_path)
    seen = []
    with pytest.raises(CommandError) as err:
        Commands().stream(argv, seen.append, timeout=0.2)
    assert str(err.value).startswith('command failed (timed out): sh -c ')
    assert group_gone(read_pgid(pid_file))


class Alarm(Exception):
    pass


def _raise_alarm(signum, frame):
    raise Alarm('alarm')


@pytest.mark.parametrize('how', ['run', 'stream'])
def test_an_exception_in_the_caller_leaves_no_child(tmp_path, how):
    """What the runner's SIGALRM (StepTimeout) or SIGTERM (Interrupted) do
    while a command runs."""
    pid_file, argv = grandchild_script(tmp_path)
    previous = signal.signal(signal.SIGALRM, _raise_alarm)
    started = time.time()
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        with pytest.raises(Alarm):
            if how == 'run':
                Commands().run(argv, timeout=120)
            else:
                Commands().stream(argv, lambda text: None, timeout=120)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.time() - started < 10
    assert group_gone(read_pgid(pid_file))


def test_run_gives_text_and_keeps_argv_in_errors():
    result = Commands().run(['sh', '-c', 'printf "%s\\n" "$1"; echo err >&2',
                             'sh', u'm\u00e4ster'])
    assert result.stdout == u'm\u00e4ster\n' and result.stderr == u'err\n'
    assert isinstance(result.stdout, compat.text_type)
    with pytest.raises(CommandError) as err:
        Commands().run(['sh', '-c', 'echo "bad $1" >&2; exit 7', 'sh',
                        u'n\u00f6'])
    text = compat.to_text(err.value)
    assert text == (u"command failed (exit 7): sh -c 'echo \"bad $1\" >&2; "
                    u"exit 7' sh 'n\u00f6'\n  bad n\u00f6")
    assert err.value.argv[-1] == u'n\u00f6'


def test_run_passes_input_and_reads_invalid_utf8_as_replacement():
    result = Commands().run(['cat'], input_bytes=b'caf\xc3\xa9 \xff')
    assert result.stdout == u'caf\u00e9 \ufffd'
    assert Commands().run(['cat']).stdout == u''  # stdin is /dev/null


def test_stream_hands_over_text_split_anywhere():
    chunks = []
    result = Commands().stream(['sh', '-c', 'printf "a\\303"; sleep 0.2; '
                                'printf "\\251b"; echo oops >&2'],
                               chunks.append, timeout=30)
    assert u''.join(chunks) == u'a\u00e9b'
    assert result.stderr == u'oops\n' and result.returncode == 0


def test_missing_program_is_an_environment_error():
    with pytest.raises(EnvironmentError):
        Commands().run(['/nonexistent/rfm-program'])


def test_remote_quotes_non_ascii_words_and_the_recorder_reads_them():
    rec = Recorder()
    rec.answer(['mkdir', '-p'], stdout='made')
    remote = Remote(rec, 'virt-1')
    assert remote.run(['mkdir', '-p', u'/srv/\u00e4 b']).stdout == 'made'
    assert rec.calls[0][-1] == u"env LC_ALL=C LANG=C mkdir -p '/srv/\u00e4 b'"


# --- text and messages ------------------------------------------------------

@pytest.mark.parametrize('value,expected', [
    (u'abc', "'abc'"), (b'abc'.decode('ascii'), "'abc'"),
    (u"it's", '"it\'s"'), (u'm\u00e4ster', u"'m\u00e4ster'"),
    (u'tab\there\n', "'tab\\there\\n'"), (u'\x07', "'\\x07'"),
    (12, '12'), (2 ** 70, '1180591620717411303424'), (1.5, '1.5'),
    (True, 'True'), (None, 'None'), ([1, u'b'], "[1, 'b']"),
    ({u'b': 1, u'a': [u'x']}, "{'a': ['x'], 'b': 1}"), ((1,), '(1,)')])
def test_py3_repr_reads_as_python_3(value, expected):
    assert compat.py3_repr(value) == expected


def test_to_text_of_bytes_and_exceptions():
    assert compat.to_text(b'caf\xc3\xa9') == u'caf\u00e9'
    assert compat.to_text(b'\xff') == u'\ufffd'
    assert compat.to_text(ValueError(u'n\u00f6')) == u'n\u00f6'
    assert compat.to_text(5) == u'5'


def test_quote():
    assert compat.quote(u'a b') == u"'a b'" and compat.quote('ab') == 'ab'


def test_missing_yaml_names_the_package_for_each_python():
    assert 'yum install PyYAML' in astute.missing_yaml_advice((2, 7, 5))
    assert 'python3-yaml' in astute.missing_yaml_advice((3, 4, 3))


ASTUTE = u'''# Fuel master, with a non-ASCII environment name
ENVIRONMENT_NAME: "Pr\u00fcfstand M\u00fcnchen"
HOSTNAME: "fuel"
ADMIN_NETWORK:
  interface: %s
  ipaddress: "10.20.0.2"
  netmask: "255.255.255.0"
  mac: "52:54:00:aa:bb:cc"
'''


def write(path, text):
    with open(path, 'wb') as handle:
        handle.write(text.encode('utf-8'))
    return path


def astute_root(tmp_path, interface='eth0'):
    folder = os.path.join(str(tmp_path), 'etc', 'fuel')
    os.makedirs(folder)
    write(os.path.join(folder, 'astute.yaml'), ASTUTE % interface)
    return str(tmp_path)


def test_non_ascii_values_in_astute_yaml_are_read_as_text(tmp_path):
    root = astute_root(tmp_path)
    p = params.build_params({'destination': u'virt-1', 'source_root': root,
                             'interim_address': '10.20.0.250'})
    assert (p.admin_interface, p.admin_address, p.admin_prefix,
            p.admin_mac) == ('eth0', '10.20.0.2', 24, '52:54:00:aa:bb:cc')


def test_a_bad_non_ascii_value_reads_the_same_on_both_pythons(tmp_path):
    root = astute_root(tmp_path, u'"eth\u00e9"')
    config = {'name': u'm\u00e4ster', 'vcpus': u'zw\u00f6lf',
              'nics': [u'eth\u00f61'], 'exclude': [u'/var/\u00e4', 5]}
    with pytest.raises(params.ParamError) as err:
        params.build_params({'destination': u'virt-1', 'source_root': root,
                             'interim_address': '10.20.0.250'}, config,
                            u'/etc/k\u00f6nfig.yaml')
    assert err.value.problems == [
        u"name: 'm\u00e4ster' (from config /etc/k\u00f6nfig.yaml): use "
        u"letters, digits, _ . - (max 63)",
        u"vcpus: 'zw\u00f6lf' (from config /etc/k\u00f6nfig.yaml): not a "
        u"whole number; use e.g. 1",
        u"nics: ['eth\u00f61'] (from config /etc/k\u00f6nfig.yaml): item 0: "
        u"'eth\u00f61': use IFACE=BRIDGE",
        u"admin_interface: 'eth\u00e9' (from %s/etc/fuel/astute.yaml "
        u"ADMIN_NETWORK.interface): not an interface name (max 15 "
        u"characters)" % root,
        u"exclude: ['/var/\u00e4', 5] (from config /etc/k\u00f6nfig.yaml): "
        u"must be a list of strings"]


def test_the_interim_address_message_names_the_network(tmp_path):
    root = astute_root(tmp_path)
    with pytest.raises(params.ParamError) as err:
        params.build_params({'destination': 'virt-1', 'source_root': root,
                             'interim_address': '10.30.0.5',
                             'admin_netmask': '255.255.254.0'})
    assert err.value.problems == [
        'interim_address: 10.30.0.5 is not in the admin network '
        '10.20.0.0/23; pick a free address there']


def test_the_command_line_under_the_c_locale_prints_utf8_and_no_traceback(
        tmp_path):
    """The interpreter running these tests runs the package, LC_ALL=C."""
    root = astute_root(tmp_path, u'"eth\u00e9"')
    config = write(os.path.join(str(tmp_path), 'config.yaml'),
                   u'name: "m\u00e4ster"\nwork_dir: %s\n'
                   % os.path.join(str(tmp_path), 'work'))
    env = dict(os.environ, LC_ALL='C', LANG='C', PYTHONPATH=MIGRATION_DIR)
    env.pop('PYTHONIOENCODING', None)
    proc = subprocess.Popen(
        [sys.executable, '-m', 'master_migration', 'virt-1', '--config',
         config, '--source-root', root, '--interim-address', '10.20.0.250'],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out, err = proc.communicate()
    text = err.decode('utf-8')
    assert proc.returncode == 2, text
    assert 'Traceback' not in text and out == b''
    assert text == (
        u"rf-migrate-master: cannot go on:\n"
        u"  - name: 'm\u00e4ster' (from config %s): use letters, digits, "
        u"_ . - (max 63)\n"
        u"  - admin_interface: 'eth\u00e9' (from %s/etc/fuel/astute.yaml "
        u"ADMIN_NETWORK.interface): not an interface name (max 15 "
        u"characters)\n" % (config, root))
