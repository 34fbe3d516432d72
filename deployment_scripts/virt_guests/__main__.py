"""`python -m virt_guests COMMAND`: what the virt-guests launcher runs."""
from __future__ import absolute_import, division, print_function

import sys

from virt_guests.cli import main

if __name__ == '__main__':
    sys.exit(main())
