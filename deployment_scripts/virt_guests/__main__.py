"""`python -m virt_guests COMMAND`: what the virt-guests launcher runs."""
from __future__ import absolute_import, division, print_function

import logging
import os
import sys

from virt_guests.cli import main

if __name__ == '__main__':
    status = main()
    # Everything is written now: skip the interpreter's teardown of its
    # modules (~15 ms of a no-op re-run under python3).
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status or 0)  # as sys.exit(None) would
