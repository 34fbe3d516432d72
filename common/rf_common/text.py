"""Text under Python 2.7 and 3.4+, written once: text types, conversions
that never raise UnicodeError, values rendered the way Python 3 prints them
(so a message reads the same under both interpreters), values cut or made
safe for a log line, and lines written in UTF-8 whatever the locale.
"""
from __future__ import absolute_import, division, print_function

import logging
import sys
import unicodedata

PY2 = sys.version_info[0] == 2
if PY2:
    text_type = unicode  # noqa: F821
    string_types = (str, unicode)  # noqa: F821
    integer_types = (int, type(2 ** 64))  # (int, long)
else:
    text_type = str
    string_types = (str,)
    integer_types = (int,)


def to_text(value):
    """value as text: bytes decoded as UTF-8 ('replace'); exceptions and
    other objects rendered without ever raising UnicodeError."""
    if isinstance(value, text_type):
        return value
    if isinstance(value, bytes):
        return value.decode('utf-8', 'replace')
    if not PY2:
        return str(value)
    try:
        return text_type(value)
    except UnicodeError:
        try:
            return to_text(str(value))  # bytes on 2.7: decoded as UTF-8
        except UnicodeError:
            return to_text(repr(value))


def to_bytes(value):
    """Text (or anything) as UTF-8 bytes: argv for exec under any locale."""
    if isinstance(value, bytes):
        return value
    return to_text(value).encode('utf-8')


def to_native(text):
    """Text as the interpreter's str: UTF-8 bytes on 2.7 (for libraries
    such as libvirt-python that want a char *), text on 3."""
    if PY2 and isinstance(text, text_type):
        return text.encode('utf-8')
    return text


# --- values rendered the way Python 3 prints them, on both interpreters --

_ESCAPES = {'\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t'}
_UNPRINTABLE = ('Cc', 'Cf', 'Cs', 'Co', 'Cn', 'Zl', 'Zp', 'Zs')


def _char_repr(char):
    if char in _ESCAPES:
        return _ESCAPES[char]
    if char == ' ' or unicodedata.category(char) not in _UNPRINTABLE:
        return char
    code = ord(char)
    if code < 0x100:
        return '\\x%02x' % code
    return '\\u%04x' % code if code < 0x10000 else '\\U%08x' % code


def _length_said(text, limit):
    return u'... (%d characters)' % len(text) if len(text) > limit else u''


def cut(text, limit=80):
    """text, cut after limit characters with its length said: a 10 MB value
    is not echoed whole in a message."""
    if len(text) <= limit:
        return text
    return text[:limit] + _length_said(text, limit)


def shown(text, limit=80):
    """A value's text fit for a log line: control and other unprintable
    characters escaped (no value can forge a line), and cut after limit
    characters with its full length said."""
    text = to_text(text)
    return u''.join(_char_repr(char) for char in text[:limit]) + _length_said(text, limit)


def text_repr(text):
    """repr() of a text as Python 3 writes it: no u prefix on 2.7."""
    text = to_text(text)
    if not PY2:
        return repr(text)
    quote_char = '"' if "'" in text and '"' not in text else "'"
    body = u''.join((u'\\' + char) if char == quote_char else _char_repr(char)
                    for char in text)
    return quote_char + body + quote_char


def py3_repr(value):
    """repr() of YAML-like values as Python 3 prints them (no u'' and no L
    on 2.7), so messages read the same under both interpreters. Mappings
    are shown with their keys sorted: 2.7 keeps no order of its own."""
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return repr(value)
    if isinstance(value, integer_types):
        return '%d' % value
    if isinstance(value, string_types):
        return text_repr(value)
    if isinstance(value, dict):
        items = sorted((py3_repr(k), py3_repr(v)) for k, v in value.items())
        return u'{%s}' % u', '.join(u'%s: %s' % item for item in items)
    if isinstance(value, list):
        return u'[%s]' % u', '.join(py3_repr(item) for item in value)
    if isinstance(value, tuple) and hasattr(value, '_fields'):
        return u'%s(%s)' % (type(value).__name__, u', '.join(
            u'%s=%s' % (name, py3_repr(item)) for name, item in zip(value._fields, value)))
    if isinstance(value, tuple):
        inner = u', '.join(py3_repr(item) for item in value)
        return u'(%s,)' % inner if len(value) == 1 else u'(%s)' % inner
    return to_text(repr(value))


# --- lines out ------------------------------------------------------------

def write_line(text, stream=None):
    """print() in UTF-8 whatever the locale, on both interpreters (LC_ALL=C
    gives ASCII streams on 2.7 and on 3.4-3.6): the same bytes under both,
    one encoding for the whole stream. A stream that takes only text (no
    byte buffer under it) gets the text, backslash-escaped if it cannot
    encode it."""
    stream = stream or sys.stdout
    line = to_text(text) + u'\n'
    raw = stream if PY2 else getattr(stream, 'buffer', None)
    stream.flush()
    if raw is not None:
        raw.write(line.encode('utf-8'))
        raw.flush()
        return
    try:
        stream.write(line)
    except UnicodeEncodeError:
        stream.write(line.encode('ascii', 'backslashreplace').decode('ascii'))


class LineHandler(logging.StreamHandler):
    """A logging StreamHandler that writes through write_line: log lines
    with any text, under any locale, on both interpreters."""

    def emit(self, record):
        try:
            write_line(self.format(record), self.stream)
        except Exception:  # logging's own contract: report, never raise
            self.handleError(record)
