"""Which bytes of the docker PV anyone can still read, once the volume
group is deactivated: the label and metadata areas, every LV's extents
except the pool's data LV and the spare, and of the pool's data LV only
the blocks some thin device maps (thin_dump of the pool's metadata). The
pass while stopped reads again only the chunks that hold such bytes; the
rest (free extents, unmapped pool blocks, the spare) nobody reads, so
their warm copy may stay as it is. Pure, except layout() and
mapped_blocks(), which ask lvm2 and thin_dump through Commands."""
from __future__ import absolute_import, division, print_function

import os
import re
import xml.etree.ElementTree as ET

from master_migration import blockcopy

SEGMENT_FIELDS = ['lv_name', 'segtype', 'seg_start_pe', 'seg_pe_ranges']
PE_RANGE = re.compile(r'^(\S+):(\d+)-(\d+)\Z')
SECTOR = 512


class MapUnknown(Exception):
    """The pool's map cannot be read: the whole PV is read again."""


def parse_segments(text, pv):
    """{lv name: [(lv start pe, pv first pe, pv last pe)]} from
    `lvs -a --segments` rows on the PV `pv`."""
    out = {}
    for line in (text or '').splitlines():
        fields = [f.strip() for f in line.split('|')]
        if len(fields) != len(SEGMENT_FIELDS) or not fields[3]:
            continue
        name = fields[0].strip('[]')
        for part in fields[3].split():
            match = PE_RANGE.match(part)
            if not match:
                raise MapUnknown('unexpected extent range %r of %s' % (
                    part, name))
            if not match.group(1).startswith('/'):
                continue  # a pool's row names its sub-LV: docker-pool_tdata:0-151
            if match.group(1) != pv:
                raise MapUnknown('%s has extents on %s too' % (
                    name, match.group(1)))
            out.setdefault(name, []).append((int(fields[2]),
                                             int(match.group(2)),
                                             int(match.group(3))))
    return out


def pv_range(segments, pe_start, extent, lv_from, lv_to):
    """The PV byte ranges of the LV's bytes [lv_from, lv_to)."""
    out = []
    for lv_pe, first, last in segments:
        seg_from = lv_pe * extent
        seg_to = seg_from + (last - first + 1) * extent
        low, high = max(lv_from, seg_from), min(lv_to, seg_to)
        if low < high:
            base = pe_start + first * extent - seg_from
            out.append((base + low, base + high))
    return out


def mapped_ranges(dump_xml):
    """(data block size in bytes, [(first block, count)]) from
    thin_dump's XML: every block any thin device maps."""
    root = ET.fromstring(dump_xml)
    if root.tag != 'superblock':
        raise MapUnknown('thin_dump printed no superblock')
    block = int(root.get('data_block_size')) * SECTOR
    ranges = []
    for element in root.iter():
        if element.tag == 'range_mapping':
            ranges.append((int(element.get('data_begin')),
                           int(element.get('length'))))
        elif element.tag == 'single_mapping':
            ranges.append((int(element.get('data_block')), 1))
    return block, ranges


def readable_ranges(pv_bytes, pe_start, extent, pe_count, segments, pool,
                    block, mapped):
    """The PV byte ranges someone can read (see the module's words)."""
    data_lv, spare = pool + '_tdata', 'lvol0_pmspare'
    out = [(0, pe_start), (pe_start + pe_count * extent, pv_bytes)]
    for name, segs in segments.items():
        if name in (data_lv, spare):
            continue
        for lv_pe, first, last in segs:
            out.append((pe_start + first * extent,
                        pe_start + (last + 1) * extent))
    for first, count in mapped:
        out += pv_range(segments.get(data_lv, []), pe_start, extent,
                        first * block, (first + count) * block)
    return [(a, b) for a, b in out if a < b]


def chunks_of(ranges, pv_bytes, chunk=blockcopy.CHUNK):
    """Sorted indices of the chunks that hold any byte of the ranges."""
    out = set()
    for low, high in ranges:
        high = min(high, pv_bytes)
        if low < high:
            out.update(range(low // chunk, (high - 1) // chunk + 1))
    return sorted(out)


def _number(text, what):
    try:
        return int(text.strip())
    except (AttributeError, ValueError):
        raise MapUnknown('lvm gave no %s (%r)' % (what, text))


def layout(commands, vg, pv):
    """(pe_start, extent size, pe count, segments) of the PV, asked of
    lvm2 (the volume group may be inactive)."""
    out = [commands.run(argv).stdout for argv in layout_argvs(vg, pv)]
    return (_number(out[0], 'pe_start'), _number(out[1], 'vg_extent_size'),
            _number(out[2], 'pv_pe_count'), parse_segments(out[3], pv))


def metadata_copy(work_dir):
    return os.path.join(work_dir, 'docker-pool-tmeta.bin')


def layout_argvs(vg, pv):
    units = ['--noheadings', '--nosuffix', '--units', 'b']
    return [['pvs'] + units + ['-o', 'pe_start', '--', pv],
            ['vgs'] + units + ['-o', 'vg_extent_size', '--', vg],
            ['pvs', '--noheadings', '-o', 'pv_pe_count', '--', pv],
            ['lvs', '-a', '--segments', '--noheadings', '--separator', '|',
             '-o', ','.join(SEGMENT_FIELDS), '--', vg]]


def thin_dump_argv(work_dir):
    return ['thin_dump', '--', metadata_copy(work_dir)]


def mapped_blocks(commands, reader, segments, pe_start, extent, pool,
                  work_dir):
    """thin_dump of the pool's metadata LV, read from the PV (`reader`:
    offset, length -> bytes) into a file of this run's own."""
    meta = segments.get(pool + '_tmeta')
    if not meta:
        raise MapUnknown('no metadata LV %s_tmeta' % pool)
    size = sum((last - first + 1) * extent for _, first, last in meta)
    path = metadata_copy(work_dir)
    try:
        os.unlink(path)  # a killed run's
    except OSError:
        pass
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL |
                 getattr(os, 'O_NOFOLLOW', 0), 0o600)
    try:
        for low, high in pv_range(meta, pe_start, extent, 0, size):
            offset = low
            while offset < high:
                length = min(blockcopy.CHUNK, high - offset)
                data = reader(offset, length)
                while data:
                    data = data[os.write(fd, data):]
                offset += length
        os.close(fd)
        fd = None
        result = commands.run(thin_dump_argv(work_dir), timeout=1800,
                              ok_codes=None)
        if result.returncode != 0:
            raise MapUnknown('thin_dump failed: %s' % (
                result.stderr.strip().splitlines() or ['exit %d' %
                                                       result.returncode])[-1])
        return mapped_ranges(result.stdout.encode('utf-8'))
    finally:
        if fd is not None:
            os.close(fd)
        os.unlink(path)
