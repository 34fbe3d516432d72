"""Parameters: CLI > config > astute.yaml > defaults, and clear errors."""
from __future__ import absolute_import, division, print_function

import os

import pytest
import yaml

from master_migration import astute, params
from master_migration.cli import build_parser, cli_values

ASTUTE = {'ADMIN_NETWORK': {'interface': 'eth0', 'ipaddress': '10.20.0.2',
                            'netmask': '255.255.255.0',
                            'mac': '52:54:00:AA:BB:CC'}}


@pytest.fixture
def root(tmp_path):
    folder = os.path.join(str(tmp_path), 'etc', 'fuel')
    os.makedirs(folder)
    with open(os.path.join(folder, 'astute.yaml'), 'w') as handle:
        handle.write(yaml.safe_dump(ASTUTE))
    return str(tmp_path)


def build(argv, config=None):
    args = build_parser().parse_args(argv)
    return params.build_params(cli_values(args, config or {}), config or {},
                               'cfg.yaml')


def test_astute_fills_the_admin_network(root):
    p = build(['virt-1', '--source-root', str(root), '--interim-address',
               '10.20.0.250'])
    assert (p.admin_interface, p.admin_address, p.admin_prefix,
            p.admin_mac) == ('eth0', '10.20.0.2', 24, '52:54:00:aa:bb:cc')
    assert p.destination == 'virt-1' and p.name == 'fuel_master'
    assert p.memory_mib == 4096 and p.disk_size == 100 << 30


def test_cli_beats_config_beats_astute(root):
    config = {'memory': '2G', 'name': 'from-config',
              'admin_interface': 'eth9', 'interim_address': '10.20.0.251'}
    p = build(['virt-1', '--source-root', str(root), '--memory', '1024',
               '--admin-mac', '52:54:00:00:00:01'], config)
    assert p.memory_mib == 1024  # a bare number is MiB, as the old tool
    assert p.name == 'from-config'
    assert p.admin_interface == 'eth9'
    assert p.admin_mac == '52:54:00:00:00:01'
    assert p.admin_address == '10.20.0.2'
    assert p.interim_address == '10.20.0.251'


def test_every_problem_is_reported_at_once_with_field_value_and_fix(root):
    with pytest.raises(params.ParamError) as err:
        build(['virt-1', '--source-root', str(root), '--memory', '4X',
               '--vcpus', '0', '--interim-address', '10.30.0.5',
               '--boot-loader', 'lilo'])
    problems = err.value.problems
    assert len(problems) == 4
    text = '\n'.join(problems)
    assert "memory: '4X' (from --memory): not a size; use e.g. 4G" in text
    assert "vcpus: '0' (from --vcpus): out of range 1..64" in text
    assert 'interim_address: 10.30.0.5 is not in the admin network ' \
           '10.20.0.0/24' in text
    assert 'boot_loader' in text and 'auto, none' in text


def test_missing_astute_names_the_fields_to_give(tmp_path):
    with pytest.raises(params.ParamError) as err:
        build(['virt-1', '--source-root', str(tmp_path),
               '--interim-address', '10.0.0.3'])
    text = '\n'.join(err.value.problems)
    assert 'astute.yaml: cannot read' in text
    assert '--admin-interface' in text and '--admin-mac' in text


def test_missing_destination_and_interim_address(root):
    with pytest.raises(params.ParamError) as err:
        build(['--source-root', str(root)])
    text = '\n'.join(err.value.problems)
    assert 'destination: not set' in text
    assert 'interim_address: not set' in text


def test_unknown_config_key_is_refused(tmp_path):
    path = os.path.join(str(tmp_path), 'c.yaml')
    with open(path, 'w') as handle:
        handle.write('memroy: 4G\n')
    with pytest.raises(params.ParamError) as err:
        params.load_config(path)
    assert 'unknown key(s) memroy' in str(err.value)


def test_nics_from_cli_and_config(root):
    p = build(['virt-1', '--source-root', str(root), '--interim-address',
               '10.20.0.9', '--nic', 'eth1=br-ex'])
    assert p.nics == [{'interface': 'eth1', 'bridge': 'br-ex', 'mac': None,
                       'extra_xml': ''}]
    with pytest.raises(params.ParamError) as err:
        build(['virt-1', '--source-root', str(root), '--interim-address',
               '10.20.0.9'], {'nics': [{'interface': 'eth2',
                                        'bridge': 'br-prv',
                                        'extra_xml': '<virtualport'}]})
    assert 'nics' in str(err.value) and 'not well-formed XML' in \
        str(err.value)


def test_exclude_on_the_cli_adds_to_the_defaults(root):
    p = build(['virt-1', '--source-root', str(root), '--interim-address',
               '10.20.0.9', '--exclude', '/var/cache/*'])
    assert p.exclude[-1] == '/var/cache/*' and '/proc/*' in p.exclude


