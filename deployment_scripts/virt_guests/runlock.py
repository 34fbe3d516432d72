"""One apply or retire at a time on a node: an flock on a lock file.

The kernel drops an flock when its process ends, so a killed run leaves
no stale lock (the file and the pid in it stay, and mean nothing then).
The holder writes its pid into the file so that a second run can say who
holds it.
"""
from __future__ import absolute_import, division, print_function

import errno
import fcntl
import os

from .compat import makedirs, to_text

DEFAULT_LOCK = '/var/lock/virt-guests.lock'
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


def acquire(path=None):
    """Take the lock for the rest of the process; Busy if another holds it."""
    path = path or lock_path()
    try:
        makedirs(os.path.dirname(path), 0o755)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except (IOError, OSError) as error:
        raise Busy('cannot open the lock file %s: %s' % (to_text(path),
                                                         to_text(error.strerror)))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except (IOError, OSError) as error:
        holder = _holder(fd)
        os.close(fd)
        if error.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            raise Busy('cannot lock %s: %s' % (to_text(path), to_text(error.strerror)))
        raise Busy('another virt-guests apply or retire is running (pid %s holds %s); '
                   'nothing was changed' % (holder, to_text(path)))
    os.ftruncate(fd, 0)
    os.write(fd, ('%d\n' % os.getpid()).encode('ascii'))
    _HELD.append(fd)
    return fd
