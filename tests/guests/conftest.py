"""Fixtures of the guest tests: a PATH with one Python, a copy of
deployment_scripts as it lands on the node, rfg-* bridges, disk
directories and 9001-9099 domains, all cleaned up after the test."""
import pathlib
import shutil
import uuid

import pytest

from guestlib import ip, remove_test_domains
from lab import interpreters, shipped


@pytest.fixture(params=interpreters.KINDS)
def python_kind(request):
    """Each interpreter a node may have: python2.7 (stock Fuel 8.0/9.0) and
    python3 (later systems)."""
    if not interpreters.available(request.param):
        pytest.skip(interpreters.missing_reason(request.param))
    return request.param


@pytest.fixture
def node_path(python_kind, tmp_path):
    """A PATH of system programs with python_kind as its only Python."""
    return interpreters.only_python(python_kind, tmp_path / 'node-bin')


@pytest.fixture
def plugin_dir(tmp_path):
    """The content of deployment_scripts as it lands on the node."""
    target = tmp_path / 'reduced-footprint-1.0'
    shipped.node_scripts(target)
    return target


@pytest.fixture
def make_bridge():
    """Linux bridges named rfg-*, deleted after the test."""
    made = []

    def make(name):
        assert name.startswith('rfg-') and len(name) <= 15
        ip('link', 'del', name, check=False)
        ip('link', 'add', name, 'type', 'bridge')
        ip('link', 'set', name, 'up')
        made.append(name)
        return name
    yield make
    for name in made:
        ip('link', 'del', name, check=False)


@pytest.fixture
def disk_dir():
    """A directory qemu (libvirt-qemu) can reach, unlike pytest's tmp_path."""
    path = pathlib.Path('/var/lib/libvirt/images/rfg-%s' % uuid.uuid4().hex[:8])
    yield path
    shutil.rmtree(str(path), ignore_errors=True)


@pytest.fixture
def kvm_uri(system_libvirt):
    """qemu:///system, with our test domains removed before and after."""
    remove_test_domains(system_libvirt)
    yield system_libvirt
    remove_test_domains(system_libvirt)
