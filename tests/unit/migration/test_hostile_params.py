"""Hostile values given to rf-migrate-master (issue 23, classes 3 to 7):
each one refused by name with the value and the fix, under both
interpreters; no option reaches a command, no hang, no traceback."""
from __future__ import absolute_import, division, print_function

import pytest
import yaml

from master_migration import params
from master_migration.cli import build_parser, cli_values

ASTUTE = {'ADMIN_NETWORK': {'interface': 'eth0', 'ipaddress': '10.20.0.2',
                            'netmask': '255.255.255.0',
                            'mac': '52:54:00:AA:BB:CC'}}


@pytest.fixture
def root(tmpdir):
    tmpdir.mkdir('etc').mkdir('fuel').join('astute.yaml').write(yaml.safe_dump(ASTUTE))
    return str(tmpdir)


def problems(root, argv=(), config=None):
    argv = ['virt-1', '--source-root', root, '--interim-address', '10.20.0.9'] + list(argv)
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
