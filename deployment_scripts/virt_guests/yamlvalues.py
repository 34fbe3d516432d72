"""What reading astute.yaml gives besides plain values, and how it fails.

Surprise (and Oversized): a plain scalar that YAML 1.1 reads otherwise
than an operator means it; no field accepts one, so validation names it.
Unreadable: the file cannot be read, decoded or parsed.

The loader (yamlload.py) makes them; astute.py reads the file, hands the
text to the loader and describes the values. Apart from both so that
neither imports the other, and without yaml: a run whose input is cached
never imports it.
"""
from __future__ import absolute_import, division, print_function

from rf_common.text import to_text


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
