"""The apply/retire lock on a hostile host (issue 23, class 2): nothing at
its path is followed or written through, a FIFO or a file others can write
is refused by name, and it lives where only root can create names.
(A lock of another user's, or held by one: tests/guests/test_hostile_lock_as_root.py.)"""
from __future__ import absolute_import, division, print_function

import os
import stat

import pytest

from virt_guests import runlock


def refusal(path):
    with pytest.raises(runlock.Busy) as raised:
        runlock.acquire(str(path))
    return str(raised.value)


def test_a_link_at_the_lock_path_is_refused_and_its_target_left(tmpdir):
    target, lock = tmpdir.join('passwd'), tmpdir.join('virt-guests.lock')
    target.write('root:x:0:0\n')
    lock.mksymlinkto(target)
    assert refusal(lock) == ('the lock file %s is a symbolic link to %s, not a regular '
                             'file: refused, nothing was changed; remove it' % (lock, target))
    assert target.read() == 'root:x:0:0\n'


@pytest.mark.parametrize('make,what', [(os.mkfifo, 'a FIFO (named pipe)'),
                                       (os.mkdir, 'a directory')])
def test_a_fifo_or_a_directory_at_the_lock_path_is_refused(tmpdir, make, what):
    lock = tmpdir.join('virt-guests.lock')
    make(str(lock))
    assert refusal(lock) == ('the lock file %s is %s, not a regular file: refused, '
                             'nothing was changed; remove it' % (lock, what))


def test_a_lock_file_others_can_write_is_refused(tmpdir):
    lock = tmpdir.join('virt-guests.lock')
    lock.write('')
    lock.chmod(0o666)
    assert refusal(lock).startswith('the lock file %s is owned by ' % lock)
    assert 'mode 0666: refused, nothing was changed; remove it' in refusal(lock)


def test_the_lock_file_is_made_private(tmpdir):
    lock = tmpdir.join('virt-guests.lock')
    lock.write('')
    lock.chmod(0o644)
    fd = runlock.acquire(str(lock))
    try:
        assert stat.S_IMODE(os.fstat(fd).st_mode) == 0o600
    finally:
        runlock._HELD.remove(fd)
        os.close(fd)


def test_the_default_lock_is_where_only_root_creates_names():
    folder = os.stat(os.path.dirname(runlock.DEFAULT_LOCK))
    assert folder.st_uid == 0 and not folder.st_mode & 0o022
