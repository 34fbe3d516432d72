# -*- coding: utf-8 -*-
"""commands: rf-migrate-master's commands get text out, keep their argv
in errors, and are killed with their whole process group on a timeout and
on any exception in the caller."""
from __future__ import absolute_import, division, print_function

import os
import signal
import time

import pytest

from lab.processes import group_gone
from master_migration.commands import CommandError, Commands, Remote, quote
from recorder import Recorder
from rf_common.text import text_type, to_text


def grandchild_script(tmp_path):
    """sh writes its pid (= its process group) and waits on a grandchild
    that holds stdout too."""
    pid_file = os.path.join(str(tmp_path), 'pgid')
    return pid_file, ['sh', '-c', 'echo $$ > %s; sleep 300 & sleep 300'
                      % pid_file]


def read_pgid(pid_file):
    with open(pid_file) as handle:
        return int(handle.read())


def test_run_timeout_kills_the_process_group_with_a_grandchild(tmp_path):
    pid_file, argv = grandchild_script(tmp_path)
    started = time.time()
    with pytest.raises(CommandError) as err:
        Commands().run(argv, timeout=0.2)
    assert time.time() - started < 10
    assert str(err.value).startswith('command failed (timed out after 0.2 s): '
                                     'sh -c ')
    assert group_gone(read_pgid(pid_file))


def test_stream_timeout_kills_the_process_group_with_a_grandchild(tmp_path):
    pid_file, argv = grandchild_script(tmp_path)
    seen = []
    with pytest.raises(CommandError) as err:
        Commands().stream(argv, seen.append, timeout=0.2)
    assert str(err.value).startswith('command failed (timed out): sh -c ')
    assert group_gone(read_pgid(pid_file))


class Alarm(Exception):
    pass


def _raise_alarm(signum, frame):
    raise Alarm('alarm')


@pytest.mark.parametrize('how', ['run', 'stream'])
def test_an_exception_in_the_caller_leaves_no_child(tmp_path, how):
    """What the runner's SIGALRM (StepTimeout) or SIGTERM (Interrupted) do
    while a command runs."""
    pid_file, argv = grandchild_script(tmp_path)
    previous = signal.signal(signal.SIGALRM, _raise_alarm)
    started = time.time()
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        with pytest.raises(Alarm):
            if how == 'run':
                Commands().run(argv, timeout=120)
            else:
                Commands().stream(argv, lambda text: None, timeout=120)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.time() - started < 10
    assert group_gone(read_pgid(pid_file))


def test_run_gives_text_and_keeps_argv_in_errors():
    result = Commands().run(['sh', '-c', 'printf "%s\\n" "$1"; echo err >&2',
                             'sh', u'm\u00e4ster'])
    assert result.stdout == u'm\u00e4ster\n' and result.stderr == u'err\n'
    assert isinstance(result.stdout, text_type)
    with pytest.raises(CommandError) as err:
        Commands().run(['sh', '-c', 'echo "bad $1" >&2; exit 7', 'sh',
                        u'n\u00f6'])
    text = to_text(err.value)
    assert text == (u"command failed (exit 7): sh -c 'echo \"bad $1\" >&2; "
                    u"exit 7' sh 'n\u00f6'\n  bad n\u00f6")
    assert err.value.argv[-1] == u'n\u00f6'


def test_run_passes_input_and_reads_invalid_utf8_as_replacement():
    result = Commands().run(['cat'], input_bytes=b'caf\xc3\xa9 \xff')
    assert result.stdout == u'caf\u00e9 \ufffd'
    assert Commands().run(['cat']).stdout == u''  # stdin is /dev/null


def test_stream_hands_over_text_split_anywhere():
    chunks = []
    result = Commands().stream(['sh', '-c', 'printf "a\\303"; sleep 0.2; '
                                'printf "\\251b"; echo oops >&2'],
                               chunks.append, timeout=30)
    assert u''.join(chunks) == u'a\u00e9b'
    assert result.stderr == u'oops\n' and result.returncode == 0


def test_missing_program_is_an_environment_error():
    with pytest.raises(EnvironmentError):
        Commands().run(['/nonexistent/rfm-program'])


def test_remote_quotes_non_ascii_words_and_the_recorder_reads_them():
    rec = Recorder()
    rec.answer(['mkdir', '-p'], stdout='made')
    remote = Remote(rec, 'virt-1')
    assert remote.run(['mkdir', '-p', u'/srv/\u00e4 b']).stdout == 'made'
    assert rec.calls[0][-1] == u"env LC_ALL=C LANG=C mkdir -p '/srv/\u00e4 b'"


def test_quote():
    assert quote(u'a b') == u"'a b'" and quote('ab') == 'ab'
