"""Run a host command as an argument list, with a timeout. No shell."""
from __future__ import absolute_import, division, print_function

from rf_common.processes import Watchdog, kill_group, new_session
from rf_common.text import to_text


class CommandError(Exception):
    """A command failed; the message holds the command and its stderr."""


class Timeout(Exception):
    """A command did not finish in time; its process group was killed."""


def run_command(args, timeout):
    """(exit status, stdout bytes, stderr bytes). The command runs in a new
    process group (session); a watchdog kills the whole group after
    `timeout` seconds (Timeout), and whatever the command left running in
    its group is killed when it returns. OSError when it cannot start."""
    import subprocess  # here: a run with nothing to do starts no command
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               close_fds=True, **new_session())
    try:
        with Watchdog(process.pid, timeout) as watchdog:
            out, err = process.communicate()
    finally:
        kill_group(process.pid)
    if watchdog.expired:
        raise Timeout('%s: no answer after %s s' % (' '.join(args), timeout))
    return process.returncode, out, err


def run(args, timeout=60):
    """(exit status, stdout, stderr) as text; CommandError on timeout or
    when the program is missing."""
    try:
        status, out, err = run_command(args, timeout)
    except OSError as error:
        raise CommandError('%s: %s' % (args[0], to_text(error.strerror)))
    except Timeout as error:
        raise CommandError(to_text(error))
    return status, to_text(out), to_text(err)


def check(args, timeout=60):
    """stdout of a command that must succeed."""
    status, out, err = run(args, timeout)
    if status != 0:
        raise CommandError('%s failed (exit %d): %s'
                           % (' '.join(args), status, err.strip() or out.strip()))
    return out
