"""One apply or retire at a time on a node: an flock on a lock file.

The kernel drops an flock when its process ends, so a killed run leaves
no stale lock (the file and the pid in it stay, and mean nothing then).
The holder writes its pid into the file so that a second run can say who
holds it.

The file is in /run, where only root writes (not /var/lock: anyone can
create a name there), is opened without following a link, and must be a
regular file of the running user that only that user can write; it is
made 0600 so that no other user can open it to hold the flock. A holder
that is not root is named as such (from /proc/locks).
"""
from __future__ import absolute_import, division, print_function

import errno
import fcntl
import os
import pwd
import stat

from rf_common.text import to_text

from .safefile import makedirs
from .safefile import NotRegular, open_regular

DEFAULT_LOCK = '/run/virt-guests.lock'
_HELD = []  # the open lock file, kept open until the process ends


class Busy(Exception):
    """Another run holds the lock, or the lock file cannot be opened."""


def lock_path():
    return os.environ.get('RF_VIRT_GUESTS_LOCK') or DEFAULT_LOCK


def _holder(fd):
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = to_text(os.read(fd, 64)).strip()
    except OSError:
        text = ''
    return text if text.isdigit() else 'unknown'


def _flock_holder(fd):
    """(pid, uid) of the process holding an flock on fd's file, or None."""
    info = os.fstat(fd)
    inode = ':%d' % info.st_ino
    try:
        with open('/proc/locks') as locks:
            rows = [line.split() for line in locks]
    except (IOError, OSError):
        return None
    for row in rows:
        if len(row) > 5 and row[1] == 'FLOCK' and row[5].endswith(inode):
            try:
                return int(row[4]), os.stat('/proc/%s' % row[4]).st_uid
            except (OSError, ValueError):
                return None
    return None


def _user(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return 'uid %d' % uid


def _busy(fd, path):
    holder = _flock_holder(fd)
    if holder is not None and holder[1] != os.getuid():
        return Busy('the lock %s is held by pid %d of user %s, not by a virt-guests '
                    'run (those run as %s): nothing was changed; stop that process'
                    % (to_text(path), holder[0], _user(holder[1]), _user(os.getuid())))
    return Busy('another virt-guests apply or retire is running (pid %s holds %s); '
                'nothing was changed' % (_holder(fd), to_text(path)))


def _open(path):
    """The lock file's descriptor; Busy when it is not one to trust."""
    try:
        makedirs(os.path.dirname(path), 0o755)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as error:
            if error.errno != errno.EEXIST:
                raise
            fd = open_regular(path, os.O_RDWR)
    except NotRegular as error:
        raise Busy('the lock file %s is %s, not a regular file: refused, nothing was '
                   'changed; remove it' % (to_text(path), error.what))
    except (IOError, OSError) as error:
        raise Busy('cannot open the lock file %s: %s' % (to_text(path),
                                                         to_text(error.strerror)))
    info = os.fstat(fd)
    if info.st_uid != os.getuid() or info.st_mode & 0o022:
        os.close(fd)
        raise Busy('the lock file %s is owned by %s, mode %04o: refused, nothing was '
                   'changed; remove it (it must be %s\'s alone)'
                   % (to_text(path), _user(info.st_uid), stat.S_IMODE(info.st_mode),
                      _user(os.getuid())))
    os.fchmod(fd, 0o600)  # no other user may open it to hold the flock
    return fd


def acquire(path=None):
    """Take the lock for the rest of the process; Busy if another holds it."""
    path = path or lock_path()
    fd = _open(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except (IOError, OSError) as error:
        busy = _busy(fd, path)
        os.close(fd)
        if error.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            raise Busy('cannot lock %s: %s' % (to_text(path), to_text(error.strerror)))
        raise busy
    os.ftruncate(fd, 0)
    os.write(fd, ('%d\n' % os.getpid()).encode('ascii'))
    _HELD.append(fd)
    return fd
