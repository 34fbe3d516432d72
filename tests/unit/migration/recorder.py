"""The test double of master_migration.commands.Commands: records each
argv and answers from rules. Kept out of the shipped script (Python 2.7
and 3, like the unit suite)."""
from __future__ import absolute_import, division, print_function

import shlex
import subprocess
import sys

from rf_common.text import to_native, to_text

from master_migration import blockcopy
from master_migration.commands import CommandError, Result


class Recorder(object):
    """Test double: records argv lists and answers from (prefix, Result
    fields) rules; the first rule whose prefix matches wins."""

    def __init__(self, rules=None, run_writer=False):
        """run_writer: the block copy's program for the virt node
        (blockcopy.WRITER) runs here, for real, on the paths it is given."""
        self.run_writer = run_writer
        self.calls = []
        self.started = []  # the StartedCall of each start
        self.rules = list(rules or [])

    def answer(self, prefix, returncode=0, stdout='', stderr=''):
        self.rules.append((list(prefix), returncode, stdout, stderr))

    def _lookup(self, argv):
        # A remote command is one quoted string at the end of the ssh argv:
        # rules match its words too.
        words = list(argv)
        if argv and argv[0] == 'ssh':
            words += [to_text(w) for w in shlex.split(
                to_native(argv[-1]))]
        for prefix, code, out, err in self.rules:
            if _contains(words, prefix):
                return code, out, err
        return 0, '', ''

    def run(self, argv, timeout=120, input_bytes=None, ok_codes=(0,)):
        self.calls.append(list(argv))
        code, out, err = self._writer(argv, input_bytes) or \
            self._lookup(argv)
        if ok_codes is not None and code not in ok_codes:
            raise CommandError(argv, code, err)
        return Result(argv, code, out, err)

    def _writer(self, argv, input_bytes):
        words = _remote_words(argv)
        head = ['sh', '-c', blockcopy.RUN_PYTHON, blockcopy.WRITER]
        if not self.run_writer or words[:4] != head:
            return None
        proc = subprocess.Popen([sys.executable, '-c', blockcopy.WRITER] +
                                words[4:], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        out, err = proc.communicate(input_bytes or b'')
        return proc.returncode, to_text(out), to_text(err)

    def start(self, argv):
        """Commands.start's double: the call runs (and is recorded) when
        it is finished, as the real one's input comes then."""
        self.started.append(StartedCall(self, argv))
        return self.started[-1]

    def feed(self, argv, chunks, timeout, ok_codes=(0,)):
        """Commands.feed's double: the input kept whole (self.fed)."""
        self.fed = b''.join(chunks)
        return self.run(argv, timeout, self.fed, ok_codes)

    def stream(self, argv, on_output, timeout, ok_codes=(0,)):
        result = self.run(argv, timeout, None, ok_codes)
        if result.stdout:
            on_output(result.stdout)
        return result


class StartedCall(object):
    def __init__(self, recorder, argv):
        self.recorder, self.argv, self.input = recorder, argv, None
        self.stopped = False

    def finish(self, input_bytes, timeout, ok_codes=(0,)):
        self.input = input_bytes
        return self.recorder.run(self.argv, timeout, input_bytes, ok_codes)

    def stream(self, input_bytes, on_output, timeout, ok_codes=(0,)):
        result = self.finish(input_bytes, timeout, ok_codes)
        if result.stdout:
            on_output(result.stdout)
        return result

    def stop(self):
        if self.input is None:
            self.stopped = True


def _remote_words(argv):
    """The remote command's words of an ssh argv (Remote.argv), else argv."""
    if argv and argv[0] == 'ssh' and argv[-2] == '--':
        words = [to_text(w) for w in shlex.split(to_native(argv[-1]))]
        if words[:3] == ['env', 'LC_ALL=C', 'LANG=C']:
            return words[3:]
    return list(argv)


def _contains(argv, prefix):
    """True when prefix occurs as a contiguous run in argv (so a rule for
    ['virsh', 'domstate'] matches the same call wrapped in ssh)."""
    size = len(prefix)
    return any(argv[i:i + size] == prefix for i in range(len(argv) - size + 1))
