"""Fixtures of the nailgun suite: Fuel's real API server of each release,
the plugin installed into it with the real client, and environments made
as an operator makes them (tests/nailgun/README.md)."""
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import nailgun_lab  # noqa: E402
from lab_env import Environment  # noqa: E402
from nailgun_suite import start_nailgun  # noqa: E402


@pytest.fixture(scope='session')
def postgres():
    server = nailgun_lab.Postgres().start()
    yield server
    server.stop()


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
