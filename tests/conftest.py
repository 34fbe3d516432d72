"""Fixtures shared by every test folder. Python 2.7 and 3: the unit tests
(tests/unit) also run under the Python 2.7 of .venv27."""
import os
import subprocess

import pytest

from lab import plugin_rpm as plugin_rpm_build
from lab import zipapp as zipapp_build
from lab.paths import REPO


@pytest.fixture(scope='session')
def repo():
    import pathlib  # Python 3 only: the suites outside tests/unit
    return pathlib.Path(REPO)


@pytest.fixture(scope='session')
def system_libvirt():
    """qemu:///system with KVM. Skipped only where the machine has no KVM:
    a libvirtd that does not answer is a failure, not a skip."""
    if not os.path.exists('/dev/kvm'):
        pytest.skip('no /dev/kvm on this machine: real-KVM tests need it')
    probe = subprocess.Popen(['virsh', '-c', 'qemu:///system', 'version'],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err = probe.communicate()
    assert probe.returncode == 0, (
        'libvirtd does not answer on qemu:///system (tools/setup test starts '
        'it): ' + err.decode().strip())
    return 'qemu:///system'


@pytest.fixture(scope='session')
def zipapp(tmp_path_factory):
    """rf-migrate-master built once per run (path as text), for every suite."""
    return zipapp_build.build(tmp_path_factory.mktemp('rf-zipapp'))


@pytest.fixture(scope='session')
def plugin_rpm(tmp_path_factory):
    """The plugin's RPM built once per run (path as text), for every suite."""
    return plugin_rpm_build.build(tmp_path_factory.mktemp('rf-rpm'))
