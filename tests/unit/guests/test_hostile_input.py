"""Hostile values in astute.yaml (issue 23, classes 3 to 7): each one is
refused by name, with the value and what is accepted, under both
interpreters; no option reaches a command, no hang, no traceback."""
from __future__ import absolute_import, division, print_function

import pytest

from nodes import astute_doc
from virt_guests import spec

OPTION = ('would be read as an option or names no device: a name may not begin '
          'with "-" nor be "." or ".."')


def problems(guests=None, **settings):
    with pytest.raises(spec.InvalidInput) as raised:
        spec.build_spec(astute_doc(guests or [{'id': 1}], settings=settings))
    return [spec.format_problem(p) for p in raised.value.problems]


# ---- class 3: no option smuggled into a command ----------------------------

@pytest.mark.parametrize('key,text,bad', [
    ('guest_bridges', '--help', '"--help"'),
    ('guest_bridges', 'br-fw-admin,--log-file', '"--log-file"'),
    ('guest_bridges', '.', '"."'),
    ('guest_bridges', 'br-ex,..', '".."'),
    ('guest_ovs_bridges', '-x', '"-x"')])
def test_a_bridge_name_a_command_would_take_for_an_option_is_refused(key, text, bad):
    settings = {'guest_bridges': 'br-ex', key: text}
    (problem,) = problems(**settings)
    assert problem.startswith('reduced-footprint.%s: got "%s" (text): %s %s; accepted: '
                              % (key, text, bad, OPTION))
