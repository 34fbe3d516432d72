"""The run lock's own checks (issue 23): a lock file of another user, or
one that others can write, is refused by name; a new one and its folder
are private even under umask 0; and when another process holds it, the
refusal names that process, read from /proc/locks (here a recorded text
in that format) when the holder is of another user.

No root: the lock is held by a second open of the same file in this
process (flock locks belong to the open file, not to the process)."""
from __future__ import absolute_import, division, print_function

import contextlib
import fcntl
import io
import os
import pwd
import stat

import pytest

from virt_guests import runlock


def unused_uid():
    uid = 4000000
    while True:
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid
        uid += 1


def user(uid):
    return pwd.getpwuid(uid).pw_name


def refusal(path):
    with pytest.raises(runlock.Busy) as raised:
        runlock.acquire(str(path))
    return str(raised.value)


def taken(path):
    """acquire(path) succeeds: the mode of the lock file it holds."""
    fd = runlock.acquire(str(path))
    try:
        return stat.S_IMODE(os.fstat(fd).st_mode)
    finally:
        runlock._HELD.remove(fd)
        os.close(fd)


@contextlib.contextmanager
def held(path, text):
    """The lock held by another open file whose holder wrote `text`."""
    fd = os.open(str(path), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.write(fd, text.encode('ascii'))
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield os.fstat(fd).st_ino
    finally:
        os.close(fd)


def test_a_lock_file_of_another_user_is_refused_naming_both(tmpdir, monkeypatch):
    """Mode 0600, so only its owner matters: not the running user's."""
    lock = tmpdir.join('virt-guests.lock')
    lock.write('')
    lock.chmod(0o600)
    me, runner = os.getuid(), unused_uid()
    monkeypatch.setattr(os, 'getuid', lambda: runner)
    assert refusal(lock) == (
        "the lock file %s is owned by %s, mode 0600: refused, nothing was changed; "
        "remove it (it must be uid %d's alone)" % (lock, user(me), runner))


@pytest.mark.parametrize('mode', [0o620, 0o602, 0o622])
def test_a_lock_file_group_or_others_can_write_is_refused(tmpdir, mode):
    lock = tmpdir.join('virt-guests.lock')
    lock.write('')
    lock.chmod(mode)
    assert refusal(lock) == (
        "the lock file %s is owned by %s, mode %04o: refused, nothing was changed; "
        "remove it (it must be %s's alone)" % (lock, user(os.getuid()), mode,
                                               user(os.getuid())))
    assert stat.S_IMODE(lock.stat().mode) == mode  # left as it was


@pytest.mark.parametrize('mode', [0o755, 0o644, 0o601])
def test_a_lock_file_only_its_owner_can_write_is_taken_and_made_private(tmpdir, mode):
    lock = tmpdir.join('virt-guests.lock')
    lock.write('')
    lock.chmod(mode)
    assert taken(lock) == 0o600


def test_a_new_lock_and_its_folder_are_private_under_umask_0(tmpdir):
    lock = tmpdir.join('run', 'virt-guests.lock')
    old = os.umask(0)
    try:
        assert taken(lock) == 0o600
    finally:
        os.umask(old)
    assert stat.S_IMODE(tmpdir.join('run').stat().mode) == 0o755
    assert lock.read() == '%d\n' % os.getpid()


def test_a_holder_that_wrote_no_pid_is_unknown(tmpdir):
    lock = tmpdir.join('virt-guests.lock')
    with held(lock, 'not a pid\n'):
        assert refusal(lock) == ('another virt-guests apply or retire is running '
                                 '(pid unknown holds %s); nothing was changed' % lock)


def test_a_holder_of_the_same_user_is_named_by_the_pid_it_wrote(tmpdir):
    """/proc/locks (the real one) names this process, of this user."""
    lock = tmpdir.join('virt-guests.lock')
    with held(lock, '4321\n'):
        assert refusal(lock) == ('another virt-guests apply or retire is running '
                                 '(pid 4321 holds %s); nothing was changed' % lock)


def proc_locks(monkeypatch, text, owners):
    """/proc/locks reads as `text`; /proc/PID is owned by owners[PID]
    (OSError for another pid: that process has ended)."""
    real_open, real_stat = open, os.stat

    def fake_open(name, *args):
        if name == '/proc/locks':
            if text is None:
                raise IOError(2, 'No such file or directory')
            return io.StringIO(text)
        return real_open(name, *args)

    class Owner(object):
        def __init__(self, uid):
            self.st_uid = uid

    def fake_stat(name, *args, **kwargs):
        if name.startswith('/proc/'):
            pid = name[len('/proc/'):]
            if pid in owners:
                return Owner(owners[pid])
            raise OSError(2, 'No such file or directory', name)
        return real_stat(name, *args, **kwargs)
    monkeypatch.setattr(runlock, 'open', fake_open, raising=False)
    monkeypatch.setattr(os, 'stat', fake_stat)


def rows(inode, pid):
    """A /proc/locks text: the holder's FLOCK row amid rows that are not it
    (a POSIX lock on the same file, a flock on an inode ending alike, a
    waiter, a row cut short)."""
    return (u'1: POSIX  ADVISORY  WRITE 77 fe:00:%d 0 EOF\n'
            u'2: FLOCK  ADVISORY  WRITE 78 fe:00:1%d 0 EOF\n'
            u'3: FLOCK  ADVISORY  WRITE 80\n'
            u'4: FLOCK  ADVISORY  WRITE %s fe:00:%d 0 EOF\n'
            u'4: -> FLOCK  ADVISORY  WRITE 79 fe:00:%d 0 EOF\n'
            % (inode, inode, pid, inode, inode))


def test_a_holder_of_another_user_is_named_from_proc_locks(tmpdir, monkeypatch):
    """Not a virt-guests run (that would be of the running user): its pid
    and user, from /proc/locks, not the pid in the file."""
    lock = tmpdir.join('virt-guests.lock')
    other = unused_uid()
    with held(lock, '4321\n') as inode:
        proc_locks(monkeypatch, rows(inode, 5150), {'5150': other, '77': os.getuid(),
                                                    '78': os.getuid(), '79': other})
        assert refusal(lock) == (
            'the lock %s is held by pid 5150 of user uid %d, not by a virt-guests run '
            '(those run as %s): nothing was changed; stop that process'
            % (lock, other, user(os.getuid())))


@pytest.mark.parametrize('case', ['no /proc/locks', 'no row for this file',
                                  'the holder has ended', 'a pid not a number'])
def test_without_a_holder_in_proc_locks_the_pid_in_the_file_is_named(
        tmpdir, monkeypatch, case):
    """The pid the holder wrote, as when the holder is of this user."""
    lock = tmpdir.join('virt-guests.lock')
    with held(lock, '4321\n') as inode:
        text, owners = {
            'no /proc/locks': (None, {}),
            'no row for this file': (rows(inode + 1, 5150), {'5150': unused_uid()}),
            'the holder has ended': (rows(inode, 5150), {}),
            'a pid not a number': (rows(inode, 'x'), {'x': unused_uid()}),
        }[case]
        proc_locks(monkeypatch, text, owners)
        assert refusal(lock) == ('another virt-guests apply or retire is running '
                                 '(pid 4321 holds %s); nothing was changed' % lock)
