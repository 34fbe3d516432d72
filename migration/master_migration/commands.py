"""The one place that runs commands: argument lists, timeouts, LC_ALL=C,
stderr in every error. Each command runs in its own process group: a
timeout or an interruption kills the whole group. (The unit tests swap in
tests/unit/migration/recorder.py.)"""
from __future__ import absolute_import, division, print_function

import codecs
import collections
import os
import subprocess
import threading
import time

try:
    from shlex import quote  # novermin (3.3+; pipes.quote on 2.7)
except ImportError:  # Python 2.7
    from pipes import quote

from rf_common.text import to_text

from master_migration import procgroups

Result = collections.namedtuple('Result', 'argv returncode stdout stderr')


class CommandError(Exception):
    def __init__(self, argv, returncode, stderr, note=''):
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr or ''
        self.note = note
        Exception.__init__(self, self.describe())

    def describe(self):
        what = self.note or 'exit %s' % self.returncode
        tail = self.stderr.strip().splitlines()[-6:]
        text = 'command failed (%s): %s' % (what, shell_words(self.argv))
        if tail:
            text += '\n  ' + '\n  '.join(tail)
        return text


def shell_words(argv):
    return u' '.join(quote(to_text(a)) for a in argv)


def c_locale_env():
    env = dict(os.environ)
    env.update({'LC_ALL': 'C', 'LANG': 'C', 'LANGUAGE': 'C'})
    return env


class Commands(object):
    """Runs local commands. Every command gets a timeout; a timed-out or
    interrupted child is killed, never left behind."""

    def __init__(self, log=None):
        self.log = log

    def run(self, argv, timeout=120, input_bytes=None, ok_codes=(0,)):
        if self.log:
            self.log.debug('run: %s', shell_words(argv))
        return _result(argv, procgroups.communicate(
            argv, timeout, input_bytes, c_locale_env()), timeout, ok_codes)

    def start(self, argv):
        """Start argv now, its input to come (Started.finish): its start
        (an ssh connection, a remote program) overlaps other work."""
        if self.log:
            self.log.debug('start: %s', shell_words(argv))
        return Started(argv, procgroups.popen_group(argv, subprocess.PIPE,
                                                    c_locale_env()))

    def feed(self, argv, chunks, timeout, ok_codes=(0,)):
        """As run, its input the byte strings of an iterable, written as
        they come (a block copy: more than memory holds)."""
        if self.log:
            self.log.debug('feed: %s', shell_words(argv))
        return _result(argv, procgroups.feed(procgroups.popen_group(
            argv, subprocess.PIPE, c_locale_env()), chunks, timeout),
            timeout, ok_codes)

    def stream(self, argv, on_output, timeout, ok_codes=(0,)):
        """Run a long command, handing its stdout to on_output(text) as it
        comes (rsync progress); stderr is kept for the error."""
        if self.log:
            self.log.debug('stream: %s', shell_words(argv))
        return _stream(argv, procgroups.popen_group(argv, None, c_locale_env()),
                       on_output, timeout, ok_codes)


def _stream(argv, proc, on_output, timeout, ok_codes):
    errors = []
    reader = threading.Thread(target=lambda: errors.append(
        proc.stderr.read()))
    reader.daemon = True
    reader.start()
    try:
        _pump(argv, proc, on_output, time.time() + timeout)
        proc.wait()
    except BaseException:
        procgroups.kill_and_reap(proc)
        raise
    reader.join(5)
    proc.stdout.close()
    proc.stderr.close()
    err = to_text(b''.join(errors))
    if ok_codes is not None and proc.returncode not in ok_codes:
        raise CommandError(argv, proc.returncode, err)
    return Result(argv, proc.returncode, '', err)


def _write_all(pipe, data):
    """data into a child's stdin, then closed; a child that left early
    (EPIPE) fails by its exit status instead."""
    try:
        pipe.write(data)
    except (IOError, OSError):
        pass
    try:
        pipe.close()
    except (IOError, OSError):
        pass


def _result(argv, ended, timeout, ok_codes):
    proc, out, err, expired = ended
    if expired:
        raise CommandError(argv, None, '', 'timed out after %s s' % timeout)
    result = Result(argv, proc.returncode, to_text(out), to_text(err))
    if ok_codes is not None and proc.returncode not in ok_codes:
        raise CommandError(argv, proc.returncode, result.stderr)
    return result


class Started(object):
    """A command running ahead of its input (Commands.start)."""

    def __init__(self, argv, proc):
        self.argv, self.proc = argv, proc

    def finish(self, input_bytes, timeout, ok_codes=(0,)):
        """As Commands.run from here: the input given, then waited for.
        A command that died meanwhile fails here, with its stderr."""
        return _result(self.argv, procgroups.finish(self.proc, timeout,
                                                    input_bytes),
                       timeout, ok_codes)

    def stream(self, input_bytes, on_output, timeout, ok_codes=(0,)):
        """As Commands.stream from here, the input given meanwhile."""
        writer = threading.Thread(target=_write_all, args=(
            self.proc.stdin, input_bytes))
        writer.daemon = True
        writer.start()
        try:
            return _stream(self.argv, self.proc, on_output, timeout,
                           ok_codes)
        finally:
            writer.join(5)

    def stop(self):
        """Its process group killed, unless it has ended (finish)."""
        if self.proc.returncode is None:
            procgroups.kill_and_reap(self.proc)


