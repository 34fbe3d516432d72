"""Format and virtual size of an image file without running qemu-img, for
the common cases: a qcow2 header, or a plain (raw) file. Pure reading.

read() answers None when it cannot be sure; the caller asks qemu-img then.
An image whose format a domain declares is read as that format only: a
raw disk whose guest wrote a qcow2 header is still raw (libvirt and qemu
open it as raw), so its size is the file's. Nothing here follows a backing
file or opens an image as anything but bytes.
"""
from __future__ import absolute_import, division, print_function

import os
import struct

from . import safefile

QCOW_MAGIC = b'QFI\xfb'
HEADER_BYTES = 512
# Signatures of the formats qemu-img recognises besides qcow2 and raw
# (offset, bytes): a file with one of them is left to qemu-img.
OTHER_MAGICS = (
    (0, b'QED\x00'), (0, b'KDMV'), (0, b'COWD'), (0, b'# Disk DescriptorFile'),
    (0, b'vhdxfile'), (0, b'conectix'), (0, b'LUKS\xba\xbe'),
    (0, b'Bochs Virtual HD Image'), (0, b'#!/bin/sh\n#V2.0 Format'),
    (0, b'WithoutFreeSpace'), (0, b'WithouFreSpacExt'),
    (0x40, b'\x7f\x10\xda\xbe'))  # VDI, little-endian 0xbeda107f


def _has(header, offset, magic):
    return header[offset:offset + len(magic)] == magic


def qcow2_size(header):
    """Virtual bytes of a qcow2 (version 2 or 3) header, else None."""
    if len(header) < 32 or not _has(header, 0, QCOW_MAGIC):
        return None
    version, = struct.unpack('>I', header[4:8])
    if version not in (2, 3):
        return None  # qcow version 1, or something newer: qemu-img knows
    size, = struct.unpack('>Q', header[24:32])
    return size


def probe(header, path=''):
    """'qcow2' or 'raw' as qemu-img would detect it, None for any other."""
    if qcow2_size(header) is not None:
        return 'qcow2'
    if _has(header, 0, QCOW_MAGIC) or path.endswith('.dmg'):
        return None
    if any(_has(header, offset, magic) for offset, magic in OTHER_MAGICS):
        return None
    return 'raw'


def read(path, declared=None):
    """(format, virtual bytes) of the regular file at path, or None when
    qemu-img must answer. declared: the format a domain gives it, or None
    for an image no domain names (then the content decides, as qemu-img's
    probe would)."""
    try:
        descriptor = safefile.open_regular(path)
    except (safefile.NotRegular, OSError):
        return None
    try:
        info = os.fstat(descriptor)
        header = os.read(descriptor, HEADER_BYTES)
    except OSError:
        return None
    finally:
        os.close(descriptor)
    found = declared or probe(header, path)
    if found == 'raw':
        return 'raw', info.st_size
    if found == 'qcow2':
        size = qcow2_size(header)
        return None if size is None else ('qcow2', size)
    return None
