"""The children commands.py runs: each started in a process group of its
own with its arguments as UTF-8 bytes, waited for under a watchdog, and
killed with its whole group on a timeout or on any exception in the
waiting thread; reads and selects that survive EINTR on Python 2.7."""
from __future__ import absolute_import, division, print_function

import errno
import os
import subprocess

from rf_common.processes import Watchdog, kill_group, new_session
from rf_common.text import to_bytes


def popen_group(argv, stdin, env):
    """Popen(argv) in a new session (its pid is its process group), stdout
    and stderr piped. stdin: subprocess.PIPE or None for /dev/null.
    Arguments are given as UTF-8 bytes, so any text runs under any locale."""
    devnull = None if stdin is not None else open(os.devnull, 'rb')
    try:
        return subprocess.Popen(
            [to_bytes(a) for a in argv], stdin=stdin or devnull,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
            close_fds=True, **new_session())
    finally:
        if devnull is not None:
            devnull.close()


def kill_and_reap(proc):
    """Kill the process group of proc and reap proc; close its pipes."""
    kill_group(proc.pid)
    while True:
        try:
            proc.wait()
            break
        except OSError as exc:  # EINTR on 2.7
            if exc.errno != errno.EINTR:
                raise
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            try:
                pipe.close()
            except (IOError, OSError):
                pass


def communicate(argv, timeout, input_bytes=None, env=None):
    """Run argv to its end: (proc, stdout bytes, stderr bytes, expired).
    On timeout the whole process group is killed (expired True). On any
    exception in this thread (KeyboardInterrupt, a signal handler's error)
    the group is killed and reaped before the exception goes on."""
    stdin = subprocess.PIPE if input_bytes is not None else None
    return finish(popen_group(argv, stdin, env), timeout, input_bytes)


def finish(proc, timeout, input_bytes=None):
    """communicate's end for a started proc (popen_group): its input
    given, stdin closed, waited for; killed as communicate says."""
    try:
        with Watchdog(proc.pid, timeout) as watchdog:
            out, err = proc.communicate(input_bytes)
    except BaseException:
        kill_and_reap(proc)
        raise
    return proc, out, err, watchdog.expired


def feed(proc, chunks, timeout):
    """finish() for an input too big to hold: the byte strings of the
    iterable `chunks` written to the started proc's stdin as they come.
    A child that left early (EPIPE) fails by its exit status instead."""
    try:
        with Watchdog(proc.pid, timeout) as watchdog:
            try:
                for chunk in chunks:
                    proc.stdin.write(chunk)
            except (IOError, OSError) as exc:
                if exc.errno != errno.EPIPE:
                    raise
            out, err = proc.communicate()
    except BaseException:
        kill_and_reap(proc)
        raise
    return proc, out, err, watchdog.expired


def read_chunk(fd, size=65536):
    """os.read that retries on EINTR (Python 2.7 does not)."""
    while True:
        try:
            return os.read(fd, size)
        except OSError as exc:
            if exc.errno != errno.EINTR:
                raise


def select_readable(fd, timeout):
    """True when fd is readable within timeout seconds; EINTR is retried
    (the signal handler has run by then and may have raised)."""
    import select
    while True:
        try:
            ready = select.select([fd], [], [], timeout)[0]
            return bool(ready)
        except (OSError, select.error) as exc:  # select.error on 2.7
            if exc.args[0] != errno.EINTR:
                raise
