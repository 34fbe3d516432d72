"""A typed record over a JSON object: named fields with their defaults,
each kept under its own name (the facts, the run's state). A name that is
not a field is an error, never a new key."""
from __future__ import absolute_import, division, print_function

import copy

REQUIRED = object()  # no default: reading it before it is set is an error


class RecordError(ValueError):
    """An unknown field, or a required field read before anything set it."""


class Field(object):
    """The value kept in the record's dict, or its default (a required one
    is an error to read); view: a Record class that wraps the value."""

    def __init__(self, default, what, view=None):
        self.default, self.what, self.view = default, what, view
        self.name = None  # set by Record.names()

    def __get__(self, record, owner):
        if record is None:
            return self
        if self.name in record.data:
            value = record.data[self.name]
        elif self.default is REQUIRED:
            raise record.Error('%s %s (%s) is not known yet: %s' % (
                record.KIND, self.name, self.what, record.REQUIRED_BY))
        else:
            value = copy.copy(self.default)
        return self.view(value) if self.view else value

    def __set__(self, record, value):
        record.data[self.name] = value
        record.changed()


class Record(object):
    """Fields (class attributes) over `data`, the dict written as JSON."""
    __slots__ = ('data',)
    KIND, Error, REQUIRED_BY = 'field', RecordError, 'it is set later'

    def __init__(self, data=None):
        data = {} if data is None else data
        unknown = sorted(set(data) - set(self.names()))
        if unknown:
            raise self.Error('unknown %s(s) %s (written by another version '
                             'of rf-migrate-master? finish that run with '
                             'it)' % (self.KIND, ', '.join(unknown)))
        object.__setattr__(self, 'data', data)

    def __setattr__(self, name, value):
        if not hasattr(type(self), name):
            raise self.Error('unknown %s %s' % (self.KIND, name))
        object.__setattr__(self, name, value)

    @classmethod
    def names(cls):
        fields = dict((n, v) for klass in cls.__mro__
                      for n, v in vars(klass).items() if isinstance(v, Field))
        for name, field in fields.items():
            field.name = name
        return sorted(fields)

    def changed(self):
        """A field was set (a record kept in a file saves itself)."""

    def is_set(self, name):
        return name in self.data

    def update(self, **values):
        for name, value in values.items():
            setattr(self, name, value)

    def missing(self):
        """The required fields not set."""
        return [n for n in self.names() if n not in self.data and
                getattr(type(self), n).default is REQUIRED]
