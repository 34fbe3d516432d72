# -*- coding: utf-8 -*-
"""The guest package's small helpers, the same under Python 2.7 and 3: the
thread pool, commands with a timeout, makedirs, the CPU count, XML as text.
(Text rendering is rf_common's: tests/unit/common.)"""
from __future__ import absolute_import, division, print_function

import os
import threading
import time
import xml.etree.ElementTree as ET

import pytest

from lab.processes import group_gone
from rf_common.text import text_type, to_native
from virt_guests.commands import Timeout, run_command
from virt_guests.host import cpu_count
from virt_guests.parallel import parallel_map
from virt_guests.render import xml_text
from virt_guests.safefile import makedirs


def test_parallel_map_keeps_the_order_of_the_items():
    def slow_square(n):
        time.sleep(0.01 * (5 - n))  # the first items finish last
        return n * n
    assert parallel_map(slow_square, range(5), 5) == [0, 1, 4, 9, 16]


def test_parallel_map_runs_every_item_then_raises_the_first_error():
    ran = []

    def work(n):
        ran.append(n)
        if n in (1, 3):
            raise ValueError('item %d' % n)
        return n
    with pytest.raises(ValueError) as caught:
        parallel_map(work, range(5), 2)
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
    assert parallel_map(together, range(3), 10) == [0, 1, 2]
    assert len(seen) == 3 and gate.is_set()  # 10 > 3 items: three threads at once
    assert threading.active_count() == before
    names = set()

    def alone(n):
        names.add(threading.current_thread().name)
        return n
    assert parallel_map(alone, range(4), 1) == [0, 1, 2, 3]
    assert len(names) == 1
    assert parallel_map(alone, [], 4) == []


def test_run_command_timeout_kills_the_process_group_with_a_grandchild(tmp_path):
    pid_file = os.path.join(str(tmp_path), 'pgid')
    script = 'echo $$ > %s; sleep 60 & sleep 60' % pid_file
    started = time.time()
    with pytest.raises(Timeout) as caught:
        run_command(['sh', '-c', script], 0.2)
    assert time.time() - started < 10
    assert 'no answer after 0.2 s' in str(caught.value)
    with open(pid_file) as stream:
        pgid = int(stream.read())
    assert group_gone(pgid)


def test_run_command_leaves_nothing_behind_when_it_returns(tmp_path):
    pid_file = os.path.join(str(tmp_path), 'pgid')
    script = 'echo $$ > %s; sleep 60 >/dev/null 2>&1 & echo out; echo err >&2' % pid_file
    status, out, err = run_command(['sh', '-c', script], 30)
    assert (status, out, err) == (0, b'out\n', b'err\n')
    with open(pid_file) as stream:
        assert group_gone(int(stream.read()))


def test_run_command_missing_program_is_an_oserror():
    with pytest.raises(OSError):
        run_command(['/nonexistent/rfg-program'], 5)


def test_makedirs_tolerates_an_existing_directory(tmp_path):
    path = os.path.join(str(tmp_path), 'a', 'b')
    makedirs(path, 0o755)
    makedirs(path, 0o755)
    assert os.path.isdir(path)
    open(os.path.join(str(tmp_path), 'file'), 'w').close()
    with pytest.raises(OSError):
        makedirs(os.path.join(str(tmp_path), 'file'))


def test_cpu_count_is_a_positive_number():
    assert cpu_count() >= 1


def test_xml_text_is_text_on_both_interpreters():
    root = ET.fromstring(to_native(u'<domain><name>n\u00f6de</name></domain>'))
    text = xml_text(root)
    assert isinstance(text, text_type)
    assert text == u'<domain><name>n\u00f6de</name></domain>'
