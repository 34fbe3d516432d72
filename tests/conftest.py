"""Fixtures shared by every test folder."""
import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
VENV_BIN = REPO / '.venv' / 'bin'


@pytest.fixture(scope='session')
def repo():
    return REPO


@pytest.fixture(scope='session')
def system_libvirt():
    """qemu:///system with KVM. Skipped only where the machine has no KVM:
    a libvirtd that does not answer is a failure, not a skip."""
    if not os.path.exists('/dev/kvm'):
        pytest.skip('no /dev/kvm on this machine: real-KVM tests need it')
    probe = subprocess.run(['virsh', '-c', 'qemu:///system', 'version'],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert probe.returncode == 0, (
        'libvirtd does not answer on qemu:///system (tools/setup test starts '
        'it): ' + probe.stderr.decode().strip())
    return 'qemu:///system'
