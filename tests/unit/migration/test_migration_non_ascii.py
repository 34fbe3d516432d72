# -*- coding: utf-8 -*-
"""rf-migrate-master's messages on non-ASCII input read the same under
Python 2.7 and 3, under the C locale too: astute.yaml and config values,
the interim address's network, the command line's own output."""
from __future__ import absolute_import, division, print_function

import os
import subprocess
import sys

import pytest

from lab.paths import MIGRATION, pythonpath
from master_migration import astute, params


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
    env = dict(os.environ, LC_ALL='C', LANG='C', PYTHONPATH=pythonpath(MIGRATION))
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
