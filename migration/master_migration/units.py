"""Sizes with their unit in the name: parsing and printing."""
from __future__ import absolute_import, division, print_function

import re

from rf_common.text import integer_types, to_text

# ASCII digits (\d would take Arabic-Indic ones on Python 3 only), at most
# 15 before the point: a longer number overflows the float.
_SIZE = re.compile(r'^\s*([0-9]{1,15}(?:\.[0-9]{1,6})?)\s*([KMGT]?)(i?B?)?\s*\Z', re.I)
_FACTOR = {'': 1, 'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30, 'T': 1 << 40}
MIB = 1 << 20


def parse_size_default_mib(text, bare_unit='M'):
    """'4G' -> bytes. A bare number is MiB (like the old tool's fvm_ram),
    or the `bare_unit` given."""
    if isinstance(text, bool):
        raise ValueError('not a size')
    if isinstance(text, integer_types):
        return text * _FACTOR[bare_unit]
    match = _SIZE.match(to_text(text))
    if not match:
        raise ValueError('not a size')
    number, unit = float(match.group(1)), match.group(2).upper()
    if not unit:
        unit = bare_unit
    return int(number * _FACTOR[unit])


def human_bytes(count):
    value = float(count)
    for unit in ('B', 'KiB', 'MiB', 'GiB'):
        if abs(value) < 1024:
            return '%.1f %s' % (value, unit) if unit != 'B' else '%d B' % value
        value /= 1024
    return '%.1f TiB' % value


def human_seconds(seconds):
    seconds = int(round(seconds))
    if seconds < 60:
        return '%d s' % seconds
    if seconds < 3600:
        return '%d min %02d s' % (seconds // 60, seconds % 60)
    return '%d h %02d min' % (seconds // 3600, seconds % 3600 // 60)
