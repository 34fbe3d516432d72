"""The unit tests of rf_common, the one source of what the guest package
and rf-migrate-master share (common/): run in place, under Python 2.7
(pytest 4.6) and Python 3, so: no f-strings, no pathlib, no
subprocess.run, no keyword-only arguments."""
from __future__ import absolute_import, division, print_function

from lab.paths import put_on_sys_path

put_on_sys_path()