def test_swap_must_leave_room_for_root(root):
    with pytest.raises(params.ParamError) as err:
        build(['virt-1', '--source-root', str(root), '--interim-address',
               '10.20.0.9', '--disk-size', '2G', '--swap-size', '2G'])
    assert 'swap_size' in str(err.value)


@pytest.mark.parametrize('text,expected', [
    ('ADMIN_NETWORK: {interface: eth1, ipaddress: 10.1.0.2, netmask: '
     '255.255.0.0, mac: "aa:bb:cc:dd:ee:ff"}',
     astute.AdminNetwork('eth1', '10.1.0.2', '255.255.0.0',
                         'aa:bb:cc:dd:ee:ff')),
    ('HOSTNAME: fuel', astute.AdminNetwork(None, None, None, None)),
])
def test_parse_astute(text, expected):
    assert astute.parse_astute(text) == expected


@pytest.mark.parametrize('text,message', [
    ('- a list', 'expected a mapping'),
    ('ADMIN_NETWORK: 5', 'ADMIN_NETWORK must be a mapping'),
    ('a: [b', 'not valid YAML'),
])
def test_parse_astute_errors(text, message):
    with pytest.raises(astute.AstuteError) as err:
        astute.parse_astute(text, 'x.yaml')
    assert message in str(err.value) and 'x.yaml' in str(err.value)


@pytest.mark.parametrize('mask,prefix', [('255.255.255.0', 24), ('/16', 16),
                                         ('255.255.255.192', 26)])
def test_prefix_length(mask, prefix):
    assert astute.prefix_length(mask) == prefix


# ---- issue 9 points 6 and 7 ---------------------------------------------

def test_exclude_in_a_config_adds_to_the_defaults(root):
    p = build(['virt-1', '--source-root', str(root), '--interim-address',
               '10.20.0.9'], {'exclude': ['/var/cache/*']})
    for pattern in params.DEFAULT_EXCLUDES:
        assert pattern in p.exclude
    assert '/var/cache/*' in p.exclude
    p = build(['virt-1', '--source-root', str(root), '--interim-address',
               '10.20.0.9', '--exclude', '/srv/*'], {'exclude': '/opt/*'})
    assert '/proc/*' in p.exclude and '/opt/*' in p.exclude
    assert '/srv/*' in p.exclude
    assert len(p.exclude) == len(set(p.exclude))


@pytest.mark.parametrize('destination', [
    '-oProxyCommand=touch /tmp/x', '-virt', 'virt 1', 'virt\n', 'vi\trt',
    'virt\x00', 'virt\x7f', ''])
def test_a_hostile_destination_is_refused_by_name(root, destination):
    with pytest.raises(params.ParamError) as err:
        build(['--source-root', str(root), '--interim-address', '10.20.0.9',
               '--', destination])
    text = str(err.value)
    assert text.startswith('destination: ')
    assert params.py3_repr(destination) in text
    assert 'name or IPv4 address' in text


@pytest.mark.parametrize('key,value', [
    ('name', 'fuel_master\n'), ('disk_dir', '/var/lib/nova\n'),
    ('admin_bridge', 'br-fw-admin\n'), ('admin_interface', 'eth0\n'),
    ('ssh_user', 'root\n')])
def test_a_trailing_newline_is_refused_by_name(root, key, value):
    with pytest.raises(params.ParamError) as err:
        build(['virt-1', '--source-root', str(root), '--interim-address',
               '10.20.0.9'], {key: value})
    assert str(err.value).startswith(key + ': ')


def test_every_pattern_is_anchored_at_the_true_end():
    for name in dir(params):
        pattern = getattr(params, name)
        if name.endswith('_RE'):
            assert pattern.pattern.endswith(r'\Z'), name


def test_the_netmask_option_is_kept_inside_as_a_prefix_length(root):
    """--admin-netmask / admin_netmask stay the operator's names; the run
    and its state file call the value what it is: a prefix length."""
    p = build(['virt-1', '--source-root', str(root), '--interim-address',
               '10.20.0.250', '--admin-netmask', '255.255.254.0'])
    assert p.admin_prefix == 23
    assert 'admin_prefix' in p.as_dict()
    assert 'admin_netmask' not in p.as_dict()
    p = build(['virt-1', '--source-root', str(root), '--interim-address',
               '10.20.0.250'], {'admin_netmask': 22})
    assert p.admin_prefix == 22


def test_a_state_of_an_earlier_version_still_gives_the_prefix():
    saved = {'admin_netmask': 24, 'name': 'fuel_master'}  # before the rename
    assert params.Params(saved).admin_prefix == 24
