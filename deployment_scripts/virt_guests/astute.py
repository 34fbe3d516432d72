"""astute.yaml bytes -> a YAML document, and its values as an operator
would recognise them: the same under Python 2.7 and 3.

The file is read as bytes and decoded as UTF-8 whatever the locale (under
LC_ALL=C, Python 3.4/3.5 would read it as ASCII). YAML 1.1 reads some
plain scalars as numbers or booleans an operator does not expect: `1:30`
is 90, `010` is 8, `yes` is true. Those come back as Surprise objects,
which no field accepts, so validation refuses them by name.
"""
from __future__ import absolute_import, division, print_function

import re

import yaml

from .compat import integer_types, py3_repr, string_types, to_text

DECIMAL = re.compile(r'^[-+]?(0|[1-9][0-9]*)\Z')
PLAIN_BOOLEANS = ('true', 'True', 'TRUE', 'false', 'False', 'FALSE')
MAX_DEPTH = 100
MAX_DIGITS = 100
NO_ALIASES = 'a YAML mapping without anchors (&name) or aliases (*name)'


class Unreadable(Exception):
    """The file cannot be read, decoded or parsed: what was found, and
    what is accepted instead."""

    def __init__(self, found, accepted):
        Exception.__init__(self, found)
        self.found, self.accepted = found, accepted


class Surprise(object):
    """A plain scalar YAML 1.1 turned into a number or boolean."""

    def __init__(self, text, value):
        self.text, self.value = to_text(text), value

    def meaning(self):
        if isinstance(self.value, bool):
            return 'true' if self.value else 'false'
        return 'the number %d' % self.value

    def describe(self):
        return '%s (YAML 1.1 reads it as %s)' % (self.text, self.meaning())

    def __repr__(self):
        return self.text


class Oversized(Surprise):
    """An integer too long to be meant (and to convert, on Python 3.11+)."""

    def __init__(self, text):
        Surprise.__init__(self, text[:20] + '...', None)
        self.digits = len(text)

    def describe(self):
        return 'a number of %d digits' % self.digits


class _Refused(yaml.YAMLError):
    """Composition stopped: an anchor, an alias or too deep a nesting."""

    def __init__(self, found, mark, accepted=NO_ALIASES):
        yaml.YAMLError.__init__(self, found)
        self.found, self.accepted = '%s (%s)' % (found, _where(mark)), accepted


def _where(mark):
    return 'line %d, column %d' % (mark.line + 1, mark.column + 1)


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps YAML 1.1 surprises visible, refuses anchors and
    aliases (an alias bomb of a few hundred bytes expands to gigabytes) and
    nesting deeper than MAX_DEPTH (the composer recurses)."""

    depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise _Refused('a YAML alias *%s' % to_text(event.anchor), event.start_mark)
        if event.anchor is not None:
            raise _Refused('a YAML anchor &%s' % to_text(event.anchor), event.start_mark)
        if self.depth >= MAX_DEPTH:
            raise _Refused('lists or mappings nested deeper than %d levels' % MAX_DEPTH,
                           event.start_mark, 'a YAML mapping')
        self.depth += 1
        try:
            return yaml.SafeLoader.compose_node(self, parent, index)
        finally:
            self.depth -= 1


def _int(loader, node):
    if len(node.value) > MAX_DIGITS:
        return Oversized(node.value)
    value = yaml.SafeLoader.construct_yaml_int(loader, node)
    return value if DECIMAL.match(node.value) else Surprise(node.value, value)


def _bool(loader, node):
    value = yaml.SafeLoader.construct_yaml_bool(loader, node)
    return value if node.value in PLAIN_BOOLEANS else Surprise(node.value, value)


_Loader.add_constructor(u'tag:yaml.org,2002:int', _int)
_Loader.add_constructor(u'tag:yaml.org,2002:bool', _bool)


def _yaml_reason(error):
    """The first line of PyYAML's message, without its file name, and the
    line and column where it stopped."""
    first = getattr(error, 'context', None) or getattr(error, 'problem', None)
    reason = to_text(first or to_text(error).splitlines()[0])
    mark = getattr(error, 'problem_mark', None) or getattr(error, 'context_mark', None)
    return '%s, %s' % (reason, _where(mark)) if mark is not None else reason


def parse(text):
    """A YAML text -> document; Unreadable when it is not YAML, or holds
    anchors, aliases or too deep a nesting."""
    try:
        return yaml.load(text, Loader=_Loader)
    except _Refused as error:
        raise Unreadable(error.found, error.accepted)
    except yaml.YAMLError as error:
        raise Unreadable('not YAML (%s)' % _yaml_reason(error), 'a YAML mapping')


def load(path):
    """The document at path; Unreadable says what is wrong with the file."""
    try:
        with open(path, 'rb') as stream:
            data = stream.read()
    except (IOError, OSError) as error:
        raise Unreadable('unreadable (%s)' % to_text(error.strerror),
                         "the node's astute.yaml")
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError as error:
        raise Unreadable('not UTF-8 text (byte 0x%02x at offset %d)'
                         % (bytearray(data)[error.start], error.start),
                         'a YAML mapping written in UTF-8')
    return parse(text)


def describe_value(value):
    """The bad value as an operator would recognise it, with its type."""
    if isinstance(value, Surprise):
        return value.describe()
    if isinstance(value, bool):
        return '%s (a boolean)' % str(value).lower()
    if isinstance(value, string_types):
        return '"%s" (text)' % to_text(value)
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
    return text if len(text) <= 60 else text[:57] + '...'


def path_key(path):
    """Sort key of a document path: indices numerically, names as text."""
    return tuple((0, part, u'') if isinstance(part, integer_types) else (1, 0, to_text(part))
                 for part in path)
