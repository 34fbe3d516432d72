"""Run a host command as an argument list, with a timeout. No shell."""
from __future__ import absolute_import, division, print_function

from . import compat


class CommandError(Exception):
    """A command failed; the message holds the command and its stderr."""


def run(args, timeout=60):
    """(exit status, stdout, stderr) as text; CommandError on timeout or
    when the program is missing."""
    try:
        status, out, err = compat.run_command(args, timeout)
    except OSError as error:
        raise CommandError('%s: %s' % (args[0], compat.to_text(error.strerror)))
    except compat.Timeout as error:
        raise CommandError(compat.to_text(error))
    return status, compat.to_text(out), compat.to_text(err)


def check(args, timeout=60):
    """stdout of a command that must succeed."""
    status, out, err = run(args, timeout)
    if status != 0:
        raise CommandError('%s failed (exit %d): %s'
                           % (' '.join(args), status, err.strip() or out.strip()))
    return out
