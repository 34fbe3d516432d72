"""Entry point for `python -m master_migration` (2.7 or 3.4+) and the zipapp."""
from __future__ import absolute_import, division, print_function

import sys

from master_migration.cli import main

if __name__ == '__main__':
    sys.exit(main())
