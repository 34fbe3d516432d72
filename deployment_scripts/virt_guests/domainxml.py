"""The domain XML of each desired guest, rendered the first time it is
asked for: a run with nothing to define renders none (about 1 ms a guest).
The template itself is loaded and checked before, by the caller."""
from __future__ import absolute_import, division, print_function

try:
    from collections.abc import Mapping  # novermin (3.3+; collections on 2.7)
except ImportError:  # Python 2.7
    from collections import Mapping

from . import render


class RenderedOnUse(Mapping):
    """name -> (DomainWant, domain XML, disk bytes), like the dict it replaces."""

    def __init__(self, template, wants, settings):
        self.template, self.settings = template, settings
        self.wants = dict((want.name, (want, size)) for want, size in wants)
        self.rendered = {}

    def __getitem__(self, name):
        if name not in self.rendered:
            want, size = self.wants[name]
            self.rendered[name] = (want, render.render(self.template, want, self.settings),
                                   size)
        return self.rendered[name]

    def __iter__(self):
        return iter(self.wants)

    def __len__(self):
        return len(self.wants)
