"""Commands in a process group of their own, and a watchdog that kills the
whole group (grandchildren included) when they overrun their time, on
Python 2.7 and 3.4+."""
from __future__ import absolute_import, division, print_function

import os
import signal
import sys
import threading


def new_session():
    """Popen's keyword arguments that start the child in a new session: its
    pid is its process group (start_new_session is 3.2+)."""
    if sys.version_info[0] == 2:
        return {'preexec_fn': os.setsid}
    return {'start_new_session': True}


def kill_group(pgid):
    """SIGKILL to every process of the group; one that is gone already is
    no error."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass  # the group is gone already


class Watchdog(object):
    """Kills a process group after `timeout` seconds, from its own thread;
    `expired` tells whether it did. Use as a context manager around the
    wait for the process."""

    def __init__(self, pgid, timeout):
        self.pgid, self.expired = pgid, False
        self.timer = threading.Timer(timeout, self._fire)
        self.timer.daemon = True

    def _fire(self):
        self.expired = True
        kill_group(self.pgid)

    def __enter__(self):
        self.timer.start()
        return self

    def __exit__(self, *exc_info):
        self.timer.cancel()
        self.timer.join()  # none left running: 2.7 warns at exit otherwise
        return False
