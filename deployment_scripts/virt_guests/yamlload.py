"""The YAML loader of astute.yaml: PyYAML's SafeLoader, guarded (see
astute.py). Apart so that a run whose input is cached never imports yaml.
"""
from __future__ import absolute_import, division, print_function

import re

import yaml

from .astute import (DECIMAL, MAX_DEPTH, MAX_DIGITS, NO_ALIASES, PLAIN_BOOLEANS,
                     Oversized, Surprise, Unreadable)
from .compat import py3_repr, shown, to_text


class _Refused(yaml.YAMLError):
    """Composition stopped: an anchor, an alias or too deep a nesting."""

    def __init__(self, found, mark, accepted=NO_ALIASES):
        yaml.YAMLError.__init__(self, found)
        self.found, self.accepted = '%s (%s)' % (found, _where(mark)), accepted


def _where(mark):
    return 'line %d, column %d' % (mark.line + 1, mark.column + 1)


# PyYAML 3.10 (Python 2.7 on Fuel's nodes) refuses characters beyond U+FFFF
# that later releases accept: both read them as later releases do.
_NOT_PRINTABLE = re.compile(u'[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD'
                            u'\U00010000-\U0010FFFF]')


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps YAML 1.1 surprises visible, refuses anchors and
    aliases (an alias bomb of a few hundred bytes expands to gigabytes),
    nesting deeper than MAX_DEPTH (the composer recurses), a key given twice
    in a mapping (the last one would win silently) and !!binary (bytes on
    Python 3, text on 2.7)."""

    depth = 0

    def check_printable(self, data):
        match = _NOT_PRINTABLE.search(data)
        if match:
            raise yaml.reader.ReaderError(self.name, self.index + match.start(),
                                          ord(match.group()), 'unicode',
                                          'special characters are not allowed')

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == u'tag:yaml.org,2002:merge':
                continue  # `<<:` merges, as before
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, (str, type(u''), int)) and key in seen:
                raise _Refused('the key %s given twice in one mapping'
                               % shown(py3_repr(key)), key_node.start_mark,
                               'a YAML mapping with each key once')
            seen.add(key)
        return yaml.SafeLoader.construct_mapping(self, node, deep)

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


def _binary(loader, node):
    raise _Refused('a !!binary value', node.start_mark, 'text, not !!binary')


_Loader.add_constructor(u'tag:yaml.org,2002:binary', _binary)


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
