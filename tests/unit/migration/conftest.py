"""The pure unit tests of rf-migrate-master (params, plan, runner, state,
commands, ipv4) and the zipapp's interpreter choice: no root, no daemon.
They run under Python 2.7 (pytest 4.6) and Python 3, so: no f-strings, no
pathlib (str(tmp_path) and os.path), no subprocess.run, no keyword-only
arguments. The lab of tests/migration is not imported here."""
from __future__ import absolute_import, division, print_function

from lab.paths import MIGRATION, put_on_sys_path

put_on_sys_path(MIGRATION)
