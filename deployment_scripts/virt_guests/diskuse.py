"""Has a guest's disk been provisioned? Pure reading of measured facts.

hypervisor.py measures an image (`qemu-img map --output=json` and the first
two sectors the guest sees); this module interprets that. A disk is
provisioned when it holds a partition table (the MBR signature 0x55 0xAA
at byte 510, or "EFI PART" at byte 512) or at least 1 MiB of data. A disk
that could not be measured counts as provisioned: never guess "empty".
"""
from __future__ import absolute_import, division, print_function

import collections
import json

DiskUse = collections.namedtuple('DiskUse', 'path data_bytes partition_table error')
MIB = 1024 * 1024
PROVISIONED_DATA_BYTES = MIB
SECTOR = 512
MBR_SIGNATURE = bytearray(b'\x55\xaa')
GPT_SIGNATURE = bytearray(b'EFI PART')
DATA, ZERO, UNKNOWN = 'data', 'zero', 'unknown'


class Unmeasurable(Exception):
    """The image's map or first sectors cannot be read; says why."""


def extents(map_json):
    """qemu-img map --output=json -> its list of ranges; Unmeasurable if bad."""
    try:
        found = json.loads(map_json)
    except ValueError as error:
        raise Unmeasurable('qemu-img map gave no JSON (%s)' % error)
    if not isinstance(found, list) or not all(
            isinstance(e, dict) and 'start' in e and 'length' in e for e in found):
        raise Unmeasurable('qemu-img map gave no list of ranges')
    return found


def data_bytes(ranges):
    """Bytes the guest wrote that are allocated (in this image or a backing one)."""
    return sum(e['length'] for e in ranges if e.get('data'))


def locate(ranges, guest_offset):
    """Where guest_offset lives: (DATA, offset in this file), (ZERO, None)
    or (UNKNOWN, why)."""
    for e in ranges:
        if e['start'] <= guest_offset < e['start'] + e['length']:
            if not e.get('data'):
                return ZERO, None
            if e.get('depth', 0) != 0:
                return UNKNOWN, 'guest byte %d is in a backing image' % guest_offset
            if 'offset' not in e:
                return UNKNOWN, 'guest byte %d has no plain offset (compressed?)' % guest_offset
            return DATA, e['offset'] + guest_offset - e['start']
    return ZERO, None  # past the end of the image: nothing there


def partition_table(first_sector, next_bytes):
    """'GPT', 'MBR' or None from the guest's bytes 0-511 and 512-519."""
    if bytearray(next_bytes[:8]) == GPT_SIGNATURE:
        return 'GPT'
    if bytearray(first_sector[510:512]) == MBR_SIGNATURE:
        return 'MBR'
    return None


def unmeasured(path, why):
    return DiskUse(path, None, None, why)


def held(use):
    """What a provisioned disk holds, as text; None for a never-provisioned one."""
    if use.error:
        return 'not measurable (%s): counted as provisioned' % use.error
    found = []
    if use.partition_table:
        found.append('a partition table (%s)' % use.partition_table)
    if use.data_bytes >= PROVISIONED_DATA_BYTES:
        found.append('%s written' % mib_text(use.data_bytes))
    return ', '.join(found) or None


def mib_text(size_bytes):
    return '%g MiB' % round(size_bytes / float(MIB), 1)


def describe(use):
    """One disk, for a reason: what it holds or that it looks never used."""
    return '%s: %s' % (use.path, held(use) or 'no partition table, %s written'
                       % mib_text(use.data_bytes))
