"""Fixtures of the nailgun suite: Fuel's real API server of each release,
the plugin installed into it with the real client, and environments made
as an operator makes them (tests/nailgun/README.md)."""
import json
import os
import pathlib
import subprocess
import sys

import pytest
import yaml

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import nailgun_lab  # noqa: E402
from lab_env import Environment  # noqa: E402
from lab import interpreters  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope='session')
def postgres():
    server = nailgun_lab.Postgres().start()
    yield server
    server.stop()


def start_nailgun(release, tmp_path_factory, postgres, name='nailgun'):
    why = nailgun_lab.unavailable(release)
    if why:
        pytest.skip(why)
    root = tmp_path_factory.mktemp('{0}-{1}'.format(name, release))
    return nailgun_lab.Nailgun(release, root, postgres).start()


@pytest.fixture(scope='session')
def rf_virt_rpm(tmp_path_factory):
    """The package of a stock master: `make build ROLE=rf-virt`."""
    from lab import plugin_rpm
    return plugin_rpm.build(tmp_path_factory.mktemp('rf-virt-rpm'),
                            '--role', 'rf-virt')


@pytest.fixture(scope='module', params=sorted(nailgun_lab.RELEASES))
def nailgun(request, tmp_path_factory, postgres, rf_virt_rpm):
    """One release's nailgun with the rf-virt package installed by
    `fuel plugins --install`, as on a master."""
    server = start_nailgun(request.param, tmp_path_factory, postgres)
    server.install = server.fuel('plugins', '--install', rf_virt_rpm)
    yield server
    server.stop()
    errors = server.log_errors()
    assert not errors, '\n'.join(errors[:20])


@pytest.fixture
def env(nailgun, request):
    """A new environment on the release, the plugin enabled in Settings."""
    name = request.node.name.replace('[', '-').replace(']', '')[:40]
    environment = Environment.create(nailgun, name)
    environment.set_plugin(enabled=True)
    return environment


CHECK = nailgun_lab.REPO / 'deployment_scripts' / 'virt-guests'


def run_check(astute, tmp_path):
    """`virt-guests check` on an astute.yaml that nailgun serialized, as on a
    node whose Python is python3 with PyYAML and jsonschema."""
    path = tmp_path / 'astute.yaml'
    path.write_text(yaml.safe_dump(astute))
    env = dict(os.environ, RF_ASTUTE_YAML=str(path), LC_ALL='C',
               PATH=str(interpreters.only_python('python3', tmp_path / 'bin')),
               RF_VIRT_GUESTS_LOG=str(tmp_path / 'virt-guests.log'),
               RF_VIRT_GUESTS_LOCK=str(tmp_path / 'lock'),
               RF_VIRT_GUESTS_CACHE=str(tmp_path / 'cache.json'))
    return subprocess.run(['sh', str(CHECK), 'check'], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=120)


def dump(value):
    return json.dumps(value, indent=1, sort_keys=True)[:3000]
