"""The --config file, read and parsed with bounds: only a regular file (a
FIFO would block the open for ever, a device never end), at most
MAX_BYTES, UTF-8, and YAML without anchors or aliases (an alias bomb of a
few hundred bytes expands for minutes), nested at most MAX_DEPTH deep (the
constructor recurses), no key twice in one mapping (YAML keeps the last
silently) and no number of more than MAX_DIGITS digits (Python 2.7 takes
minutes to convert a long one, 3.11 refuses it).

The event stream is checked first, without recursion; only a clean stream
is built by PyYAML's safe loader.
"""
from __future__ import absolute_import, division, print_function

import errno
import os
import re
import stat

from rf_common.text import cut, py3_repr, to_text

MAX_BYTES = 1 << 20
MAX_DEPTH = 50
MAX_DIGITS = 100
_LONG_NUMBER = re.compile(r'^[-+]?[0-9_]{%d,}\Z' % (MAX_DIGITS + 1))


class Refused(Exception):
    """What is wrong with the file, as a sentence."""


def read_regular(path, limit=MAX_BYTES):
    """The bytes of the regular file at path; Refused otherwise."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, 'O_NONBLOCK', 0))
    except OSError as exc:
        raise Refused('cannot read: %s' % to_text(exc.strerror or exc))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise Refused('not a regular file (%s): give a YAML file'
                          % _kind(mode))
        data = _read_at_most(fd, limit)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise Refused('larger than %d KiB' % (limit >> 10))
    return data


def _kind(mode):
    for test, text in ((stat.S_ISDIR, 'a directory'),
                       (stat.S_ISFIFO, 'a FIFO'),
                       (stat.S_ISCHR, 'a character device'),
                       (stat.S_ISBLK, 'a block device'),
                       (stat.S_ISSOCK, 'a socket')):
        if test(mode):
            return text
    return 'not a file'


def _read_at_most(fd, limit):
    data = b''
    while len(data) <= limit:
        try:
            chunk = os.read(fd, limit + 1 - len(data))
        except OSError as exc:
            if exc.errno == errno.EINTR:
                continue
            raise Refused('cannot read: %s' % to_text(exc.strerror))
        if not chunk:
            break
        data += chunk
    return data


def decode(data):
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError as exc:
        raise Refused('not UTF-8 text (byte 0x%02x at offset %d): save it '
                      'as UTF-8' % (bytearray(data)[exc.start], exc.start))


def _where(event):
    mark = event.start_mark
    return 'line %d, column %d' % (mark.line + 1, mark.column + 1)


class _Frame(object):
    """An open mapping (keys seen, a key expected next) or sequence."""

    def __init__(self, mapping):
        self.keys = set() if mapping else None
        self.expect_key = True

    def took(self, event, key):
        """One whole node was read in this collection."""
        if self.keys is None:
            return
        if self.expect_key and key is not None:
            if key in self.keys:
                raise Refused('the key %s is given twice in one mapping (%s): '
                              'give it once' % (cut(py3_repr(key)),
                                                _where(event)))
            self.keys.add(key)
        self.expect_key = not self.expect_key


def check_events(events, yaml):
    """Refused for an anchor, an alias, too deep a nesting, a key given
    twice or too long a number, in a stream of PyYAML events."""
    frames = []
    for event in events:
        if isinstance(event, yaml.AliasEvent) or getattr(
                event, 'anchor', None) is not None:
            raise Refused('a YAML anchor or alias (%s): write the values out'
                          % _where(event))
        if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            frames.pop()
        elif isinstance(event, yaml.ScalarEvent):
            _check_scalar(event)
            if frames:
                frames[-1].took(event, event.value)
        elif isinstance(event, (yaml.MappingStartEvent,
                                yaml.SequenceStartEvent)):
            if frames:
                frames[-1].took(event, None)
            if len(frames) >= MAX_DEPTH:
                raise Refused('nested deeper than %d levels (%s)'
                              % (MAX_DEPTH, _where(event)))
            frames.append(_Frame(isinstance(event, yaml.MappingStartEvent)))


def _check_scalar(event):
    if event.style is None and _LONG_NUMBER.match(event.value):
        raise Refused('a number of %d digits (%s): no setting takes one'
                      % (len(event.value), _where(event)))


def _loader(yaml):
    """SafeLoader reading characters beyond U+FFFF as PyYAML 5+ does (3.10,
    the master's, refuses them: the same file is read by both)."""
    wide = re.compile(u'[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD'
                      u'\U00010000-\U0010FFFF]')

    def check_printable(self, data):
        found = wide.search(data)
        if found:
            raise yaml.reader.ReaderError(
                self.name, self.index + found.start(), ord(found.group()),
                'unicode', 'special characters are not allowed')
    return type('WideSafeLoader', (yaml.SafeLoader,),
                {'check_printable': check_printable})


def parse(text, yaml):
    """The document of a checked text; Refused, or yaml.YAMLError."""
    loader = _loader(yaml)
    check_events(yaml.parse(text, Loader=loader), yaml)
    return yaml.load(text, Loader=loader)
