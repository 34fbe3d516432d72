"""The pure unit tests of the guest package (spec, plan, render, host
checks, compat): no daemon, no root, no host command. They run under
Python 2.7 (pytest 4.6) and Python 3, so: no f-strings, no pathlib, no
subprocess.run, no keyword-only arguments."""
from __future__ import absolute_import, division, print_function

import sys

from nodes import SCRIPTS

if SCRIPTS not in sys.path:
    sys.path.insert(0, SCRIPTS)
