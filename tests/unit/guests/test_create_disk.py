"""A new guest image is private (0600) whatever the umask: it will hold
the guest's secrets. qemu-img is faked by a script on PATH that writes
into the file it is given, as the real one reuses it."""
from __future__ import absolute_import, division, print_function

import os
import stat

import pytest

from virt_guests import commands, hypervisor


@pytest.fixture
def fake_qemu_img(tmp_path, monkeypatch):
    """qemu-img create -q -f FORMAT PATH BYTES: writes a header to PATH."""
    bin_dir = os.path.join(str(tmp_path), 'bin')
    os.mkdir(bin_dir)
    path = os.path.join(bin_dir, 'qemu-img')
    with open(path, 'w') as handle:
        handle.write('#!/bin/sh\n[ "$1 $2 $3 $4" = "create -q -f qcow2" ] || '
                     '{ echo "qemu-img: unknown: $*" >&2; exit 1; }\n'
                     'printf QFI >"$5"\n')
    os.chmod(path, 0o755)
    monkeypatch.setenv('PATH', bin_dir + os.pathsep + os.environ['PATH'])


@pytest.fixture
def open_umask():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_new_image_is_private_whatever_the_umask(fake_qemu_img, open_umask, tmp_path):
    image = os.path.join(str(tmp_path), 'images', '1_vm.img')
    hypervisor.create_disk(image, 'qcow2', 10 << 30)
    with open(image, 'rb') as handle:
        assert handle.read() == b'QFI'  # the fake qemu-img wrote it
    assert stat.S_IMODE(os.stat(image).st_mode) == 0o600


def test_an_image_qemu_img_could_not_create_is_not_left_behind(fake_qemu_img, tmp_path):
    """Else the next run would reuse an empty file as the guest's disk."""
    image = os.path.join(str(tmp_path), '1_vm.img')
    with pytest.raises(commands.CommandError) as caught:
        hypervisor.create_disk(image, 'vmdk', 10 << 30)
    assert 'qemu-img: unknown' in str(caught.value)
    assert not os.path.exists(image)
