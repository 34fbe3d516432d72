"""A call that must not block (issue 23: a FIFO or a device given as a file
blocks open() or read() forever). Python 2.7 and 3: the unit tests use it."""
from __future__ import absolute_import, division, print_function

import os
import threading


def finishes(function, *args):
    """function(*args), or the exception it raised; a failure if it is still
    blocked after 10 s (the thread stays behind as a daemon)."""
    result = []

    def call():
        try:
            result.append(function(*args))
        except Exception as error:  # handed to the test
            result.append(error)
    worker = threading.Thread(target=call)
    worker.daemon = True
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), '%s blocked' % function.__name__
    return result[0]


NOT_FILES = ['fifo', 'directory', '/dev/zero']


def not_a_file(kind, path):
    """The path of what is not a regular file: a FIFO or a directory made
    at path, or a device (kind is its path)."""
    if kind == 'fifo':
        os.mkfifo(path)
    elif kind == 'directory':
        os.mkdir(path)
    else:
        return kind
    return path
