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


def kvm_unusable_reason():
    """Why real-KVM tests cannot run here, or None when they can."""
    if not os.path.exists('/dev/kvm'):
        return 'no /dev/kvm on this machine'
    probe = subprocess.run(['virsh', '-c', 'qemu:///system', 'version'],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if probe.returncode != 0:
        return ('libvirtd does not answer on qemu:///system (run tools/setup '
                'test): ' + probe.stderr.decode().strip())
    return None


@pytest.fixture(scope='session')
def system_libvirt():
    """qemu:///system with KVM, or a skip that says why."""
    reason = kvm_unusable_reason()
    if reason:
        pytest.skip(reason)
    return 'qemu:///system'
