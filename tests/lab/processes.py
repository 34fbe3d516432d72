"""Is a process group gone? For the tests that kill a command's group
(Python 2.7 and 3: the unit suites run under both)."""
import os
import time


def live_members(pgid):
    """Pids of the group's processes that still run. A zombie does not
    count: it only waits for its parent (or init, slow to reap in some
    sandboxes) to collect its exit status."""
    found = []
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % name) as stream:
                stat = stream.read()
        except (IOError, OSError):
            continue  # exited while we looked
        # pid (comm) state ppid pgrp ...: comm may hold spaces and ')'.
        fields = stat[stat.rindex(')') + 2:].split()
        if int(fields[2]) == pgid and fields[0] != 'Z':
            found.append(int(name))
    return found


def group_gone(pgid, seconds=10):
    """True once no process of group pgid runs (waits up to seconds)."""
    deadline = time.time() + seconds
    while live_members(pgid):
        if time.time() > deadline:
            return False
        time.sleep(0.02)
    return True
