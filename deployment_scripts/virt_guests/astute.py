"""astute.yaml bytes -> a YAML document, and its values as an operator
would recognise them: the same under Python 2.7 and 3.

The file is read as bytes and decoded as UTF-8 whatever the locale (under
LC_ALL=C, Python 3.4/3.5 would read it as ASCII). YAML 1.1 reads some
plain scalars as numbers or booleans an operator does not expect: `1:30`
is 90, `010` is 8, `yes` is true. The loader (yamlload.py) gives those
back as Surprise objects (yamlvalues.py), which no field accepts, so
validation refuses them by name.
"""
from __future__ import absolute_import, division, print_function

from rf_common.text import integer_types, py3_repr, shown, string_types, to_text
from .yamlvalues import Surprise, Unreadable

MAX_INPUT_BYTES = 64 << 20  # nailgun writes a few hundred KiB


def parse(text, only=None):
    """A YAML text -> document; Unreadable when it is not YAML, or holds
    anchors, aliases or too deep a nesting. only: the top-level keys read
    (the others' values are None)."""
    from . import yamlload  # yaml costs ~20 ms that a run on a cached input skips
    return yamlload.parse(text, only=only)


def load(path, only=None):
    """The document at path; Unreadable says what is wrong with the file."""
    data = read_bytes(path)
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError as error:
        raise Unreadable('not UTF-8 text (byte 0x%02x at offset %d)'
                         % (bytearray(data)[error.start], error.start),
                         'a YAML mapping written in UTF-8')
    return parse(text, only)


def read_bytes(path):
    """The file's bytes: only a regular file (a FIFO or a device would block
    or never end), at most MAX_INPUT_BYTES; Unreadable otherwise."""
    from . import safefile
    try:
        return safefile.read_input(path, MAX_INPUT_BYTES)
    except safefile.NotRegular as error:
        found = '%s, not a regular file' % error.what
    except safefile.TooLarge:
        found = 'larger than %d MiB' % (MAX_INPUT_BYTES >> 20)
    except (IOError, OSError) as error:
        found = 'unreadable (%s)' % to_text(error.strerror)
    raise Unreadable(found, "the node's astute.yaml, a regular file")


def describe_value(value):
    """The bad value as an operator would recognise it, with its type."""
    if isinstance(value, Surprise):
        return value.describe()
    if isinstance(value, bool):
        return '%s (a boolean)' % str(value).lower()
    if isinstance(value, string_types):
        return '"%s" (text)' % shown(value)
    if isinstance(value, float):
        return '%s (a decimal number)' % py3_repr(value)
    if value is None:
        return 'nothing (null)'
    if isinstance(value, dict):
        return '%s (a dict)' % _short(value)
    if isinstance(value, list):
        return '%s (a list)' % _short(value)
    return py3_repr(value)


def _short(value):
    text = py3_repr(value)
    return text if len(text) <= 60 else shown(text, 57)


def path_key(path):
    """Sort key of a document path: indices numerically, names as text."""
    return tuple((0, part, u'') if isinstance(part, integer_types) else (1, 0, to_text(part))
                 for part in path)
