"""Image format and virtual size read from the file itself: qcow2 headers
and raw files; every other format is left to qemu-img. (tests/guests/
test_imagefacts_qemu.py checks the answers against qemu-img's.)"""
from __future__ import absolute_import, division, print_function

import struct

import pytest

from virt_guests import imagefacts


def qcow2_header(size, version=3):
    return b'QFI\xfb' + struct.pack('>I', version) + b'\0' * 16 + struct.pack('>Q', size)


def write(tmpdir, data, name='disk.img'):
    path = tmpdir.join(name)
    path.write_binary(data)
    return str(path)


def test_a_qcow2_header_gives_format_and_virtual_size(tmpdir):
    path = write(tmpdir, qcow2_header(70 * 1024 ** 3) + b'\0' * 1000)
    assert imagefacts.read(path) == ('qcow2', 70 * 1024 ** 3)
    assert imagefacts.read(path, 'qcow2') == ('qcow2', 70 * 1024 ** 3)


def test_a_file_without_a_known_signature_is_raw_of_its_length(tmpdir):
    path = write(tmpdir, b'\0' * 4096 + b'data')
    assert imagefacts.read(path) == ('raw', 4100)
    assert imagefacts.read(write(tmpdir, b'', 'empty.img')) == ('raw', 0)


def test_a_raw_disk_whose_guest_wrote_a_qcow2_header_stays_raw(tmpdir):
    # Its domain says raw: qemu opens it as raw, so its size is the file's,
    # whatever the guest wrote into its first sector.
    path = write(tmpdir, qcow2_header(1024 ** 4) + b'\0' * 2000)
    assert imagefacts.read(path, 'raw') == ('raw', 2032)


@pytest.mark.parametrize('header', [
    qcow2_header(1024, version=1), b'QED\x00' + b'\0' * 60, b'KDMV' + b'\0' * 60,
    b'# Disk DescriptorFile\n', b'vhdxfile' + b'\0' * 60, b'conectix' + b'\0' * 60,
    b'LUKS\xba\xbe' + b'\0' * 60, b'\0' * 0x40 + b'\x7f\x10\xda\xbe' + b'\0' * 60,
    b'WithoutFreeSpace' + b'\0' * 60],
    ids=['qcow-v1', 'qed', 'vmdk', 'vmdk-text', 'vhdx', 'vpc', 'luks', 'vdi', 'parallels'])
def test_other_formats_are_left_to_qemu_img(tmpdir, header):
    assert imagefacts.read(write(tmpdir, header)) is None


def test_a_declared_qcow2_without_its_header_is_left_to_qemu_img(tmpdir):
    assert imagefacts.read(write(tmpdir, b'\0' * 512), 'qcow2') is None
    assert imagefacts.read(write(tmpdir, qcow2_header(1)), 'vmdk') is None


def test_what_is_not_a_readable_file_is_left_to_qemu_img(tmpdir):
    assert imagefacts.read(str(tmpdir)) is None
    assert imagefacts.read(str(tmpdir.join('missing.img'))) is None
