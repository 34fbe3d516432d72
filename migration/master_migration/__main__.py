"""Entry point for `python3 -m master_migration` and the zipapp."""
import sys

from master_migration.cli import main

if __name__ == '__main__':
    sys.exit(main())
