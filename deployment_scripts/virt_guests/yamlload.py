"""The YAML loader of astute.yaml: PyYAML's SafeLoader, guarded (see
astute.py), with its limits. Apart so that a run whose input is cached
never imports yaml: astute.py imports it only to parse.

Where PyYAML has its libyaml binding (Ubuntu 14.04's python-yaml has), the
text is scanned and parsed by libyaml (10x faster on nailgun's 75 KB), and
composed and constructed by the same guarded Python code as without it. A
text that libyaml refuses, or that a guard refuses, is read again by the
pure-Python loader, whose message is the one given: the same words for the
same bad input with and without libyaml.
"""
from __future__ import absolute_import, division, print_function

import re

import yaml

from rf_common.text import py3_repr, shown, string_types, to_text
from .yamlvalues import Oversized, Surprise, Unreadable

# The guards' limits: the composer recurses, so nesting has a bound; a
# longer integer comes back as Oversized (nobody means one; Python 3.11+
# refuses to convert very long ones).
MAX_DEPTH = 100
MAX_DIGITS = 100
NO_ALIASES = 'a YAML mapping without anchors (&name) or aliases (*name)'
# The integers and booleans an operator writes as such; any other YAML 1.1
# spelling of one (010, 0x1f, 1:30, yes, on...) comes back as a Surprise.
DECIMAL = re.compile(r'^[-+]?(0|[1-9][0-9]*)\Z')
PLAIN_BOOLEANS = ('true', 'True', 'TRUE', 'false', 'False', 'FALSE')


class _Refused(yaml.YAMLError):
    """Composition stopped: an anchor, an alias or too deep a nesting."""

    def __init__(self, found, mark, accepted=NO_ALIASES):
        yaml.YAMLError.__init__(self, found)
        self.found, self.accepted = '%s (%s)' % (found, _where(mark)), accepted


def _where(mark):
    return 'line %d, column %d' % (mark.line + 1, mark.column + 1)


# PyYAML 3.10 (Python 2.7 on Fuel's nodes) refuses characters beyond U+FFFF
# that later releases accept: both read them as later releases do. Written
# as what is NOT printable: Python 2.7 compiles the class of the printable
# ones (up to U+10FFFF) in 0.2-0.4 s, this one in a millisecond.
_NOT_PRINTABLE = re.compile(u'[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x84\x86-\x9F'
                            u'\uD800-\uDFFF\uFFFE\uFFFF]')


try:
    from yaml.cyaml import CParser
except ImportError:  # PyYAML built without libyaml
    CParser = None


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
        return yaml.constructor.SafeConstructor.construct_mapping(self, node, deep)

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
    value = yaml.constructor.SafeConstructor.construct_yaml_int(loader, node)
    return value if DECIMAL.match(node.value) else Surprise(node.value, value)


def _bool(loader, node):
    value = yaml.constructor.SafeConstructor.construct_yaml_bool(loader, node)
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


_E = yaml.events
_N = yaml.nodes


class _AskPure(yaml.YAMLError):
    """_CLoader met what _Loader refuses or may read otherwise: _Loader
    reads the text again and says what it makes of it."""


def _check(event, kind, depth, in_flow):
    """_AskPure where _Loader refuses or PyYAML's scanner reads otherwise."""
    if kind is _E.AliasEvent or event.anchor is not None or depth >= MAX_DEPTH:
        raise _AskPure('an alias, an anchor or too deep')
    if event.tag == u'!':
        raise _AskPure('libyaml and PyYAML read a bare "!" differently')
    if kind is _E.ScalarEvent and in_flow and not event.style \
            and (u':' in event.value or u'?' in event.value):
        raise _AskPure('PyYAML 3.10 ends a plain scalar in [] or {} there')


_STR = u'tag:yaml.org,2002:str'
_NULL = u'tag:yaml.org,2002:null'
_PLAIN_TAGS = (_STR, _NULL, u'tag:yaml.org,2002:bool')


