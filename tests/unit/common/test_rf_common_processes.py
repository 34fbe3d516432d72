# -*- coding: utf-8 -*-
"""rf_common.processes: a command in a process group of its own, and the
watchdog that kills the whole group (grandchildren too) when it overruns."""
from __future__ import absolute_import, division, print_function

import os
import subprocess
import time

from lab.processes import group_gone
from rf_common.processes import Watchdog, kill_group, new_session


def start_group(tmp_path, script):
    pid_file = os.path.join(str(tmp_path), 'pgid')
    process = subprocess.Popen(['sh', '-c', 'echo $$ > %s; %s' % (pid_file, script)],
                               stdout=subprocess.PIPE, **new_session())
    while not os.path.exists(pid_file) or not open(pid_file).read().strip():
        time.sleep(0.01)
    with open(pid_file) as handle:
        return process, int(handle.read())


def test_new_session_gives_the_child_its_own_process_group(tmp_path):
    process, pgid = start_group(tmp_path, 'true')
    process.communicate()
    assert pgid == process.pid and pgid != os.getpgrp()


def test_the_watchdog_kills_the_group_with_a_grandchild_after_its_time(tmp_path):
    process, pgid = start_group(tmp_path, 'sleep 60 & sleep 60')
    started = time.time()
    with Watchdog(process.pid, 0.2) as watchdog:
        process.communicate()  # the grandchild holds stdout: only a kill ends it
    assert watchdog.expired and time.time() - started < 10
    assert group_gone(pgid)


def test_the_watchdog_leaves_a_command_that_ends_in_time(tmp_path):
    process, pgid = start_group(tmp_path, 'echo done')
    with Watchdog(process.pid, 30) as watchdog:
        out, _ = process.communicate()
    assert out == b'done\n' and not watchdog.expired and process.returncode == 0
    time.sleep(0.1)
    assert not watchdog.timer.is_alive()


def test_kill_group_of_a_group_that_is_gone_is_no_error(tmp_path):
    process, pgid = start_group(tmp_path, 'true')
    process.communicate()
    kill_group(pgid)
    kill_group(pgid)
