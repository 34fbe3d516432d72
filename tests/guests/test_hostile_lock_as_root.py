"""The apply/retire lock against another user (issue 23, class 2; needs
root): a lock file of another user's is refused, and a process of another
user that holds the flock is named as such, not taken for a run."""
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

from virt_guests import runlock

NOBODY = 65534
HOLD = ('import fcntl, sys, time; f = open(sys.argv[1]); '
        'fcntl.flock(f, fcntl.LOCK_EX); print("held"); sys.stdout.flush(); time.sleep(60)')


def refusal(path):
    with pytest.raises(runlock.Busy) as raised:
        runlock.acquire(str(path))
    return str(raised.value)


@pytest.fixture
def lock():
    """In a folder of its own that nobody can reach (pytest's is 0700)."""
    folder = tempfile.mkdtemp(prefix='rf-hostile-lock-')
    os.chmod(folder, 0o755)
    yield pathlib.Path(folder) / 'virt-guests.lock'
    shutil.rmtree(folder)


def test_a_lock_file_of_another_user_is_refused_naming_its_owner(lock):
    lock.write_text(u'')
    os.chown(str(lock), NOBODY, NOBODY)
    assert refusal(lock) == ('the lock file %s is owned by nobody, mode 0644: refused, '
                             "nothing was changed; remove it (it must be root's alone)"
                             % lock)


def test_a_holder_that_is_not_root_is_named_as_such(lock):
    """A 0644 lock file an earlier release left: another user could open it
    and hold the flock; that user is named, not taken for a run."""
    lock.write_text(u'')
    lock.chmod(0o644)
    holder = subprocess.Popen(['/usr/bin/python3', '-c', HOLD, str(lock)],
                              stdout=subprocess.PIPE, preexec_fn=lambda: os.setuid(NOBODY))
    try:
        assert holder.stdout.readline() == b'held\n'
        assert refusal(lock) == ('the lock %s is held by pid %d of user nobody, not by '
                                 'a virt-guests run (those run as root): nothing was '
                                 'changed; stop that process' % (lock, holder.pid))
    finally:
        holder.kill()
        holder.wait()
