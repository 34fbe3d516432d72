# -*- coding: utf-8 -*-
"""rf_common.text: values and lines that read the same under Python 2.7
and 3, whatever the locale; for both the guest tasks and rf-migrate-master."""
from __future__ import absolute_import, division, print_function

import collections
import io
import logging

import pytest

from rf_common.text import (PY2, LineHandler, cut, py3_repr, shown, text_repr, text_type,
                            to_bytes, to_native, to_text, write_line)


@pytest.mark.parametrize('value,expected', [
    (u'abc', "'abc'"),
    ('abc', "'abc'"),
    (b'abc'.decode('ascii'), "'abc'"),
    (u"it's", '"it\'s"'),
    (u'n\u00f6de \u20ac', u"'n\u00f6de \u20ac'"),
    (u'm\u00e4ster', u"'m\u00e4ster'"),
    (u'tab\there\n', "'tab\\there\\n'"),
    (u'\x07', "'\\x07'"),
    (12, '12'),
    (2 ** 70, '1180591620717411303424'),
    (1.5, '1.5'),
    (True, 'True'),
    (None, 'None'),
    ([1, u'b'], "[1, 'b']"),
    ({u'a': [1, u'b']}, "{'a': [1, 'b']}"),
    ((1,), '(1,)'),
    ((u'x', 2), "('x', 2)"),
])
def test_py3_repr_reads_as_python_3_repr(value, expected):
    assert py3_repr(value) == expected


def test_py3_repr_sorts_the_keys_of_a_mapping_so_both_pythons_agree():
    assert py3_repr({u'b': 1, u'a': [u'x']}) == "{'a': ['x'], 'b': 1}"
    many = dict((u'k%02d' % n, n) for n in range(30))  # 2.7 hashes them out of order
    assert py3_repr(many) == '{%s}' % ', '.join("'k%02d': %d" % (n, n) for n in range(30))


def test_py3_repr_of_a_namedtuple():
    Nic = collections.namedtuple('Nic', 'mac bridge')
    assert py3_repr(Nic(u'02:00', 'br-a')) == "Nic(mac='02:00', bridge='br-a')"


def test_text_repr_has_no_u_prefix_and_escapes_what_cannot_be_shown():
    assert text_repr(u'n\u00f6') == u"'n\u00f6'"
    assert text_repr(b'a\nb') == "'a\\nb'"
    assert text_repr(u'it\'s "x"') == "'it\\'s \"x\"'"


def test_to_text_of_bytes_exceptions_and_numbers():
    assert to_text(b'caf\xc3\xa9') == u'caf\u00e9'
    assert to_text(b'\xff') == u'\ufffd'
    assert to_text(ValueError(u'n\u00f6')) == u'n\u00f6'
    assert to_text(5) == u'5'
    assert isinstance(to_text(b'x'), text_type)


def test_to_bytes_and_to_native():
    assert to_bytes(u'n\u00f6') == b'n\xc3\xb6' and to_bytes(b'\xff') == b'\xff'
    assert to_bytes(5) == b'5'
    native = to_native(u'n\u00f6')
    assert native == (b'n\xc3\xb6' if PY2 else u'n\u00f6')
    assert isinstance(native, str)


def test_shown_escapes_control_characters_and_cuts_long_values():
    assert shown(u'a\nvirt-guests: forged') == u'a\\nvirt-guests: forged'
    assert shown(b'\x1b[31mred') == u'\\x1b[31mred'
    assert shown('x' * 100, 10) == u'xxxxxxxxxx... (100 characters)'
    assert shown(u'\u00e9' * 3) == u'\u00e9' * 3


def test_cut_says_the_length_of_what_it_cuts():
    assert cut(u'short') == u'short'
    assert cut(u'9' * 100000) == u'9' * 80 + u'... (100000 characters)'
    assert cut(u'a\nb') == u'a\nb'  # cut does not escape: shown does


class AsciiStream(io.TextIOWrapper):
    """stdout of Python 3.4/3.5 under LC_ALL=C: ASCII, strict."""


def ascii_stream():
    """(stream, its bytes): what LC_ALL=C gives each interpreter."""
    if PY2:
        stream = io.BytesIO()
        return stream, stream.getvalue
    raw = io.BytesIO()
    return AsciiStream(raw, encoding='ascii', errors='strict'), raw.getvalue


def test_write_line_writes_utf8_to_an_ascii_stdout():
    stream, written = ascii_stream()
    write_line(u'first', stream)
    write_line(u'n\u00f6de', stream)
    stream.flush()
    assert written() == u'first\nn\u00f6de\n'.encode('utf-8')


def test_write_line_writes_utf8_whatever_the_stream_encoding():
    """One encoding for the whole stream, the same bytes under both Pythons."""
    if PY2:
        pytest.skip('2.7 streams take bytes: UTF-8 by construction')
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding='latin-1')
    write_line(u'caf\u00e9', stream)
    stream.write(u'then text\n')
    stream.flush()
    assert raw.getvalue() == b'caf\xc3\xa9\nthen text\n'


def test_write_line_to_a_text_only_stream():
    if PY2:
        pytest.skip('2.7 streams take bytes: write_line gives them UTF-8')
    stream = io.StringIO()
    write_line(u'n\u00f6de', stream)
    assert stream.getvalue() == u'n\u00f6de\n'


def test_write_line_escapes_what_a_text_only_ascii_stream_cannot_take():
    if PY2:
        pytest.skip('2.7 writes bytes to the stream itself')

    class Strict(io.StringIO):
        def write(self, text):
            text.encode('ascii')
            return io.StringIO.write(self, text)
    stream = Strict()
    write_line(u'n\u00f6de', stream)
    assert stream.getvalue() == u'n\\xf6de\n'


def test_line_handler_logs_non_ascii_to_an_ascii_stream():
    stream, written = ascii_stream()
    log = logging.getLogger('rf-common-text-test')
    log.handlers = [LineHandler(stream)]
    log.propagate = False
    log.error('%s', u'Umgebung \u00d6st')
    log.error('%s', u'second')
    stream.flush()
    assert written() == u'Umgebung \u00d6st\nsecond\n'.encode('utf-8')


def test_line_handler_reports_and_does_not_raise(capsys):
    class Broken(io.StringIO):
        def write(self, text):
            raise IOError('disk full')
    log = logging.getLogger('rf-common-text-broken')
    log.handlers = [LineHandler(Broken())]
    log.propagate = False
    log.error('lost')  # logging's own report goes to stderr
    assert 'disk full' in capsys.readouterr().err