def _pump(argv, proc, on_output, deadline):
    fd = proc.stdout.fileno()
    decoder = codecs.getincrementaldecoder('utf-8')('replace')
    while True:
        left = deadline - time.time()
        if left <= 0:
            raise CommandError(argv, None, '', 'timed out')
        if not procgroups.select_readable(fd, min(left, 1.0)):
            continue
        chunk = procgroups.read_chunk(fd)
        text = decoder.decode(chunk, final=not chunk)
        if text:
            on_output(text)
        if not chunk:
            return


def write_file_argv(path):
    """Replaces path atomically with what comes on stdin."""
    return ['sh', '-c', 'cat > "$1.rfm-tmp" && mv -f "$1.rfm-tmp" "$1"',
            'sh', path]


class Remote(object):
    """Commands on the destination, over real ssh. Host keys are checked
    strictly: an unknown key stops the run (no silent trust)."""

    def __init__(self, commands, host, port=22, user='root', identity=None,
                 known_hosts=None, alias=None):
        """host: the address connected to; alias: the name as given, whose
        host key is checked (ssh HostKeyAlias) when it differs."""
        self.commands = commands
        self.host, self.port, self.user = host, port, user
        self.identity, self.known_hosts = identity, known_hosts
        self.alias = alias
        self.control = None  # a shared connection's socket (share())

    def host_key_alias(self):
        if not self.alias or self.alias == self.host:
            return []
        name = self.alias if self.port == 22 else '[%s]:%d' % (self.alias,
                                                               self.port)
        return ['-o', 'HostKeyAlias=' + name]

    def ssh_options(self, shared=True):
        opts = ['ssh', '-p', str(self.port), '-o', 'BatchMode=yes',
                '-o', 'StrictHostKeyChecking=yes', '-o', 'ConnectTimeout=10',
                '-o', 'ServerAliveInterval=15', '-o', 'ServerAliveCountMax=4',
                '-l', self.user]
        if self.identity:
            opts += ['-i', self.identity, '-o', 'IdentitiesOnly=yes']
        if self.known_hosts:
            opts += ['-o', 'UserKnownHostsFile=' + self.known_hosts]
        if self.control and shared:  # a gone master: ssh connects on its own
            opts += ['-o', 'ControlPath=' + self.control,
                     '-o', 'ControlMaster=no']
        return opts + self.host_key_alias()

    def share(self, control):
        """Open one connection (kept 10 min when idle) that the commands
        after it reuse through the socket `control`; False if ssh cannot."""
        self.control = None
        opened = self.commands.run(self.share_argv(control), timeout=60,
                                   ok_codes=None).returncode == 0
        self.control = control if opened else None
        return opened

    def share_argv(self, control):
        """The ssh that opens the shared connection (through none)."""
        return self.ssh_options(shared=False) + [
            '-o', 'ControlPath=' + control, '-o', 'ControlMaster=yes',
            '-o', 'ControlPersist=600', self.host, 'true']

    def unshare(self):
        if self.control:
            self.commands.run(self.exit_argv(), ok_codes=None)
            self.control = None

    def exit_argv(self):
        return self.ssh_options() + ['-O', 'exit', self.host]

    def argv(self, remote_argv):
        words = ['env', 'LC_ALL=C', 'LANG=C'] + [to_text(a)
                                                 for a in remote_argv]
        return self.ssh_options() + [self.host, '--', shell_words(words)]

    def run(self, remote_argv, timeout=120, input_bytes=None, ok_codes=(0,)):
        return self.commands.run(self.argv(remote_argv), timeout, input_bytes,
                                 ok_codes)

    def start(self, remote_argv):
        return self.commands.start(self.argv(remote_argv))

    def feed(self, remote_argv, chunks, timeout, ok_codes=(0,)):
        return self.commands.feed(self.argv(remote_argv), chunks, timeout,
                                  ok_codes)

    def sh(self, script, args=(), timeout=300, ok_codes=(0,)):
        """Run a POSIX sh script on the destination, given on stdin."""
        return self.run(['sh', '-s', '--'] + list(args), timeout,
                        script.encode('utf-8'), ok_codes)

    def write_file(self, path, data, timeout=60):
        """Replace a file atomically on the destination."""
        return self.run(write_file_argv(path), timeout,
                        data if isinstance(data, bytes) else
                        data.encode('utf-8'))

    def rsync_shell(self):
        return shell_words(self.ssh_options())

    def rsync_target(self, path):
        host = '[%s]' % self.host if ':' in self.host else self.host
        return '%s:%s' % (host, path)
