"""The image facts apply reads itself (qcow2 headers, raw files) are the
ones qemu-img gives, and other formats are still asked of qemu-img: images
made by the real qemu-img, in tmp_path."""
import json
import os
import subprocess

import pytest

from virt_guests import hypervisor

SIZE = 3 * 1024 ** 2 + 512 * 1024


def qemu_img_facts(path):
    info = json.loads(subprocess.check_output(
        ['qemu-img', 'info', '-U', '--output=json', str(path)]))
    return info['format'], info['virtual-size']


def make(tmp_path, fmt, *options):
    path = tmp_path / ('disk-%s-%d.img' % (fmt, len(options)))
    subprocess.run(['qemu-img', 'create', '-q', '-f', fmt] + list(options)
                   + [str(path), str(SIZE)], check=True)
    return path


def without_qemu_img(monkeypatch, tmp_path):
    """PATH without qemu-img: what is read from the file still works."""
    empty = tmp_path / 'empty-bin'
    empty.mkdir()
    monkeypatch.setenv('PATH', str(empty))


@pytest.mark.parametrize('fmt,options', [
    ('qcow2', ()), ('qcow2', ('-o', 'compat=0.10')), ('raw', ())],
    ids=['qcow2-v3', 'qcow2-v2', 'raw'])
def test_qcow2_and_raw_are_read_as_qemu_img_reads_them(tmp_path, monkeypatch, fmt, options):
    path = make(tmp_path, fmt, *options)
    expected = qemu_img_facts(path)
    without_qemu_img(monkeypatch, tmp_path)
    facts = hypervisor.disk_info(str(path))
    assert (facts.format, facts.virtual_bytes) == expected == (fmt, SIZE)
    facts = hypervisor.disk_info(str(path), fmt)
    assert (facts.format, facts.virtual_bytes) == expected


@pytest.mark.parametrize('fmt', ['vmdk', 'vdi', 'qed', 'vpc', 'vhdx'])
def test_other_formats_are_asked_of_qemu_img(tmp_path, monkeypatch, fmt):
    path = make(tmp_path, fmt)
    expected = qemu_img_facts(path)
    facts = hypervisor.disk_info(str(path))
    assert (facts.format, facts.virtual_bytes) == expected
    assert facts.format == fmt
    without_qemu_img(monkeypatch, tmp_path)
    with pytest.raises(hypervisor.HypervisorError):
        hypervisor.disk_info(str(path))


def test_a_raw_disk_holding_a_qcow2_header_is_measured_as_raw(tmp_path):
    # What a guest may write into its raw disk: a qcow2 header with a
    # backing file. Declared raw, it is the file's length, never opened
    # as qcow2 (no backing file followed).
    inner = make(tmp_path, 'qcow2', '-b', '/etc/shadow', '-F', 'raw')
    raw = tmp_path / 'guest-raw.img'
    raw.write_bytes(inner.read_bytes() + b'\0' * 4096)
    facts = hypervisor.disk_info(str(raw), 'raw')
    assert (facts.format, facts.virtual_bytes) == ('raw', os.path.getsize(str(raw)))