if CParser is not None:
    class _CLoader(CParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
        """libyaml's events, composed by a loop that builds the nodes
        PyYAML's Composer builds and stops (_AskPure) wherever _Loader's
        guards would refuse (an anchor, an alias, too deep a nesting, a
        second document) or PyYAML's scanner differs; then _Loader's
        constructors. CParser's own composer is not used: it recurses in C
        without a limit (100,000 nested "[" make PyYAML 3.10's crash with a
        segmentation fault)."""

        construct_mapping = _Loader.__dict__['construct_mapping']
        yaml_constructors = _Loader.yaml_constructors

        def __init__(self, stream):
            CParser.__init__(self, stream)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

        only = None  # top-level keys to build; the others' values come as None

        def get_single_node(self):
            get, resolve = self.get_event, self.resolve
            get()  # stream start
            if isinstance(get(), _E.StreamEndEvent):
                return None
            stack, root = [], None  # stack: [collection node, pending key]
            self.deferred = []  # scalars of unused values to construct, not text
            while True:
                event = get()
                kind = type(event)
                if kind is _E.DocumentEndEvent:
                    break
                if kind is _E.SequenceEndEvent or kind is _E.MappingEndEvent:
                    node = stack.pop()[0]
                    node.end_mark = event.end_mark
                else:
                    _check(event, kind, len(stack), stack and stack[-1][0].flow_style)
                    tag = event.tag
                    if kind is _E.ScalarEvent:
                        if tag is None:
                            tag = resolve(_N.ScalarNode, event.value, event.implicit)
                        node = _N.ScalarNode(tag, event.value, event.start_mark,
                                             event.end_mark, style=event.style or None)
                    else:
                        node_class = (_N.SequenceNode if kind is _E.SequenceStartEvent
                                      else _N.MappingNode)
                        if tag is None:
                            tag = resolve(node_class, None, event.implicit)
                        stack.append([node_class(tag, [], event.start_mark, None,
                                                 flow_style=event.flow_style), None])
                        continue
                if not stack:
                    root = node
                    continue
                parent = stack[-1]
                if type(parent[0]) is _N.SequenceNode:
                    parent[0].value.append(node)
                elif parent[1] is None:
                    parent[1] = node
                    if len(stack) == 1 and self.only is not None and node.tag == _STR \
                            and node.value not in self.only:
                        self._skip_value(parent[0].flow_style)
                        parent[0].value.append((node, _N.ScalarNode(
                            _NULL, u'', node.start_mark, node.end_mark)))
                        parent[1] = None
                else:
                    parent[0].value.append((parent[1], node))
                    parent[1] = None
            if not isinstance(get(), _E.StreamEndEvent):
                raise _AskPure('more than one document')
            for node in self.deferred:
                try:
                    self.construct_object(node)
                except Exception:  # PyYAML's words (or its traceback), as without libyaml
                    raise _AskPure('a value that PyYAML does not construct')
            return root

        def _skip_value(self, flow_style):
            """Read one top-level value that nothing uses without building
            it, but with the checks of a build: _AskPure wherever _Loader
            could refuse or fail (a key given twice, a key that is not
            text, an explicit tag...); the scalars that are not text, null
            or a boolean are constructed once the document is read, as
            _Loader would."""
            get, resolve = self.get_event, self.resolve
            frames = []  # an open collection: [seen keys or None, key next, flow]
            while True:
                event = get()
                kind = type(event)
                if kind is _E.SequenceEndEvent or kind is _E.MappingEndEvent:
                    frames.pop()
                else:
                    parent = frames[-1] if frames else None
                    _check(event, kind, 1 + len(frames),
                           parent[2] if parent else flow_style)
                    if event.tag is not None:
                        raise _AskPure('an explicit tag')
                    is_key = parent is not None and parent[1]
                    if kind is _E.ScalarEvent:
                        tag = resolve(_N.ScalarNode, event.value, event.implicit)
                        if is_key and (tag != _STR or event.value in parent[0]):
                            raise _AskPure('a key given twice, or not text')
                        if is_key:
                            parent[0].add(event.value)
                        elif tag not in _PLAIN_TAGS:
                            self.deferred.append(_N.ScalarNode(
                                tag, event.value, event.start_mark, event.end_mark))
                    elif is_key:
                        raise _AskPure('a list or mapping as a key')
                    else:
                        mapping = kind is _E.MappingStartEvent
                        frames.append([set() if mapping else None, mapping,
                                       event.flow_style])
                        continue
                if not frames:
                    return
                if frames[-1][0] is not None:
                    frames[-1][1] = not frames[-1][1]


else:
    _CLoader = None

# What libyaml 0.2 accepts and PyYAML's own loader refuses: a tab between
# tokens (after a value, or a key's colon) and the escape "\/" (PyYAML 3.10).
# Rare in astute.yaml, such a text is left to the pure loader.
_LIBYAML_DIFFERS = re.compile(u'\t|\\\\/')


def _unused_none(doc, only):
    if only is not None and isinstance(doc, dict):
        for key in doc:
            if isinstance(key, string_types) and key not in only:
                doc[key] = None
    return doc


LOADERS = {'libyaml': _CLoader, 'pure': _Loader}


def loader_name():
    """The loader parse() uses: 'libyaml' where PyYAML has the binding."""
    return 'libyaml' if _CLoader is not None else 'pure'


def parse(text, loader=None, only=None):
    """A YAML text -> document; Unreadable when it is not YAML, or holds
    anchors, aliases or too deep a nesting. loader: 'libyaml' or 'pure'
    (default: libyaml where PyYAML has it). only: the top-level keys that
    are used; the others' values are None (libyaml's loader does not build
    them: nailgun's network_metadata is most of the file), checked all the
    same."""
    if (loader or loader_name()) == 'libyaml':
        if _CLoader is None:
            raise ValueError('PyYAML has no libyaml binding here')
        try:
            if not _LIBYAML_DIFFERS.search(text):
                loader_class = type('_Only', (_CLoader,), {'only': only}) if only else _CLoader
                return _unused_none(yaml.load(text, Loader=loader_class), only)
        except yaml.YAMLError:
            pass  # the pure loader says why, in its words
    try:
        return _unused_none(yaml.load(text, Loader=_Loader), only)
    except _Refused as error:
        raise Unreadable(error.found, error.accepted)
    except yaml.YAMLError as error:
        raise Unreadable('not YAML (%s)' % _yaml_reason(error), 'a YAML mapping')
