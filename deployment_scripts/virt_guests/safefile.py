"""Files taken as they are: never through a symbolic link where the plugin
changes something, only regular files where a file is meant, and never a
blocking open (a FIFO at a disk path or as an input would hang the run).

A guest's disk folder may be writable by another user (/var/lib/nova is
nova's on a compute node): whatever sits at a disk path is looked at with
lstat and opened with O_NOFOLLOW, so a planted link to a root file is
refused, not chmodded or handed to qemu.
"""
from __future__ import absolute_import, division, print_function

import errno
import os
import stat

from rf_common.text import to_text

O_NOFOLLOW = getattr(os, 'O_NOFOLLOW', 0)
O_NONBLOCK = getattr(os, 'O_NONBLOCK', 0)
REGULAR = 'a regular file'
_KINDS = ((stat.S_ISLNK, 'a symbolic link'), (stat.S_ISDIR, 'a directory'),
          (stat.S_ISFIFO, 'a FIFO (named pipe)'), (stat.S_ISCHR, 'a character device'),
          (stat.S_ISBLK, 'a block device'), (stat.S_ISSOCK, 'a socket'))


def makedirs(path, mode=0o777):
    """os.makedirs that accepts an existing directory (makedirs(exist_ok)
    is Python 3.2+); parallel guests may create it at the same time."""
    try:
        os.makedirs(path, mode)
    except OSError as error:
        if error.errno != errno.EEXIST or not os.path.isdir(path):
            raise


class NotRegular(Exception):
    """Not a regular file where one is meant (or it cannot be looked at)."""

    def __init__(self, path, what):
        Exception.__init__(self, '%s is %s, not a regular file' % (to_text(path), what))
        self.path, self.what = path, what


class TooLarge(Exception):
    """An input longer than the plugin reads."""

    def __init__(self, path, limit):
        Exception.__init__(self, '%s is larger than %d bytes' % (to_text(path), limit))
        self.path, self.limit = path, limit


def kind(mode):
    """'a regular file', 'a symbolic link', 'a directory', ... for st_mode."""
    for test, text in _KINDS:
        if test(mode):
            return text
    return REGULAR if stat.S_ISREG(mode) else 'an unknown kind of file'


def what_is(path):
    """None where nothing is; REGULAR; else what is there, a link with its
    target (never followed)."""
    try:
        info = os.lstat(path)
    except OSError as error:
        if error.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        return 'unreadable (%s)' % to_text(error.strerror)
    what = kind(info.st_mode)
    if stat.S_ISLNK(info.st_mode):
        try:
            what += ' to %s' % to_text(os.readlink(path))
        except OSError:
            pass
    return what


def open_regular(path, flags=os.O_RDONLY, follow=False):
    """A descriptor of the regular file at path, opened without blocking and,
    unless follow, without following a link; NotRegular otherwise."""
    extra = O_NONBLOCK | (0 if follow else O_NOFOLLOW)
    try:
        fd = os.open(path, flags | extra)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.EISDIR, errno.ENXIO):
            raise NotRegular(path, what_is(path) or 'gone')
        raise
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise NotRegular(path, kind(info.st_mode))
    return fd


def read_input(path, limit):
    """The bytes of the regular file at path (a link is followed: inputs
    are only read), at most limit of them; NotRegular, TooLarge, or the
    OSError of the open."""
    fd = open_regular(path, follow=True)
    try:
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > limit:
        raise TooLarge(path, limit)
    return b''.join(chunks)
