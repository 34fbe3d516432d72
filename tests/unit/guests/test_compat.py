# -*- coding: utf-8 -*-
"""compat: the few helpers that make the guest package run the same under
Python 2.7 and 3 (thread pool, commands with a timeout, text rendering)."""
from __future__ import absolute_import, division, print_function

import io
import os
import threading
import time
import xml.etree.ElementTree as ET

import pytest

from lab.processes import group_gone
from virt_guests import compat


def test_parallel_map_keeps_the_order_of_the_items():
    def slow_square(n):
        time.sleep(0.01 * (5 - n))  # the first items finish last
        return n * n
    assert compat.parallel_map(slow_square, range(5), 5) == [0, 1, 4, 9, 16]


def test_parallel_map_runs_every_item_then_raises_the_first_error():
    ran = []

    def work(n):
        ran.append(n)
        if n in (1, 3):
            raise ValueError('item %d' % n)
        return n
    with pytest.raises(ValueError) as caught:
        compat.parallel_map(work, range(5), 2)
    assert str(caught.value) == 'item 1'
    assert sorted(ran) == [0, 1, 2, 3, 4]


def test_parallel_map_uses_no_more_threads_than_items_or_parallel():
    seen, lock, gate = set(), threading.Lock(), threading.Event()

    def together(n):
        with lock:
            seen.add(threading.current_thread().name)
            if len(seen) == 3:
                gate.set()
        gate.wait(5)
        return n
    before = threading.active_count()
    assert compat.parallel_map(together, range(3), 10) == [0, 1, 2]
    assert len(seen) == 3 and gate.is_set()  # 10 > 3 items: three threads at once
    assert threading.active_count() == before
    names = set()

    def alone(n):
        names.add(threading.current_thread().name)
        return n
    assert compat.parallel_map(alone, range(4), 1) == [0, 1, 2, 3]
    assert len(names) == 1
    assert compat.parallel_map(alone, [], 4) == []


def test_run_command_timeout_kills_the_process_group_with_a_grandchild(tmp_path):
    pid_file = os.path.join(str(tmp_path), 'pgid')
    script = 'echo $$ > %s; sleep 60 & sleep 60' % pid_file
    started = time.time()
    with pytest.raises(compat.Timeout) as caught:
        compat.run_command(['sh', '-c', script], 0.2)
    assert time.time() - started < 10
    assert 'no answer after 0.2 s' in str(caught.value)
    with open(pid_file) as stream:
        pgid = int(stream.read())
    assert group_gone(pgid)


def test_run_command_leaves_nothing_behind_when_it_returns(tmp_path):
    pid_file = os.path.join(str(tmp_path), 'pgid')
    script = 'echo $$ > %s; sleep 60 >/dev/null 2>&1 & echo out; echo err >&2' % pid_file
    status, out, err = compat.run_command(['sh', '-c', script], 30)
    assert (status, out, err) == (0, b'out\n', b'err\n')
    with open(pid_file) as stream:
        assert group_gone(int(stream.read()))


def test_run_command_missing_program_is_an_oserror():
    with pytest.raises(OSError):
        compat.run_command(['/nonexistent/rfg-program'], 5)


def test_makedirs_tolerates_an_existing_directory(tmp_path):
    path = os.path.join(str(tmp_path), 'a', 'b')
    compat.makedirs(path, 0o755)
    compat.makedirs(path, 0o755)
    assert os.path.isdir(path)
    open(os.path.join(str(tmp_path), 'file'), 'w').close()
    with pytest.raises(OSError):
        compat.makedirs(os.path.join(str(tmp_path), 'file'))


def test_cpu_count_is_a_positive_number():
    assert compat.cpu_count() >= 1


def test_xml_text_is_text_on_both_interpreters():
    root = ET.fromstring(compat.to_native(u'<domain><name>n\u00f6de</name></domain>'))
    text = compat.xml_text(root)
    assert isinstance(text, compat.text_type)
    assert text == u'<domain><name>n\u00f6de</name></domain>'


@pytest.mark.parametrize('value,expected', [
    (u'abc', "'abc'"),
    ('abc', "'abc'"),
    (u"it's", '"it\'s"'),
    (u'n\u00f6de \u20ac', u"'n\u00f6de \u20ac'"),
    (u'tab\there\n', "'tab\\there\\n'"),
    (u'\x07', "'\\x07'"),
    (12, '12'),
    (2 ** 70, '1180591620717411303424'),
    (1.5, '1.5'),
    (True, 'True'),
    (None, 'None'),
    ({u'a': [1, u'b']}, "{'a': [1, 'b']}"),
    ((1,), '(1,)'),
    ((u'x', 2), "('x', 2)"),
])
def test_py3_repr_reads_as_python_3_repr(value, expected):
    assert compat.py3_repr(value) == expected


def test_py3_repr_of_a_namedtuple():
    from virt_guests.render import Nic
    assert compat.py3_repr(Nic(u'02:00', 'br-a')) == "Nic(mac='02:00', bridge='br-a')"


def test_to_text_of_bytes_exceptions_and_numbers():
    assert compat.to_text(b'caf\xc3\xa9') == u'caf\u00e9'
    assert compat.to_text(b'\xff') == u'\ufffd'
    assert compat.to_text(ValueError(u'n\u00f6')) == u'n\u00f6'
    assert compat.to_text(5) == u'5'


class AsciiStream(io.TextIOWrapper):
    """stdout of Python 3.4/3.5 under LC_ALL=C: ASCII, strict."""


def test_write_line_survives_an_ascii_stdout():
    if compat.PY2:
        stream = io.BytesIO()
        compat.write_line(u'n\u00f6de', stream)
        assert stream.getvalue() == u'n\u00f6de\n'.encode('utf-8')
        return
    raw = io.BytesIO()
    stream = AsciiStream(raw, encoding='ascii', errors='strict')
    compat.write_line(u'first', stream)
    compat.write_line(u'n\u00f6de', stream)
    stream.flush()
    assert raw.getvalue() == u'first\nn\u00f6de\n'.encode('utf-8')


def test_line_handler_logs_non_ascii_to_an_ascii_stream():
    import logging
    if compat.PY2:
        stream = io.BytesIO()
    else:
        raw = io.BytesIO()
        stream = AsciiStream(raw, encoding='ascii', errors='strict')
    log = logging.getLogger('rfg-compat-test')
    log.handlers = [compat.LineHandler(stream)]
    log.propagate = False
    log.error('%s', u'Umgebung \u00d6st')
    stream.flush()
    data = stream.getvalue() if compat.PY2 else raw.getvalue()
    assert data == u'Umgebung \u00d6st\n'.encode('utf-8')
