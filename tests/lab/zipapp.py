"""rf-migrate-master as operators get it: one file, built from migration/
by the same script the RPM build runs (Python 2.7 and 3)."""
import os
import subprocess
import sys

from lab.paths import MIGRATION


def build(folder):
    """Build into folder; returns the path of the script."""
    out = os.path.join(str(folder), 'rf-migrate-master')
    with open(os.devnull, 'wb') as quiet:
        subprocess.check_call([sys.executable, os.path.join(MIGRATION, 'build_zipapp.py'),
                               out], stdout=quiet)
    return out
