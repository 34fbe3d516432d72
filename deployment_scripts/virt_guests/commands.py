"""Run a host command as an argument list, with a timeout. No shell."""
import subprocess


class CommandError(Exception):
    """A command failed; the message holds the command and its stderr."""


def run(args, timeout=60):
    """(exit status, stdout, stderr) as text; CommandError on timeout or
    when the program is missing."""
    try:
        process = subprocess.Popen(args, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
    except OSError as error:
        raise CommandError('%s: %s' % (args[0], error.strerror))
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise CommandError('%s: no answer after %d s' % (' '.join(args), timeout))
    return (process.returncode, out.decode('utf-8', 'replace'),
            err.decode('utf-8', 'replace'))


def check(args, timeout=60):
    """stdout of a command that must succeed."""
    status, out, err = run(args, timeout)
    if status != 0:
        raise CommandError('%s failed (exit %d): %s'
                           % (' '.join(args), status, err.strip() or out.strip()))
    return out
